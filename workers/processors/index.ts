/**
 * The registry: job name -> processor. Each processor parses its payload, calls lib/, and turns
 * a "wait" outcome (schedule window, connector at its association cap) into a delayed job.
 */
import { DelayedError, type Job } from 'bullmq';
import { JOBS, type JobName } from '../../lib/jobs/catalogue';
import { runFind, type StepOutcome } from '../../lib/queries/run-find';
import { runAnonymize } from '../../lib/retrievals/run-anonymize';
import { runRetrieve } from '../../lib/retrievals/run-retrieve';
import { reconcileStaging } from '../../lib/retrievals/reconcile-staging';
import { purgeAbandonedStaging } from '../../lib/retrievals/staging';

function isFinalAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

async function waitOrDone(job: Job, token: string | undefined, outcome: StepOutcome) {
  if (outcome.status === 'wait') {
    await job.moveToDelayed(outcome.until, token);
    throw new DelayedError();
  }
}

type Processor = (job: Job, token?: string) => Promise<unknown>;

export const processors: Record<JobName, Processor> = {
  'query.find': async (job, token) => {
    const { queryId } = JOBS['query.find'].schema.parse(job.data);
    await waitOrDone(job, token, await runFind(queryId, job.id ?? `find-${queryId}`, { isFinalAttempt: isFinalAttempt(job) }));
  },
  'retrieval.move': async (job, token) => {
    const { retrievalId, generation } = JOBS['retrieval.move'].schema.parse(job.data);
    await waitOrDone(job, token, await runRetrieve(retrievalId, generation, { isFinalAttempt: isFinalAttempt(job), attemptsMade: job.attemptsMade }));
  },
  'retrieval.anonymize': async (job) => {
    const { retrievalId, generation } = JOBS['retrieval.anonymize'].schema.parse(job.data);
    await runAnonymize(retrievalId, generation);
  },
  'staging.purge': async (job) => {
    JOBS['staging.purge'].schema.parse(job.data);
    return purgeAbandonedStaging();
  },
  'staging.reconcile': async (job) => {
    JOBS['staging.reconcile'].schema.parse(job.data);
    return reconcileStaging();
  },
};
