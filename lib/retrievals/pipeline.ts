/**
 * De-identification overlapped with the move: while a retrieval's C-MOVE (or C-GET, WADO-RS)
 * runs, the move job itself takes the instances already staged for it and puts them through the
 * same step as the anonymize job (de-identified in the worker-thread pool, indexed with its
 * per-instance record and the staged row's removal in one transaction, then the original unlinked). When the move ends the
 * anonymize job only finds what arrived last, so the study is in the pool almost as soon as the
 * last instance arrives.
 *
 * Instances go in batches of up to `batch` (default 16), each indexed in one transaction of a few
 * raw statements (lib/retrievals/run-anonymize.ts deidentifyStagedBatch, lib/receive/ingest.ts
 * indexPlacedBatch). Fewer than `minBatch` (8) staged wait up to `gatherMs` for more (fewer, larger
 * commits), except the first batch, which goes at once. With nothing staged the pipeline looks
 * again after 50 ms, then less often (up to every 200 ms) while nothing comes. Back-pressure: at
 * most `inFlight` instances are being de-identified at once (default two batches); what arrives
 * faster waits in staging, on disk, where it would have waited anyway. The retrieval stays MOVING
 * the whole time (its `stored` count rises, refreshed from the per-instance records), so the SCP
 * keeps matching arriving instances to it.
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
  opts: { batch?: number; minBatch?: number; inFlight?: number; idleMs?: number; maxIdleMs?: number; refreshMs?: number; gatherMs?: number } = {},
): Pipeline {
  // Up to `batch` instances per transaction; fewer than `minBatch` wait up to `gatherMs` (from when
  // they were first seen) for more to arrive: fewer, larger commits. The first batch goes at once
  // (the study is browsable sooner).
  const batch = Math.max(1, opts.batch ?? 16);
  const minBatch = Math.min(batch, Math.max(1, opts.minBatch ?? 8));
  const limit = Math.max(batch, opts.inFlight ?? Math.max(2 * batch, 2 * deidPool().size));
  // Nothing staged: the next look after idleMs, doubling up to maxIdleMs while nothing comes.
  const idleMs = opts.idleMs ?? 50;
  const maxIdleMs = Math.max(idleMs, opts.maxIdleMs ?? 200);
  let idle = idleMs;
  const gatherMs = opts.gatherMs ?? 150;
  let short: number | null = null;
  let first = true;
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
        let napMs = idle;
        if (rows.length && !first && rows.length < Math.min(minBatch, limit - inflight.size)) {
          short ??= Date.now();
          const waited = Date.now() - short;
          if (waited < gatherMs) {
            napMs = gatherMs - waited;
            rows = [];
          }
        }
        if (rows.length) {
          short = null;
          first = false;
          idle = idleMs;
        } else if (short === null) idle = Math.min(2 * idle, maxIdleMs);
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
        if (!rows.length || inflight.size >= limit) await nap(rows.length ? idleMs : napMs);
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
