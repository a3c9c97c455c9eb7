/** query.find: one find job of a query (lib/queries/run-find.ts), through the connector's source. */
import { JOBS } from '../../lib/jobs/catalogue';
import { runFind } from '../../lib/queries/run-find';
import { isFinalAttempt, waitOrDone, type Processor } from './shared';

export const queryFind: Processor = async (job, token) => {
  const { queryId } = JOBS['query.find'].schema.parse(job.data);
  await waitOrDone(job, token, await runFind(queryId, job.id ?? `find-${queryId}`, { isFinalAttempt: isFinalAttempt(job) }));
};
