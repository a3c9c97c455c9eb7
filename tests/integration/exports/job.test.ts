/**
 * The export job's behaviour around the sending: schedule window (SCHEDULED, delayed until it
 * opens; a cancel stops it at once), cancel while a request is in flight (aborted, nothing marked
 * sent), the destination's maxAssociations across concurrent batches and exports (leases), and
 * automatic export of a settled study (once per study, exporter and rule version).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { autoExportStudy } from '@/lib/exports/auto';
import { cancelExport, createExport } from '@/lib/exports/request';
import { destinationLease, runExport } from '@/lib/exports/run-export';
import { tryAcquire } from '@/lib/jobs/leases';
import { actorOf, makePool, makeUser } from '../../helpers/fixtures';
import { makeExporter, makeWebDestination, seedStudies } from './helpers';

const servers: http.Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((ok) => s.close(() => ok()));
  }
});

/** Acknowledges every part after `delayMs`; counts requests in flight. */
async function slowStow(delayMs: number) {
  const stats = { inFlight: 0, maxInFlight: 0, requests: 0 };
  const server = http.createServer(async (req, res) => {
    stats.inFlight++;
    stats.requests++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const sops = [...Buffer.concat(chunks).toString('latin1').matchAll(/\x00\x08\x00\x18\x00?UI..([0-9.]+)/g)].map((m) => m[1]);
    const timer = setTimeout(() => {
      stats.inFlight--;
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.end(JSON.stringify({ '00081199': { vr: 'SQ', Value: sops.map((s) => ({ '00081155': { vr: 'UI', Value: [s] } })) } }));
    }, delayMs);
    req.socket.once('close', () => {
      if (!res.writableEnded) {
        clearTimeout(timer);
        stats.inFlight--;
      }
    });
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/studies`, stats };
}

async function setup(url: string, opts: { instances?: number; maxAssociations?: number; exporter?: Parameters<typeof makeExporter>[2] } = {}) {
  const owner = await makeUser('RESEARCHER');
  const pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }] });
  const seeded = await seedStudies(pool.id, Math.floor(Math.random() * 1e6), { instancesPerSeries: opts.instances ?? 3 });
  const dest = await makeWebDestination(url, undefined, { maxAssociations: opts.maxAssociations ?? 2 });
  const exporter = await makeExporter(pool.id, dest.id, opts.exporter);
  return { actor: actorOf(owner), pool, seeded, dest, exporter };
}

describe('schedule window', () => {
  it('outside the window: SCHEDULED until it opens; a cancel ends it at once', async () => {
    const srv = await slowStow(0);
    const h = (new Date().getHours() + 3) % 24;
    const s = await setup(srv.url, { exporter: { schedule: `hour=${h} dayOfWeek=*` } });
    const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
    const out = await runExport(ex.id, ex.attempts);
    expect(out.status).toBe('wait');
    const x = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
    expect(x.state).toBe('SCHEDULED');
    expect(x.scheduledFor!.getHours()).toBe(h);
    expect(out.status === 'wait' && out.until).toBe(x.scheduledFor!.getTime());
    expect(srv.stats.requests).toBe(0);
    await cancelExport(s.actor, s.pool.id, ex.id);
    expect(await db.export.findUniqueOrThrow({ where: { id: ex.id } })).toMatchObject({ state: 'CANCELED', sent: 0 });
    // The delayed job waking up later does nothing.
    expect(await runExport(ex.id, ex.attempts)).toEqual({ status: 'done' });
    expect(srv.stats.requests).toBe(0);
  });
});

describe('cancel', () => {
  it('aborts the request in flight; nothing is marked sent; the rest stays PENDING → CANCELED', async () => {
    const srv = await slowStow(20_000);
    const s = await setup(srv.url, { instances: 4, exporter: { instancesPerRequest: 2 } });
    const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
    const started = Date.now();
    const run = runExport(ex.id, ex.attempts, { isFinalAttempt: true });
    while (srv.stats.requests === 0) await new Promise((r) => setTimeout(r, 50));
    await cancelExport(s.actor, s.pool.id, ex.id);
    await run;
    expect(Date.now() - started).toBeLessThan(10_000);
    const x = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
    expect(x).toMatchObject({ state: 'CANCELED', sent: 0, failed: 0 });
    expect(await db.exportInstance.count({ where: { exportId: ex.id, state: 'PENDING' } })).toBe(4);
    expect(srv.stats.requests).toBe(1);
  });
});

describe('concurrency', () => {
  it('keeps at most maxAssociations requests in flight to a destination, across exports', async () => {
    const srv = await slowStow(300);
    const s = await setup(srv.url, { instances: 6, maxAssociations: 2, exporter: { concurrency: 3 } });
    const a = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
    const b = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: true });
    const outs = await Promise.all([runExport(a.id, a.attempts, { isFinalAttempt: true }), runExport(b.id, b.attempts, { isFinalAttempt: true })]);
    // One export found both leases taken (or got one), none more than two in flight.
    expect(srv.stats.maxInFlight).toBe(2);
    for (const [i, o] of outs.entries()) if (o.status === 'wait') await runExport([a, b][i].id, 0, { isFinalAttempt: true });
    const xs = await db.export.findMany({ where: { id: { in: [a.id, b.id] } } });
    expect(xs.map((x) => x.state)).toEqual(['COMPLETED', 'COMPLETED']);
    expect(xs.reduce((n, x) => n + x.sent + x.skipped, 0)).toBe(12);
  });

  it('waits (capacity) while every lease of the destination is taken', async () => {
    const srv = await slowStow(0);
    const s = await setup(srv.url, { maxAssociations: 1 });
    const lease = await tryAcquire(destinationLease(s.dest.id), 1);
    try {
      const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
      const out = await runExport(ex.id, ex.attempts);
      expect(out).toMatchObject({ status: 'wait', reason: 'capacity' });
      expect(srv.stats.requests).toBe(0);
    } finally {
      await lease?.release();
    }
  });
});

describe('automatic export', () => {
  it('one export per study, exporter and rule version, even asked twice at once; not for other exporters', async () => {
    const srv = await slowStow(0);
    const s = await setup(srv.url, { exporter: { autoExport: true } });
    const manual = await makeExporter(s.pool.id, s.dest.id);
    const off = await makeExporter(s.pool.id, s.dest.id, { autoExport: true, enabled: false });
    const [x, y] = await Promise.all([autoExportStudy(s.pool.id, s.seeded.studyIds[0]), autoExportStudy(s.pool.id, s.seeded.studyIds[0])]);
    expect([...x, ...y]).toHaveLength(1);
    expect(await autoExportStudy(s.pool.id, s.seeded.studyIds[0])).toEqual([]);
    const exports = await db.export.findMany({ where: { poolId: s.pool.id } });
    expect(exports).toHaveLength(1);
    expect(exports[0]).toMatchObject({ exporterId: s.exporter.id, requestedById: null, total: 3 });
    expect(exports[0].scope).toMatchObject({ kind: 'auto', studyIds: [s.seeded.studyIds[0]], ruleVersion: 1 });
    expect(await db.export.count({ where: { exporterId: { in: [manual.id, off.id] } } })).toBe(0);
    // A new rule version exports the study again.
    await db.pool.update({ where: { id: s.pool.id }, data: { ruleVersion: 2 } });
    expect(await autoExportStudy(s.pool.id, s.seeded.studyIds[0])).toHaveLength(1);
  });
});
