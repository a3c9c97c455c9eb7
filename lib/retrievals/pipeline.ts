/**
 * De-identification overlapped with the move: while a retrieval's C-MOVE (or C-GET, WADO-RS)
 * runs, the move job itself takes the instances already staged for it and puts them through the
 * same step as the anonymize job (de-identified in the worker-thread pool, indexed with its
 * per-instance record and the staged row's removal in one transaction, then the original unlinked). When the move ends the
 * anonymize job only finds what arrived last, so the study is in the pool almost as soon as the
 * last instance arrives.
 *
 * Instances go in batches of up to `batch` (default 8: whatever has arrived, never waiting for a
 * batch to fill), each indexed in one transaction (lib/retrievals/run-anonymize.ts
 * deidentifyStagedBatch): one commit per batch instead of one per instance. Back-pressure: at most
 * `inFlight` instances are being de-identified at once (default two batches); what arrives faster
 * waits in staging, on disk, where it would have waited anyway. The retrieval stays MOVING the whole time (its `stored` count rises, refreshed from the
 * per-instance records), so the SCP keeps matching arriving instances to it.
 *
 * Crash safety is the anonymize step's, per batch: a SIGKILL at any point leaves either the
 * staged rows (processed again after the restart: same research UIDs, replaced index rows) or the
 * committed instances with at most orphan staged files (removed by the staging reconciliation).
 * Nothing here is a new state: a restarted move job resumes the move, and the pipeline with it.
 */
import { db } from '../db';
import { logger } from '../logger';
import { deidPool } from '../receive/ingest';
import { deidContextQuiet, deidentifyStagedBatch, refreshStoredCount, type DeidContext } from './run-anonymize';

const log = logger('retrieval.pipeline');

export interface Pipeline {
  /** Instances this pipeline took out of staging (stored, quarantined or failed). */
  readonly processed: number;
  /** Ends the pipeline: waits for the instances in flight, takes no new one. */
  stop(): Promise<void>;
}

export function startPipeline(
  retrievalId: string,
  generation: number,
  opts: { batch?: number; inFlight?: number; idleMs?: number; refreshMs?: number; gatherMs?: number } = {},
): Pipeline {
  const batch = Math.max(1, opts.batch ?? 8);
  const limit = Math.max(batch, opts.inFlight ?? Math.max(2 * batch, 2 * deidPool().size));
  const idleMs = opts.idleMs ?? 50;
  // A batch smaller than `batch` waits up to this long for more to arrive (fewer, larger commits).
  const gatherMs = opts.gatherMs ?? 150;
  let short: number | null = null;
  const refreshMs = opts.refreshMs ?? 500;
  const inflight = new Map<string, Promise<unknown>>();
  let processed = 0;
  let stopping = false;
  let wake: (() => void) | null = null;
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = null;
        resolve();
      };
    });

  const loop = async () => {
    let ctx: DeidContext | null = null;
    let lastRefresh = Date.now();
    while (!stopping) {
      // Nothing to do before the first instance lands (the identity is resolved only then: a
      // study that never arrives creates no research identity).
      if (inflight.size < limit) {
        // (Raw: polled often, and Prisma's query compilation would cost more than the query.)
        const busy = [...inflight.keys()];
        let rows = await db.$queryRaw<{ id: string; path: string; receivingPoolId: string; sopInstanceUid: string }[]>`
          SELECT "id", "path", "receivingPoolId", "sopInstanceUid" FROM "StagedInstance"
          WHERE "retrievalId" = ${retrievalId} AND NOT ("id" = ANY(${busy}::text[]))
          ORDER BY "receivedAt" LIMIT ${Math.min(batch, limit - inflight.size)}`;
        if (rows.length && rows.length < Math.min(batch, limit - inflight.size)) {
          short ??= Date.now();
          if (Date.now() - short < gatherMs) rows = [];
        }
        if (rows.length) short = null;
        if (rows.length && !ctx) {
          ctx = await deidContextQuiet(retrievalId);
          // Refused (a research ID that belongs to another patient...): the anonymize step fails
          // the study with the reason once the move has ended; nothing enters the pool before.
          if (!ctx) return;
        }
        if (rows.length) {
          // One batch: de-identified side by side in the worker-thread pool, indexed in one transaction.
          const p = deidentifyStagedBatch(ctx!, rows)
            // Whatever is not committed stays staged, for the next batch or the anonymize step.
            .catch((e) => log.warn('pipelined batch failed', { retrievalId, err: e }))
            .finally(() => {
              for (const s of rows) inflight.delete(s.id);
              processed += rows.length;
              wake?.();
            });
          for (const s of rows) inflight.set(s.id, p);
        }
        if (!rows.length || inflight.size >= limit) await nap(short !== null ? Math.min(idleMs, gatherMs) : idleMs);
      } else await nap(idleMs);
      if (Date.now() - lastRefresh >= refreshMs) {
        lastRefresh = Date.now();
        // A coordinator's Cancel or Retry (a new generation): stop taking instances; the move
        // sees it too and handles what is staged.
        const cur = await refreshStoredCount(retrievalId);
        if (!cur || cur.attempts !== generation || cur.state !== 'MOVING') stopping = true;
      }
    }
  };

  const running = loop()
    .catch((e) => log.warn('pipelined de-identification stopped; the anonymize step takes over', { retrievalId, err: e }))
    .then(() => Promise.allSettled([...inflight.values()]))
    .then(() => (processed ? refreshStoredCount(retrievalId) : undefined))
    .catch(() => undefined);

  return {
    get processed() {
      return processed;
    },
    async stop() {
      stopping = true;
      wake?.();
      await running;
    },
  };
}
