/**
 * Whether Tributary's parts are up: PostgreSQL, Redis, at least one worker process and its DICOM
 * SCP. Each probe is bounded in time so a hung dependency reports "down" instead of hanging the
 * health check (a load balancer or systemd watchdog calls it).
 */
import { db } from '../db';
import { key, redis } from '../redis';
import type { WorkerBeat } from './worker-heartbeat';

export type PartState = 'ok' | 'down';

export interface Health {
  status: 'ok' | 'degraded';
  postgres: PartState;
  redis: PartState;
  worker: PartState;
  scp: PartState;
  /** Per worker process (admins only: host names and ports are not for the public answer). */
  workers: WorkerBeat[];
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    }),
  ]);
}

async function readWorkers(): Promise<WorkerBeat[]> {
  const r = redis();
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await r.scan(cursor, 'MATCH', key('health', 'worker', '*'), 'COUNT', 200);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0' && keys.length < 1_000);
  if (!keys.length) return [];
  const values = await r.mget(...keys);
  return values
    .filter((v): v is string => typeof v === 'string')
    .map((v) => JSON.parse(v) as WorkerBeat)
    .sort((a, b) => a.host.localeCompare(b.host) || a.pid - b.pid);
}

export async function getHealth(opts: { timeoutMs?: number } = {}): Promise<Health> {
  const ms = opts.timeoutMs ?? 2_000;
  const [postgres, redisState, workers] = await Promise.all([
    within(db.$queryRaw`SELECT 1`, ms).then(
      () => 'ok' as const,
      () => 'down' as const,
    ),
    within(redis().ping(), ms).then(
      () => 'ok' as const,
      () => 'down' as const,
    ),
    within(readWorkers(), ms).catch(() => [] as WorkerBeat[]),
  ]);
  const worker: PartState = workers.length > 0 ? 'ok' : 'down';
  const scp: PartState = workers.some((w) => w.scp.listening) ? 'ok' : 'down';
  const allUp = postgres === 'ok' && redisState === 'ok' && worker === 'ok' && scp === 'ok';
  return { status: allUp ? 'ok' : 'degraded', postgres, redis: redisState, worker, scp, workers };
}
