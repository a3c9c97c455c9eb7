import { logger } from '../logger';

const log = logger('worker');

/** The same worker error (queue and code) is logged at most this often. */
const WORKER_ERROR_REPEAT_MS = 60_000;

/**
 * A BullMQ worker emits an error for every failed Redis call: while Redis is down that is several
 * a second per queue. The first of each kind (code) is logged, repeats within a minute are counted
 * and the count goes with the next line of that kind (the outage itself is logged once per
 * connection, lib/redis). Kinds are remembered each on its own: an outage alternates between
 * several (ECONNRESET, ECONNREFUSED, BullMQ's -1 for a job whose key Redis lost), and only
 * remembering the last one logged every alternation again.
 */
export function workerErrorLog(queueName: string, write: (fields: Record<string, unknown>) => void = (f) => log.error('worker error', f)) {
  const seen = new Map<string, { at: number; repeats: number }>();
  return (err: Error) => {
    const code = String((err as { code?: unknown }).code ?? err.name);
    const now = Date.now();
    const last = seen.get(code);
    if (last && now - last.at < WORKER_ERROR_REPEAT_MS) {
      last.repeats++;
      return;
    }
    write({ queue: queueName, err, ...(last?.repeats ? { repeatsNotLogged: last.repeats } : {}) });
    seen.set(code, { at: now, repeats: 0 });
  };
}

