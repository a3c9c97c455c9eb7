/**
 * Health: the worker's heartbeat makes /api/v1/health say worker and SCP are up, with no host
 * names or ports in the public answer; a stopped worker turns both to "down". DICOM_BIND: an SCP
 * bound to 127.0.0.1 is not reachable on the machine's other addresses.
 */
import net from 'node:net';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { startScp } from '@/lib/dicom/scp';
import { getHealth } from '@/lib/health/get-health';
import { startWorker, type RunningWorker } from '@/workers/index';
import { call } from '../../helpers/api';
import { waitFor } from '../../helpers/fixtures';

let worker: RunningWorker | null = null;
afterAll(async () => {
  await worker?.stop();
});

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2_000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

describe('health', () => {
  it('reports PostgreSQL, Redis, the worker and its SCP, and no host details in the public answer', async () => {
    worker = await startWorker({ scpPort: 0 });
    const port = worker.scpPort;
    const h = await waitFor(async () => {
      const x = await getHealth();
      return x.workers.some((w) => w.pid === process.pid && w.scp.port === port) ? x : null;
    }, { what: 'worker heartbeat' });
    expect(h).toMatchObject({ status: 'ok', postgres: 'ok', redis: 'ok', worker: 'ok', scp: 'ok' });
    const mine = h.workers.find((w) => w.pid === process.pid)!;
    expect(mine.scp).toEqual({ listening: true, port, bind: '0.0.0.0', tlsPort: null });

    const r = await call(api.health, {});
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'ok', postgres: 'ok', redis: 'ok', worker: 'ok', scp: 'ok' });
    expect(r.text).not.toContain(os.hostname());
    expect(r.text).not.toContain(String(port));
  });

  it('says the worker and SCP are down once the worker has stopped', async () => {
    await worker!.stop();
    worker = null;
    const h = await getHealth();
    expect(h.workers.find((w) => w.pid === process.pid)).toBeUndefined();
    // Other test files may run workers against the same prefix only one at a time (no file parallelism).
    expect(h.worker).toBe('down');
    expect(h.scp).toBe('down');
    expect(h.status).toBe('degraded');
    const r = await call(api.health, {});
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'degraded', worker: 'down' });
  });
});

describe('DICOM_BIND', () => {
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

  it('an SCP bound to 127.0.0.1 answers there and not on the machine’s other address', async () => {
    const scp = await startScp({ port: 0, host: '127.0.0.1', hooks: { resolveCalledAe: async () => null, isCallingAeAllowed: async () => false, onStored: async () => undefined } as never });
    try {
      expect(await connects('127.0.0.1', scp.port)).toBe(true);
      expect(external, 'this machine needs a non-loopback IPv4 address for this test').toBeTruthy();
      expect(await connects(external!, scp.port)).toBe(false);
    } finally {
      await scp.close();
    }
    const all = await startScp({ port: 0, hooks: { resolveCalledAe: async () => null, isCallingAeAllowed: async () => false, onStored: async () => undefined } as never });
    try {
      expect(await connects(external!, all.port)).toBe(true);
    } finally {
      await all.close();
    }
  });
});
