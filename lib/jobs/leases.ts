/**
 * Association leases: a Redis semaphore per connector so Tributary never opens more concurrent
 * associations to a PACS than the connector allows, across every worker process.
 *
 * Two lanes share the cap: "interactive" work (a coordinator's single-MRN query, a retry) may
 * take any free slot; "batch" work (spreadsheet rows) leaves one slot free when the cap is above
 * one, so a single query is never stuck behind an 800-row batch.
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

export interface Lease {
  id: string;
  release(): Promise<void>;
}

export function laneLimit(maxAssociations: number, lane: Lane): number {
  if (lane === 'interactive' || maxAssociations <= 1) return maxAssociations;
  return maxAssociations - 1;
}

export async function tryAcquire(resource: string, limit: number, ttlMs = 30_000): Promise<Lease | null> {
  const r = redis();
  const k = key('lease', resource);
  const id = randomUUID();
  const ok = await r.eval(ACQUIRE, 1, k, Date.now(), limit, ttlMs, id);
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

export function acquireAssociation(connectorId: string, maxAssociations: number, lane: Lane, ttlMs?: number) {
  return tryAcquire(`connector:${connectorId}`, laneLimit(maxAssociations, lane), ttlMs);
}

export async function activeLeases(resource: string): Promise<number> {
  const r = redis();
  const k = key('lease', resource);
  await r.zremrangebyscore(k, '-inf', Date.now());
  return r.zcard(k);
}
