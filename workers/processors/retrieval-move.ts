/** retrieval.move: the retrieve step of a study (C-MOVE, C-GET...: lib/retrievals/run-move.ts). */
import { JOBS } from '../../lib/jobs/catalogue';
import { noteRetrievalSettled } from '../../lib/notifications/query-settled';
import { runMove } from '../../lib/retrievals/run-move';
import { isFinalAttempt, waitOrDone, type Processor } from './shared';

export const retrievalMove: Processor = async (job, token) => {
  const { retrievalId, generation } = JOBS['retrieval.move'].schema.parse(job.data);
  const outcome = await runMove(retrievalId, generation, { isFinalAttempt: isFinalAttempt(job), attemptsMade: job.attemptsMade, since: new Date(job.timestamp) });
  // A study that failed here has settled: its query's coordinator may be owed a notice.
  if (outcome.status === 'done') await noteRetrievalSettled(retrievalId);
  await waitOrDone(job, token, outcome);
};
