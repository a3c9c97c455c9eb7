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
  ocr: 'ocr',
  export: 'export',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOBS = {
  'query.find': { queue: QUEUES.find, schema: z.object({ queryId: z.string(), slot: z.number().int().min(0).default(0) }) },
  'retrieval.move': { queue: QUEUES.move, schema: z.object({ retrievalId: z.string(), generation: z.number().int().min(0) }) },
  'retrieval.anonymize': { queue: QUEUES.anonymize, schema: z.object({ retrievalId: z.string(), generation: z.number().int().min(0) }) },
  'staging.purge': { queue: QUEUES.maintenance, schema: z.object({}) },
  /** Staging folder vs StagedInstance rows (lib/receive/reconcile-staging.ts); also run at worker start. */
  'staging.reconcile': { queue: QUEUES.maintenance, schema: z.object({}) },
  /** Query-finished notices a crash skipped, and notification e-mails owed (lib/notifications/query-settled.ts). */
  'notifications.sweep': { queue: QUEUES.maintenance, schema: z.object({}) },
  /** OCR of one quarantined instance (lib/ocr/run-ocr.ts); idempotent: a re-run replaces its boxes. */
  'quarantine.ocr': { queue: QUEUES.ocr, schema: z.object({ quarantinedId: z.string() }) },
  /** Enqueue OCR of every quarantined instance still waiting for it (worker start, every 15 minutes). */
  'quarantine.ocr-sweep': { queue: QUEUES.maintenance, schema: z.object({}) },
  /** One export to a destination (lib/exports/run-export.ts); `generation` = Export.attempts. */
  'export.send': { queue: QUEUES.export, schema: z.object({ exportId: z.string(), generation: z.number().int().min(0) }) },
} as const;
export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]['schema']>;

/** Deterministic ids: enqueueing twice is harmless. `generation` changes only when a user retries. */
export const jobId = {
  find: (queryId: string, generation = 0, slot = 0) => `find-${queryId}-${generation}-${slot}`,
  move: (retrievalId: string, generation: number) => `move-${retrievalId}-${generation}`,
  anonymize: (retrievalId: string, generation: number) => `anon-${retrievalId}-${generation}`,
  /** Removed from Redis when it ends (enqueueOcr), so an instance held again is read again under the same id. */
  ocr: (quarantinedId: string) => `ocr-${quarantinedId}`,
  export: (exportId: string, generation: number) => `export-${exportId}-${generation}`,
};

/**
 * Transient failures (PACS refused, timed out, down) retry with exponential backoff capped at
 * 10 minutes: 5 s, 10 s, 20 s, 40 s, 80 s, 160 s, 320 s, then every 10 min — 12 attempts, about
 * an hour in all, so a PACS restarted mid-batch is waited for; after that the row or study fails
 * with the reason and the coordinator can retry it.
 */
export const BACKOFF_CAP_MS = 10 * 60_000;
export function backoffDelay(attemptsMade: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attemptsMade - 1), BACKOFF_CAP_MS);
}

export const DEFAULT_JOB_OPTIONS = Object.freeze({
  attempts: 12,
  backoff: { type: 'capped-exponential' },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
});
