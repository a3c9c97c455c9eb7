/**
 * The job catalogue: queue and job names, payload schemas (ids only, never PHI), default
 * options and deterministic job ids. Processors live in workers/processors and start with
 * `schema.parse(job.data)`.
 */
import { z } from 'zod';

export const QUEUES = {
  find: 'find',
  move: 'move',
  anonymize: 'anonymize',
  maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOBS = {
  'query.find': { queue: QUEUES.find, schema: z.object({ queryId: z.string() }) },
  'retrieval.move': { queue: QUEUES.move, schema: z.object({ retrievalId: z.string(), generation: z.number().int().min(0) }) },
  'retrieval.anonymize': { queue: QUEUES.anonymize, schema: z.object({ retrievalId: z.string(), generation: z.number().int().min(0) }) },
  'staging.purge': { queue: QUEUES.maintenance, schema: z.object({}) },
} as const;
export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]['schema']>;

/** Deterministic ids: enqueueing twice is harmless. `generation` changes only when a user retries. */
export const jobId = {
  find: (queryId: string, generation = 0) => `find-${queryId}-${generation}`,
  move: (retrievalId: string, generation: number) => `move-${retrievalId}-${generation}`,
  anonymize: (retrievalId: string, generation: number) => `anon-${retrievalId}-${generation}`,
};

/** Transient network failures retry with exponential backoff: 5 s, 10 s, 20 s, 40 s, 80 s. */
export const DEFAULT_JOB_OPTIONS = Object.freeze({
  attempts: 6,
  backoff: { type: 'exponential' as const, delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
});
