/** export.send: one export to its destination (lib/exports/run-export.ts); waits for its schedule window or a free destination lease. */
import { db } from '../../lib/db';
import { publicMessage } from '../../lib/errors';
import { JOBS } from '../../lib/jobs/catalogue';
import { finishExport, runExport, TERMINAL } from '../../lib/exports/run-export';
import { isFinalAttempt, waitOrDone, type Processor } from './shared';

export const exportSend: Processor = async (job, token) => {
  const { exportId, generation } = JOBS['export.send'].schema.parse(job.data);
  try {
    await waitOrDone(job, token, await runExport(exportId, generation, { isFinalAttempt: isFinalAttempt(job) }));
  } catch (e) {
    // The last attempt failed for a reason runExport did not turn into per-instance outcomes
    // (database unreachable, a bug): the export must not stay RUNNING for ever.
    if ((e as Error)?.name !== 'DelayedError' && isFinalAttempt(job)) {
      const reason = `The export job failed: ${publicMessage(e, 'unexpected error')}`;
      const ex = await db.export.findUnique({ where: { id: exportId }, select: { attempts: true, state: true } }).catch(() => null);
      if (ex && ex.attempts === generation && !TERMINAL.includes(ex.state)) {
        await db.exportInstance.updateMany({ where: { exportId, state: 'PENDING' }, data: { state: 'FAILED', reason } });
        await finishExport(exportId, generation, reason);
      }
    }
    throw e;
  }
};
