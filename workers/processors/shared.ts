/** What every processor shares: the final-attempt test and the "wait" outcome as a delayed job. */
import { DelayedError, type Job } from 'bullmq';
import type { StepOutcome } from '../../lib/queries/run-find';

export type Processor = (job: Job, token?: string) => Promise<unknown>;

export function isFinalAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** A "wait" outcome (schedule window, connector at its association cap) becomes a delayed job. */
export async function waitOrDone(job: Job, token: string | undefined, outcome: StepOutcome) {
  if (outcome.status === 'wait') {
    await job.moveToDelayed(outcome.until, token);
    throw new DelayedError();
  }
}
