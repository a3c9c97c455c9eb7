/**
 * Exporters (issue 12): pool B's exporter must stay invisible and unchangeable to pool A's
 * members; destinations are admin resources (pool A's members get 403 on them).
 */
import { db } from '@/lib/db';
import { suffix } from '../../helpers/fixtures';
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => {
  const s = suffix();
  const destination = await db.destination.create({ data: { name: `iso dest ${s}`, type: 'DICOMWEB', webStowUrl: 'http://127.0.0.1:1/dicom-web/studies' } });
  const exporter = await db.exporter.create({ data: { poolId: w.poolB.id, name: `B-EXPORTER-${s}`, destinationId: destination.id, schedule: 'hour=1-2 dayOfWeek=*' } });
  const destBody = { name: `hijacked dest ${s}`, type: 'DICOMWEB', webStowUrl: 'http://127.0.0.1:1/x/studies' };
  const expBody = { name: `hijacked ${s}`, destinationId: destination.id };
  return {
    params: { exporterId: exporter.id },
    resourcesB: { destinations: destination.id },
    subIds: { exporterId: async (poolId) => (await db.exporter.count({ where: { id: exporter.id, poolId } })) > 0 },
    bodies: { createDestination: destBody, updateDestination: destBody, createExporter: expBody, updateExporter: expBody },
    crossInputs: {
      createExporter: { exempt: 'destinationId names a destination an administrator registered for every pool, not a pool resource; owners pick any of them' },
      updateExporter: { exempt: 'destinationId names a destination an administrator registered for every pool; the exporterId path parameter is checked by the cross test of the subIds' },
    },
    markers: [exporter.id, `B-EXPORTER-${s}`],
    check: async () => {
      const x = await db.exporter.findUniqueOrThrow({ where: { id: exporter.id } });
      if (x.name !== `B-EXPORTER-${s}` || x.poolId !== w.poolB.id) throw new Error('pool B’s exporter was changed by a pool A member');
      const d = await db.destination.findUniqueOrThrow({ where: { id: destination.id } });
      if (d.name !== `iso dest ${s}`) throw new Error('a destination was changed by a pool member');
    },
    cleanup: async () => {
      await db.exporter.deleteMany({ where: { id: exporter.id } });
      await db.destination.deleteMany({ where: { id: destination.id } });
    },
  };
};

export default extend;
