/** export.send: one export to its destination (lib/exports/run-export.ts); waits for its schedule window or a free destination lease. */
import { JOBS } from '../../lib/jobs/catalogue';
import { runExport } from '../../lib/exports/run-export';
import { isFinalAttempt, waitOrDone, type Processor } from './shared';

export const exportSend: Processor = async (job, token) => {
  const { exportId, generation } = JOBS['export.send'].schema.parse(job.data);
  await waitOrDone(job, token, await runExport(exportId, generation, { isFinalAttempt: isFinalAttempt(job) }));
};
