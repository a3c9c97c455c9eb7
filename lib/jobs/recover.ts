/**
 * PostgreSQL is the record of what must happen; Redis only holds the queues. When Redis comes
 * back empty (restarted without persistence, failed over, flushed), every query and retrieval
 * that is still under way is enqueued again from the database. Job ids are deterministic
 * (catalogue.jobId), so enqueueing a job that still exists is a no-op: running this when nothing
 * was lost changes nothing, and several workers may run it at once.
 *
 * What is rebuilt: find jobs of queries with rows still PENDING or RUNNING (a RUNNING row is
 * re-claimed by the job of the same id), move jobs of retrievals QUEUED, SCHEDULED or MOVING (the
 * move asks the PACS only for what is missing), de-identify jobs of retrievals ANONYMIZING, export
 * jobs of exports QUEUED, SCHEDULED or RUNNING.
 * What is not: repeatable maintenance schedules (the worker upserts them itself after this), the
 * sign-in rate-limit counters and audit de-duplication flags (they start over), and Weasis launch
 * codes (a user opens the viewer again).
 */
import { db } from '../db';
import { logger } from '../logger';
import { enqueueFind } from '../queries/queries';
import { findSlots } from '../queries/run-find';
import { jobId } from './catalogue';
import { enqueue } from './queues';

const log = logger('recover');

export interface Recovered {
  finds: number;
  moves: number;
  anonymizes: number;
  exports: number;
}

export async function recoverJobsFromDatabase(): Promise<Recovered> {
  const out: Recovered = { finds: 0, moves: 0, anonymizes: 0, exports: 0 };
  const queries = await db.query.findMany({
    where: { status: { in: ['PENDING', 'RUNNING'] } },
    select: { id: true, generation: true, source: true, connector: { select: { maxAssociations: true } } },
  });
  // Rows still to ask for, per query, in one statement.
  const open = await db.queryItem.groupBy({
    by: ['queryId'],
    where: { queryId: { in: queries.map((q) => q.id) }, status: { in: ['PENDING', 'RUNNING'] } },
    _count: { _all: true },
  });
  const openRows = new Map(open.map((o) => [o.queryId, o._count._all]));
  for (const q of queries) {
    const rows = openRows.get(q.id) ?? 0;
    if (!rows) continue;
    const slots = findSlots(rows, q.connector.maxAssociations, q.source);
    await enqueueFind(q.id, q.generation, slots);
    out.finds += slots;
  }
  const retrievals = await db.retrieval.findMany({
    where: { state: { in: ['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING'] } },
    select: { id: true, state: true, attempts: true },
  });
  for (const r of retrievals) {
    if (r.state === 'ANONYMIZING') {
      await enqueue('retrieval.anonymize', { retrievalId: r.id, generation: r.attempts }, { jobId: jobId.anonymize(r.id, r.attempts) });
      out.anonymizes++;
    } else {
      await enqueue('retrieval.move', { retrievalId: r.id, generation: r.attempts }, { jobId: jobId.move(r.id, r.attempts) });
      out.moves++;
    }
  }
  // Exports not finished: the job resumes with their PENDING instances (lib/exports/run-export.ts).
  const exports = await db.export.findMany({ where: { state: { in: ['QUEUED', 'SCHEDULED', 'RUNNING'] } }, select: { id: true, attempts: true } });
  for (const x of exports) {
    await enqueue('export.send', { exportId: x.id, generation: x.attempts }, { jobId: jobId.export(x.id, x.attempts) });
    out.exports++;
  }
  if (out.finds + out.moves + out.anonymizes + out.exports) log.info('work under way enqueued from the database', { ...out });
  return out;
}

/**
 * Notices Redis losing its data: a marker key lives in Redis as long as its data does. It is
 * checked at once and then every few seconds; when it is missing (first start on an empty Redis,
 * or Redis restarted without its data), `onLost` runs (re-create schedules, then
 * recoverJobsFromDatabase) and the marker is written. A Redis that is down is simply waited for.
 * A worker restarted after a crash finds the marker and its jobs still in Redis: nothing to do.
 */
export function watchForLostQueues(opts: { redis: import('ioredis').Redis; markerKey: string; onLost: () => Promise<void>; intervalMs?: number }): { ready: Promise<void>; stop(): void } {
  const mark = () => opts.redis.set(opts.markerKey, new Date().toISOString());
  let first = true;
  let busy = false;
  const check = async () => {
    if (busy) return;
    busy = true;
    try {
      if ((await opts.redis.exists(opts.markerKey)) === 0) {
        if (!first) log.warn('the job queues were emptied (Redis restarted without its data?); re-creating them from the database');
        await opts.onLost();
        await mark();
      }
    } catch (e) {
      log.warn('queue check failed', { err: (e as { code?: string }).code ?? (e as Error).name });
    } finally {
      busy = false;
      first = false;
    }
  };
  const ready = check();
  const timer = setInterval(() => void check(), opts.intervalMs ?? 10_000);
  timer.unref();
  return { ready, stop: () => clearInterval(timer) };
}
