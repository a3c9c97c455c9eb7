/**
 * Each worker process says it is alive by refreshing a short-lived Redis key every few seconds:
 * host, pid, whether its DICOM SCP is listening and on which port. The web app reads these keys to
 * answer /api/v1/health and the admin's Processes table; a worker that died (SIGKILL, host gone)
 * disappears from the list when its key expires, without anyone having to clean up.
 */
import os from 'node:os';
import { key, redis } from '../redis';
import { logger } from '../logger';

const log = logger('health');

export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A key outlives three missed beats, then the worker counts as down. */
export const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_INTERVAL_MS;

export interface WorkerBeat {
  host: string;
  pid: number;
  startedAt: string;
  at: string;
  /** tlsPort: the DICOM TLS listener (DICOM_TLS_PORT), null when off. */
  scp: { listening: boolean; port: number | null; bind: string | null; tlsPort?: number | null };
}

export function heartbeatKey(host: string, pid: number): string {
  return key('health', 'worker', `${host}:${pid}`);
}

export interface Heartbeat {
  stop(): Promise<void>;
}

/** Starts beating at once; `scp()` is asked at every beat so a closed SCP shows as down. */
export function startWorkerHeartbeat(scp: () => WorkerBeat['scp'], opts: { intervalMs?: number } = {}): Heartbeat {
  const interval = opts.intervalMs ?? HEARTBEAT_INTERVAL_MS;
  const host = os.hostname();
  const startedAt = new Date().toISOString();
  const k = heartbeatKey(host, process.pid);
  const beat = async () => {
    const value: WorkerBeat = { host, pid: process.pid, startedAt, at: new Date().toISOString(), scp: scp() };
    try {
      await redis().set(k, JSON.stringify(value), 'PX', Math.max(interval * 3, 1_000));
    } catch (e) {
      // Redis down: the health answer will say so; the worker itself goes on.
      log.warn('heartbeat not written', { err: (e as { code?: string }).code ?? 'redis' });
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), interval);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await redis()
        .del(k)
        .catch(() => undefined);
    },
  };
}
