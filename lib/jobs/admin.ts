/**
 * Operator actions on BullMQ jobs for /admin/queues: list the latest failed jobs, retry one,
 * remove one. Job payloads hold ids only (lib/jobs/catalogue.ts); failure reasons are error
 * messages, which by convention carry no PHI.
 *
 * Retrying a raw job is an operator tool: the processors check the retrieval's generation and
 * state, so retrying a superseded job is harmless. A coordinator's "Retry" on a study
 * (POST /retrievals/{id}/retry) remains the normal way to try a failed study again.
 */
import { AppError } from '../errors';
import type { QueueName } from './catalogue';
import { queue } from './queues';

export interface FailedJobSummary {
  id: string;
  name: string;
  attemptsMade: number;
  maxAttempts: number;
  failedReason: string;
  /** When the job was created (ms since epoch). */
  timestamp: number;
  /** When it last failed (ms since epoch), if known. */
  finishedOn: number | null;
}

export async function listFailedJobs(name: QueueName, limit = 20): Promise<FailedJobSummary[]> {
  const jobs = await queue(name).getFailed(0, Math.max(0, limit - 1));
  return jobs
    .filter((j) => j && j.id)
    .map((j) => ({
      id: String(j.id),
      name: j.name,
      attemptsMade: j.attemptsMade,
      maxAttempts: j.opts?.attempts ?? 1,
      failedReason: (j.failedReason ?? '').slice(0, 1000),
      timestamp: j.timestamp,
      finishedOn: j.finishedOn ?? null,
    }));
}

async function findJob(name: QueueName, jobId: string) {
  const job = await queue(name).getJob(jobId);
  if (!job) throw new AppError('NOT_FOUND', 'Job not found (it may have been retried, removed or cleaned up already)');
  return job;
}

/** Moves a failed job back to waiting with its attempts reset. */
export async function retryFailedJob(name: QueueName, jobId: string): Promise<{ id: string; state: 'waiting' }> {
  const job = await findJob(name, jobId);
  const state = await job.getState();
  if (state !== 'failed') throw new AppError('CONFLICT', `Only failed jobs can be retried; this job is ${state}`);
  // Reset the counters: a job that used all its attempts would otherwise be on its last one
  // at once (the processors fail the row or study for good on the last attempt).
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  return { id: jobId, state: 'waiting' };
}

/** Removes a job that is not running. */
export async function removeJob(name: QueueName, jobId: string): Promise<{ id: string; removed: true }> {
  const job = await findJob(name, jobId);
  const state = await job.getState();
  if (state === 'active') throw new AppError('CONFLICT', 'This job is running; wait for it to finish or fail before removing it');
  await job.remove();
  return { id: jobId, removed: true };
}
