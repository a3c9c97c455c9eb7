/** retrieval.move: the retrieve step of a study (C-MOVE, C-GET...: lib/retrievals/run-move.ts). */
import { JOBS } from '../../lib/jobs/catalogue';
import { runMove } from '../../lib/retrievals/run-move';
import { isFinalAttempt, waitOrDone, type Processor } from './shared';

export const retrievalMove: Processor = async (job, token) => {
  const { retrievalId, generation } = JOBS['retrieval.move'].schema.parse(job.data);
  await waitOrDone(job, token, await runMove(retrievalId, generation, { isFinalAttempt: isFinalAttempt(job), attemptsMade: job.attemptsMade }));
};
