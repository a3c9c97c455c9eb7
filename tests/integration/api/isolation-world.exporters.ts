/**
 * Exporters and exports (issue 12): pool B's exporter and export must stay invisible and
 * unchangeable to pool A's members (no retry, no cancel, no export of B's studies through B's
 * exporter from pool A); destinations are admin resources (pool A's members get 403 on them).
 */
import { db } from '@/lib/db';
import { suffix } from '../../helpers/fixtures';
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => {
  const s = suffix();
  const destination = await db.destination.create({ data: { name: `iso dest ${s}`, type: 'DICOMWEB', webStowUrl: 'http://127.0.0.1:1/dicom-web/studies' } });
  const exporter = await db.exporter.create({ data: { poolId: w.poolB.id, name: `B-EXPORTER-${s}`, destinationId: destination.id, schedule: 'hour=1-2 dayOfWeek=*' } });
  // One export of pool B (what its Exports page lists), with a failed instance and its reason.
  const ex = await db.export.create({
    data: { poolId: w.poolB.id, exporterId: exporter.id, scope: { kind: 'selection', studyIds: [w.ids.studyB] }, state: 'FAILED', total: 1, failed: 1, lastError: `B-EXPORT-ERROR-${s}` },
  });
  await db.exportInstance.create({
    data: { exportId: ex.id, instanceId: w.ids.instanceB, studyInstanceUid: w.ids.studyUidB, seriesInstanceUid: `2.25.77${Date.now()}`, sopInstanceUid: `2.25.78${Date.now()}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', state: 'FAILED', reason: `B-REASON-${s}` },
  });
  const exportBody = { exporterId: exporter.id, studyIds: [w.ids.studyB] };
  const destBody = { name: `hijacked dest ${s}`, type: 'DICOMWEB', webStowUrl: 'http://127.0.0.1:1/x/studies' };
  const expBody = { name: `hijacked ${s}`, destinationId: destination.id };
  return {
    params: { exporterId: exporter.id, exportId: ex.id },
    resourcesB: { destinations: destination.id },
    subIds: {
      exporterId: async (poolId) => (await db.exporter.count({ where: { id: exporter.id, poolId } })) > 0,
      exportId: async (poolId) => (await db.export.count({ where: { id: ex.id, poolId } })) > 0,
    },
    bodies: { createDestination: destBody, updateDestination: destBody, createExporter: expBody, updateExporter: expBody, createExport: exportBody },
    crossInputs: {
      createExporter: { exempt: 'destinationId names a destination an administrator registered for every pool, not a pool resource; owners pick any of them' },
      // Pool B's exporter and study, named in a pool-A export: 404 (a member who may export) or 403.
      createExport: { body: exportBody },
      updateExporter: { exempt: 'destinationId names a destination an administrator registered for every pool; the exporterId path parameter is checked by the cross test of the subIds' },
    },
    markers: [exporter.id, `B-EXPORTER-${s}`, ex.id, `B-EXPORT-ERROR-${s}`, `B-REASON-${s}`],
    check: async () => {
      const x = await db.exporter.findUniqueOrThrow({ where: { id: exporter.id } });
      if (x.name !== `B-EXPORTER-${s}` || x.poolId !== w.poolB.id) throw new Error('pool B’s exporter was changed by a pool A member');
      const d = await db.destination.findUniqueOrThrow({ where: { id: destination.id } });
      if (d.name !== `iso dest ${s}`) throw new Error('a destination was changed by a pool member');
      const e = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
      if (e.state !== 'FAILED' || e.cancelRequested || e.attempts !== 0) throw new Error('pool B’s export was retried or cancelled by a pool A member');
      if ((await db.export.count({ where: { poolId: w.poolA.id } })) > 0) throw new Error('an export of pool B’s studies was created in pool A');
    },
    cleanup: async () => {
      await db.export.deleteMany({ where: { id: ex.id } });
      await db.exporter.deleteMany({ where: { id: exporter.id } });
      await db.destination.deleteMany({ where: { id: destination.id } });
    },
  };
};

export default extend;
