/**
 * What a processor's error becomes before BullMQ stores it. BullMQ keeps a failed attempt's
 * message as the job's failedReason and its stack in the job's stacktrace (both in Redis, both
 * shown on /admin/queues, and the reason is published on the queue's event stream), so a raw
 * database or parser message would put the PatientID or UID it quotes into Redis. The job fails
 * instead with a JobFailedError whose message is an AppError's own message (ours, PHI-free) or
 * "<what> failed (<class> <code>)", and whose stack is this module's.
 *
 * BullMQ's control errors (DelayedError, WaitingError, WaitingChildrenError, RateLimitError:
 * recognised by class or name, as BullMQ does) pass through untouched; an UnrecoverableError
 * stays unrecoverable.
 */
import { RATE_LIMIT_ERROR, RateLimitError, UnrecoverableError } from 'bullmq';
import { AppError, errorSummary, publicMessage } from '../errors';

export class JobFailedError extends Error {
  constructor(
    message: string,
    /** The original error's class and code (AppError code, Prisma/PostgreSQL code, errno). */
    public readonly code: string,
  ) {
    super(message);
    this.name = 'JobFailedError';
  }
}

const CONTROL = new Set(['DelayedError', 'WaitingError', 'WaitingChildrenError', 'RateLimitError']);

export function jobFailure(e: unknown, jobName: string): Error {
  if (e instanceof Error && (CONTROL.has(e.name) || e instanceof RateLimitError || e.message === RATE_LIMIT_ERROR)) return e;
  const s = errorSummary(e, 0);
  const message = publicMessage(e, `${jobName} failed`);
  if (e instanceof UnrecoverableError) return new UnrecoverableError(message);
  return new JobFailedError(message, e instanceof AppError ? e.code : s.code ? `${s.class}:${s.code}` : s.class);
}
