/**
 * Association leases: a Redis semaphore per connector so Tributary never opens more concurrent
 * associations to a PACS than the connector allows, across every worker process.
 *
 * Two lanes share the cap: "interactive" work (a coordinator's single-MRN query, a retry) may
 * take any free slot; "batch" work (spreadsheet rows) leaves one slot free when the cap is above
 * one, so a single query is never stuck behind an 800-row batch. Interactive work that found no
 * free slot registers as a waiter (for a few seconds, renewed by each try); while a waiter is
 * registered no batch work gets a slot, so with a cap of one the next slot a batch gives back
 * goes to the coordinator. A batch find keeps its slot (and its association) from chunk to chunk
 * only while no interactive waiter is registered (`interactiveWaiting`); otherwise it gives the
 * slot back after the chunk it is asking.
 *
 * A lease expires unless renewed, so a killed worker gives its slots back after `ttlMs`.
 */
import { randomUUID } from 'node:crypto';
import { key, redis } from '../redis';

export type Lane = 'interactive' | 'batch';

const ACQUIRE = `
local k = KEYS[1]
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
local n = redis.call('ZCARD', k)
if n < tonumber(ARGV[2]) then
  redis.call('ZADD', k, now + tonumber(ARGV[3]), ARGV[4])
  redis.call('PEXPIRE', k, tonumber(ARGV[3]) * 2)
  return 1
end
return 0
`;

const RENEW = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0
`;

/**
 * Like ACQUIRE, with the lane's waiters: KEYS[2] is the connector's interactive waiters (member
 * = waiter id, score = expiry). ARGV[5] = 1 for interactive, ARGV[6] waiter id ('' for none),
 * ARGV[7] waiter ttl. Batch work is refused while any interactive waiter is registered.
 */
const ACQUIRE_LANE = `
local k = KEYS[1]
local w = KEYS[2]
local now = tonumber(ARGV[1])
local interactive = ARGV[5] == '1'
redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
redis.call('ZREMRANGEBYSCORE', w, '-inf', now)
if not interactive and redis.call('ZCARD', w) > 0 then
  return 0
end
local n = redis.call('ZCARD', k)
if n < tonumber(ARGV[2]) then
  redis.call('ZADD', k, now + tonumber(ARGV[3]), ARGV[4])
  redis.call('PEXPIRE', k, tonumber(ARGV[3]) * 2)
  if interactive and ARGV[6] ~= '' then redis.call('ZREM', w, ARGV[6]) end
  return 1
end
if interactive and ARGV[6] ~= '' then
  redis.call('ZADD', w, now + tonumber(ARGV[7]), ARGV[6])
  redis.call('PEXPIRE', w, tonumber(ARGV[7]) * 2)
end
return 0
`;

/** How long an interactive waiter holds batch work off without trying again. */
export const WAITER_TTL_MS = 5_000;

export interface Lease {
  id: string;
  release(): Promise<void>;
}

export function laneLimit(maxAssociations: number, lane: Lane): number {
  if (lane === 'interactive' || maxAssociations <= 1) return maxAssociations;
  return maxAssociations - 1;
}

export async function tryAcquire(resource: string, limit: number, ttlMs = 30_000, lane?: { interactive: boolean; waiter?: string }): Promise<Lease | null> {
  const r = redis();
  const k = key('lease', resource);
  const id = randomUUID();
  const ok = lane
    ? await r.eval(ACQUIRE_LANE, 2, k, key('lease-waiters', resource), Date.now(), limit, ttlMs, id, lane.interactive ? '1' : '0', lane.waiter ?? '', WAITER_TTL_MS)
    : await r.eval(ACQUIRE, 1, k, Date.now(), limit, ttlMs, id);
  if (ok !== 1) return null;
  const timer = setInterval(() => {
    void r.eval(RENEW, 1, k, id, Date.now() + ttlMs, ttlMs).catch(() => undefined);
  }, Math.max(1000, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    id,
    async release() {
      clearInterval(timer);
      await r.zrem(k, id);
    },
  };
}

/**
 * An association slot of the connector for `lane`. `waiter`: a stable id of the interactive work
 * asking (its job id), so a failed try registers it as waiting and a later success clears it.
 */
export function acquireAssociation(connectorId: string, maxAssociations: number, lane: Lane, opts: { ttlMs?: number; waiter?: string } = {}) {
  return tryAcquire(`connector:${connectorId}`, laneLimit(maxAssociations, lane), opts.ttlMs, { interactive: lane === 'interactive', waiter: opts.waiter });
}

/**
 * Whether interactive work is waiting for a slot of the connector (registered by a failed
 * interactive acquireAssociation, for WAITER_TTL_MS). Batch work that keeps its lease across
 * rounds (lib/queries/run-find.ts) asks this between rounds and gives its slot back when so:
 * the promise above (a waiting coordinator gets the next slot a batch gives back) is kept
 * without the batch giving its slot back, and opening a new association, after every round.
 */
export async function interactiveWaiting(connectorId: string): Promise<boolean> {
  return (await redis().zcount(key('lease-waiters', `connector:${connectorId}`), Date.now(), '+inf')) > 0;
}

export async function activeLeases(resource: string): Promise<number> {
  const r = redis();
  const k = key('lease', resource);
  await r.zremrangebyscore(k, '-inf', Date.now());
  return r.zcard(k);
}
