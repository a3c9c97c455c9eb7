/**
 * De-identification overlapped with the move: while a retrieval's C-MOVE (or C-GET, WADO-RS)
 * runs, the move job itself takes the instances already staged for it and puts them through the
 * same per-instance step as the anonymize job (lib/retrievals/run-anonymize.ts deidentifyStaged:
 * de-identified in the worker-thread pool, indexed with its per-instance record and the staged
 * row's removal in one transaction, then the original unlinked). When the move ends the
 * anonymize job only finds what arrived last, so the study is in the pool almost as soon as the
 * last instance arrives.
 *
 * Back-pressure: at most `inFlight` instances are being de-identified at once (default twice the
 * worker-thread pool); what arrives faster waits in staging, on disk, where it would have waited
 * anyway. The retrieval stays MOVING the whole time (its `stored` count rises, refreshed from the
 * per-instance records), so the SCP keeps matching arriving instances to it.
 *
 * Crash safety is the anonymize step's, per instance: a SIGKILL at any point leaves either the
 * staged row (processed again after the restart: same research UIDs, upserted index row) or the
 * committed instance with at most an orphan staged file (removed by the staging reconciliation).
 * Nothing here is a new state: a restarted move job resumes the move, and the pipeline with it.
 */
import { db } from '../db';
import { logger } from '../logger';
import { deidPool } from '../receive/ingest';
import { deidContextQuiet, deidentifyStaged, refreshStoredCount, type DeidContext } from './run-anonymize';

const log = logger('retrieval.pipeline');

export interface Pipeline {
  /** Instances this pipeline took out of staging (stored, quarantined or failed). */
  readonly processed: number;
  /** Ends the pipeline: waits for the instances in flight, takes no new one. */
  stop(): Promise<void>;
}

export function startPipeline(retrievalId: string, generation: number, opts: { inFlight?: number; idleMs?: number; refreshMs?: number } = {}): Pipeline {
  const limit = Math.max(1, opts.inFlight ?? 2 * Math.max(1, deidPool().size));
  const idleMs = opts.idleMs ?? 50;
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
        const rows = await db.stagedInstance.findMany({
          where: { retrievalId, ...(inflight.size ? { id: { notIn: [...inflight.keys()] } } : {}) },
          select: { id: true, path: true, receivingPoolId: true, sopInstanceUid: true },
          take: limit - inflight.size,
          orderBy: { receivedAt: 'asc' },
        });
        if (rows.length && !ctx) {
          ctx = await deidContextQuiet(retrievalId);
          // Refused (a research ID that belongs to another patient...): the anonymize step fails
          // the study with the reason once the move has ended; nothing enters the pool before.
          if (!ctx) return;
        }
        for (const s of rows) {
          const p = deidentifyStaged(ctx!, s).finally(() => {
            inflight.delete(s.id);
            processed++;
            wake?.();
          });
          inflight.set(s.id, p);
        }
        if (!rows.length || inflight.size >= limit) await nap(idleMs);
      } else await nap(idleMs);
      if (Date.now() - lastRefresh >= refreshMs) {
        lastRefresh = Date.now();
        await refreshStoredCount(retrievalId);
        // A coordinator's Cancel or Retry (a new generation): stop taking instances; the move
        // sees it too and handles what is staged.
        const cur = await db.retrieval.findUnique({ where: { id: retrievalId }, select: { state: true, attempts: true } });
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
