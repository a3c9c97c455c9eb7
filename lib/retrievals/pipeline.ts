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
 * commits), except the first batch, which goes at once. The pipeline looks when the SCP (or the
 * sink) announces committed rows of its retrieval (lib/receive/staging.ts stagedArrivals), not on
 * a timer; unannounced (rows of another process, of a crashed attempt) at least every 500 ms. Back-pressure: at
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
import { markRetrievalProvenanceStored } from '../pools/provenance';
import { deidPool } from '../receive/ingest';
import { stagedArrivals } from '../receive/staging';
import { deidContextQuiet, deidentifyStagedBatch, handOverContext, refreshStoredCount, type DeidContext } from './run-anonymize';

const log = logger('retrieval.pipeline');

export interface Pipeline {
  /** Instances this pipeline took out of staging (stored, quarantined or failed). */
  readonly processed: number;
  /** Still taking instances (and reading the retrieval's state every second). */
  readonly running: boolean;
  /** Ends the pipeline: waits for the instances in flight, takes no new one. */
  stop(): Promise<void>;
}

export function startPipeline(
  retrievalId: string,
  generation: number,
  opts: {
    batch?: number;
    minBatch?: number;
    inFlight?: number;
    lookMs?: number;
    refreshMs?: number;
    gatherMs?: number;
    /** The coordinator cancelled the retrieval (seen at a refresh). */
    onCancelled?: () => void;
  } = {},
): Pipeline {
  // Up to `batch` instances per transaction; fewer than `minBatch` wait up to `gatherMs` (from when
  // the first of them was announced) for more to arrive: fewer, larger commits. The first batch
  // goes at once (the study is browsable sooner).
  const batch = Math.max(1, opts.batch ?? 16);
  const minBatch = Math.min(batch, Math.max(1, opts.minBatch ?? 8));
  const limit = Math.max(batch, opts.inFlight ?? Math.max(2 * batch, 2 * deidPool().size));
  // Looks unannounced (rows staged by another process, or left over from a crashed attempt) at
  // least every lookMs.
  const lookMs = opts.lookMs ?? 500;
  const gatherMs = opts.gatherMs ?? 300;
  const refreshMs = opts.refreshMs ?? 1000;
  const inflight = new Map<string, Promise<unknown>>();
  let processed = 0;
  let stopping = false;
  let wake: (() => void) | null = null;
  // Rows of this retrieval committed (announced by lib/receive/staging.ts) since the last look,
  // and when the first of them was.
  let pending = 0;
  let pendingSince = 0;
  let first = true;
  const want = () => Math.min(minBatch, limit - inflight.size);
  const onStaged = (n: number) => {
    if (!pending) pendingSince = Date.now();
    pending += n;
    // Enough for a batch (or the first one): look now; otherwise the gather deadline will.
    if (inflight.size < limit && (first || pending >= want())) wake?.();
  };
  stagedArrivals.on(retrievalId, onStaged);
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = null;
        resolve();
      }, Math.max(1, ms));
      wake = () => {
        clearTimeout(t);
        wake = null;
        resolve();
      };
    });

  let ctx: DeidContext | null = null;
  const loop = async () => {
    let lastRefresh = Date.now();
    // The first look at once: a resumed move may find rows staged already.
    let lastLook = 0;
    let more = false;
    while (!stopping) {
      const now = Date.now();
      const room = limit - inflight.size;
      // When to look: rows announced and enough of them (or the first batch, or gathered long
      // enough), a full batch taken last time (more may be waiting), or the unannounced look.
      const gatherEnd = pending ? pendingSince + gatherMs : Infinity;
      // (Not into a sliver of room: while de-identification lags, a batch finishing frees a whole
      // batch's room at once; taking the 2 or 3 slots left meanwhile made batches of 2 or 3.)
      const roomy = first || room >= Math.min(minBatch, limit);
      const due = roomy && room > 0 && (more || (pending > 0 && (first || pending >= want() || now >= gatherEnd)) || now - lastLook >= lookMs);
      if (due) {
        lastLook = now;
        pending = 0;
        const take = Math.min(batch, room);
        // Nothing to do before the first instance lands (the identity is resolved only then: a
        // study that never arrives creates no research identity).
        // (Raw: Prisma's query compilation would cost more than the query.)
        const busy = [...inflight.keys()];
        const rows = await db.$queryRaw<{ id: string; path: string; receivingPoolId: string; sopInstanceUid: string }[]>`
          SELECT "id", "path", "receivingPoolId", "sopInstanceUid" FROM "StagedInstance"
          WHERE "retrievalId" = ${retrievalId} AND NOT ("id" = ANY(${busy}::text[]))
          ORDER BY "receivedAt" LIMIT ${take}`;
        more = rows.length === take;
        if (rows.length && !ctx) {
          ctx = await deidContextQuiet(retrievalId);
          // Refused (a research ID that belongs to another patient...): the anonymize step fails
          // the study with the reason once the move has ended; nothing enters the pool before.
          if (!ctx) return;
        }
        if (rows.length) {
          first = false;
          // One batch: de-identified side by side in the worker-thread pool, indexed in one transaction.
          const p = deidentifyStagedBatch(ctx!, rows)
            // Whatever is not committed stays staged, for the next batch or the anonymize step.
            .catch((e) => log.warn('pipelined batch failed', { retrievalId, err: e }))
            .finally(() => {
              for (const s of rows) inflight.delete(s.id);
              processed += rows.length;
              // Room again: the loop decides whether to look now.
              wake?.();
            });
          for (const s of rows) inflight.set(s.id, p);
        }
      } else {
        // Until the next look (the gather deadline, the unannounced look, the refresh), unless an
        // announcement or a finished batch wakes us first.
        // (No room: a finishing batch wakes us.)
        const until = roomy && room > 0 ? Math.min(gatherEnd, lastLook + lookMs, lastRefresh + refreshMs) : lastRefresh + refreshMs;
        await nap(until - now);
      }
      if (Date.now() - lastRefresh >= refreshMs) {
        lastRefresh = Date.now();
        // A coordinator's Cancel or Retry (a new generation): stop taking instances; the move
        // sees it too and handles what is staged.
        const cur = await refreshStoredCount(retrievalId);
        if (!cur || cur.attempts !== generation || cur.state !== 'MOVING') stopping = true;
        if (cur?.state === 'CANCELLED') opts.onCancelled?.();
      }
    }
  };

  let looping = true;
  const running = loop()
    .finally(() => {
      looping = false;
      stagedArrivals.off(retrievalId, onStaged);
    })
    .catch((e) => log.warn('pipelined de-identification stopped; the anonymize step takes over', { retrievalId, err: e }))
    .then(() => Promise.allSettled([...inflight.values()]))
    .then(() => (processed ? refreshStoredCount(retrievalId) : undefined))
    // Its studies' provenance rows were written at their first batch: moved to the last instance
    // stored (whatever ends the move: its end, a Cancel, a failure).
    .then(() => (ctx && processed ? markRetrievalProvenanceStored(retrievalId) : undefined))
    // The closing anonymize step (same generation, this process) reuses the resolved context.
    .then(() => void (ctx && handOverContext(generation, ctx)))
    .catch(() => undefined);

  return {
    get processed() {
      return processed;
    },
    get running() {
      return looping && !stopping;
    },
    async stop() {
      stopping = true;
      wake?.();
      await running;
    },
  };
}
