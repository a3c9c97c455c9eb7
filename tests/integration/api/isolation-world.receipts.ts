/**
 * Receipts aimed at pool B: a finished export of pool B with its signed receipt. Pool A's members
 * may not download it, through B's id or through A's id with B's export id.
 */
import { db } from '@/lib/db';
import { issueExportReceipt } from '@/lib/receipts/export';
import { suffix } from '../../helpers/fixtures';
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => {
  const s = suffix();
  const dest = await db.destination.create({ data: { name: `RECEIPT-DEST-B-${s}`, type: 'DICOMWEB', webStowUrl: `http://127.0.0.1:9/receipt-b-${s}/studies` } });
  const exporter = await db.exporter.create({ data: { poolId: w.poolB.id, name: `RECEIPT-EXPORTER-B-${s}`, destinationId: dest.id } });
  const exp = await db.export.create({
    data: { poolId: w.poolB.id, exporterId: exporter.id, scope: { kind: 'pool' }, state: 'COMPLETED', total: 1, sent: 1, attempts: 1, finishedAt: new Date() },
  });
  await db.exportInstance.create({
    data: { exportId: exp.id, studyInstanceUid: '2.25.1', seriesInstanceUid: '2.25.2', sopInstanceUid: '2.25.3', sopClassUid: '1.2.840.10008.5.1.4.1.1.2', state: 'SENT', sha256: 'f'.repeat(64) },
  });
  const receipt = await issueExportReceipt(exp.id);
  return {
    params: { exportId: exp.id },
    subIds: { exportId: async (poolId) => (await db.export.count({ where: { id: exp.id, poolId } })) > 0 },
    // The destination's name is not a marker: destinations are installation-wide (every owner's
    // exporter form lists them), unlike pool B's exporter and export.
    markers: [exp.id, `RECEIPT-EXPORTER-B-${s}`, receipt.document.signature],
    cleanup: async () => {
      await db.receipt.deleteMany({ where: { exportId: exp.id } });
      await db.export.deleteMany({ where: { id: exp.id } });
      await db.exporter.deleteMany({ where: { id: exporter.id } });
      await db.destination.deleteMany({ where: { id: dest.id } });
    },
  };
};

export default extend;
