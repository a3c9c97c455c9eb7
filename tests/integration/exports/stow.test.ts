/**
 * STOW-RS exports against Orthanc's DICOMweb plugin with basic auth (exact instances, same bytes,
 * skipped the second time, resent on request), against a small Node server for the answers
 * Orthanc does not give (413 for multi-part bodies, FailedSOPSequence, WarningReason, 401), a
 * destination that is down (retries, then FAILED; retry works once it is back), and the
 * isolation of the REST API (another pool's study or exporter, a pool-scoped token, a member of
 * another pool, a coordinator).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { createExport, retryExport } from '@/lib/exports/request';
import { runExport } from '@/lib/exports/run-export';
import { call } from '../../helpers/api';
import { actorOf, makePool, makeUser } from '../../helpers/fixtures';
import { startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { makeExporter, makeWebDestination, seedStudies, sha256OfStored } from './helpers';

const auth = { username: 'exporter', password: 'stow-pass-1' };
let orthanc: OrthancHandle;

beforeAll(async () => {
  orthanc = await startOrthanc({ aet: 'STOW_DEST', dicomWeb: true, basicAuth: auth });
});
afterAll(async () => {
  await orthanc?.stop();
});

const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
async function orthancGet(path: string): Promise<Buffer> {
  const res = await fetch(`${orthanc.httpUrl}${path}`, { headers: { authorization: basic } });
  if (!res.ok) throw new Error(`orthanc ${path}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** SOP Instance UID -> SHA-256 of the file Orthanc stores. */
async function orthancInstances(): Promise<Map<string, string>> {
  const ids = JSON.parse((await orthancGet('/instances')).toString()) as string[];
  const out = new Map<string, string>();
  for (const id of ids) {
    const tags = JSON.parse((await orthancGet(`/instances/${id}/simplified-tags`)).toString()) as { SOPInstanceUID: string };
    out.set(tags.SOPInstanceUID, createHash('sha256').update(await orthancGet(`/instances/${id}/file`)).digest('hex'));
  }
  return out;
}

async function setup(opts: { url?: string; auth?: typeof auth; instancesPerSeries?: number; exporter?: Parameters<typeof makeExporter>[2] } = {}) {
  const researcher = await makeUser('RESEARCHER');
  const pool = await makePool({ members: [{ userId: researcher.id, role: 'RESEARCHER' }] });
  const seeded = await seedStudies(pool.id, Math.floor(Math.random() * 1e6), { instancesPerSeries: opts.instancesPerSeries ?? 3 });
  const dest = await makeWebDestination(opts.url ?? `${orthanc.httpUrl}/dicom-web/studies`, opts.auth === undefined ? auth : opts.auth);
  const exporter = await makeExporter(pool.id, dest.id, opts.exporter);
  return { researcher, actor: actorOf(researcher), pool, seeded, dest, exporter };
}

describe('STOW-RS to Orthanc (basic auth)', () => {
  it('sends exactly the study, byte for byte; again: nothing (SKIPPED); with resend: everything', async () => {
    const s = await setup({ exporter: { instancesPerRequest: 2, concurrency: 2 } });
    const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: [s.seeded.studyIds[0]], wholePool: false, resend: false });
    expect(ex.total).toBe(3);
    await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
    const done = await db.export.findUniqueOrThrow({ where: { id: ex.id }, include: { instances: true } });
    expect(done.state).toBe('COMPLETED');
    expect(done.sent).toBe(3);
    const stored = await orthancInstances();
    const ours = done.instances;
    for (const i of ours) {
      expect(i.state).toBe('SENT');
      expect(i.sha256).toBe(await sha256OfStored(i.instanceId!));
      expect(stored.get(i.sopInstanceUid)).toBe(i.sha256);
    }
    expect(await db.exportDelivery.count({ where: { destinationId: s.dest.id, poolId: s.pool.id } })).toBe(3);

    const again = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
    await runExport(again.id, again.attempts, { isFinalAttempt: true });
    const a = await db.export.findUniqueOrThrow({ where: { id: again.id } });
    expect(a).toMatchObject({ state: 'COMPLETED', sent: 0, skipped: 3 });

    const resend = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: true });
    await runExport(resend.id, resend.attempts, { isFinalAttempt: true });
    expect(await db.export.findUniqueOrThrow({ where: { id: resend.id } })).toMatchObject({ state: 'COMPLETED', sent: 3, skipped: 0 });

    const ev = await db.auditEvent.findFirstOrThrow({ where: { action: 'export.create', targetId: ex.id } });
    expect(ev.poolId).toBe(s.pool.id);
    expect(ev.userId).toBe(s.researcher.id);
    expect(Object.keys(ev.detail as object).sort()).toEqual(['destinationId', 'exporterId', 'instances', 'resend', 'scope', 'studies']);
    expect(JSON.stringify(ev.detail)).not.toMatch(/TRB-|\d+\.\d+\.\d+\./);
  });

  it('converts to Explicit VR LE when the stored syntax is not listed, and says why it fails when it cannot', async () => {
    const s = await setup({ exporter: { transferSyntaxes: ['1.2.840.10008.1.2'] } });
    const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
    await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
    const done = await db.export.findUniqueOrThrow({ where: { id: ex.id }, include: { instances: true } });
    expect(done.state).toBe('COMPLETED');
    for (const i of done.instances) expect(i.transferSyntaxSent).toBe('1.2.840.10008.1.2');
    const stored = await orthancInstances();
    for (const i of done.instances) expect(stored.get(i.sopInstanceUid)).toBe(i.sha256);

    const s2 = await setup({ exporter: { transferSyntaxes: ['1.2.840.10008.1.2.4.50'] } });
    const ex2 = await createExport(s2.actor, s2.pool.id, { exporterId: s2.exporter.id, studyIds: s2.seeded.studyIds, wholePool: false, resend: false });
    await runExport(ex2.id, ex2.attempts, { isFinalAttempt: true });
    const d2 = await db.export.findUniqueOrThrow({ where: { id: ex2.id }, include: { instances: true } });
    expect(d2.state).toBe('FAILED');
    expect(d2.instances[0].reason).toMatch(/does not list.*no uncompressed syntax/);
  });
});

/** A STOW-RS server answering what `answer` says for each request (its parts' SOP UIDs given). */
async function fakeStow(answer: (sops: string[], req: http.IncomingMessage) => { status: number; body?: unknown }) {
  const seen: { parts: number; chunked: boolean }[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('latin1');
    const sops = [...body.matchAll(/\x00\x08\x00\x18\x00?UI..([0-9.]+)/g)].map((m) => m[1].replace(/\0$/, ''));
    seen.push({ parts: (body.match(/Content-Type: application\/dicom\r\n/g) ?? []).length, chunked: req.headers['transfer-encoding'] === 'chunked' });
    const a = answer(sops, req);
    res.writeHead(a.status, { 'content-type': 'application/dicom+json' });
    res.end(a.body === undefined ? '' : JSON.stringify(a.body));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/studies`, seen, port, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

const ref = (sop: string, extra: Record<string, unknown> = {}) => ({ '00081155': { vr: 'UI', Value: [sop] }, '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] }, ...extra });

describe('STOW-RS answers', () => {
  it('413 for multi-part bodies: the batch is split until single instances go through', async () => {
    const srv = await fakeStow((sops) => (sops.length > 1 ? { status: 413 } : { status: 200, body: { '00081199': { vr: 'SQ', Value: sops.map((s) => ref(s)) } } }));
    try {
      const s = await setup({ url: srv.url, auth: undefined, instancesPerSeries: 4, exporter: { instancesPerRequest: 4, chunked: true } });
      const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
      await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
      expect(await db.export.findUniqueOrThrow({ where: { id: ex.id } })).toMatchObject({ state: 'COMPLETED', sent: 4 });
      expect(srv.seen.map((x) => x.parts)).toEqual([4, 2, 1, 1, 2, 1, 1]);
      expect(srv.seen.every((x) => x.chunked)).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('413 for a single instance: FAILED "too large"', async () => {
    const srv = await fakeStow(() => ({ status: 413 }));
    try {
      const s = await setup({ url: srv.url, auth: undefined, instancesPerSeries: 1 });
      const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
      await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
      const d = await db.export.findUniqueOrThrow({ where: { id: ex.id }, include: { instances: true } });
      expect(d.state).toBe('FAILED');
      expect(d.instances[0].reason).toMatch(/too large for the destination/);
      expect(srv.seen.every((x) => !x.chunked)).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('FailedSOPSequence → FAILED with the reason, WarningReason → WARNING, the rest SENT; outcome WARNING', async () => {
    let n = 0;
    const srv = await fakeStow((sops) => {
      n++;
      const [a, b, c] = sops;
      return {
        status: 202,
        body: {
          '00081198': { vr: 'SQ', Value: [ref(a, { '00081197': { vr: 'US', Value: [0xa700] } })] },
          '00081199': { vr: 'SQ', Value: [ref(b, { '00081196': { vr: 'US', Value: [0xb000] } }), ref(c)] },
        },
      };
    });
    try {
      const s = await setup({ url: srv.url, auth: undefined, instancesPerSeries: 3, exporter: { instancesPerRequest: 3 } });
      const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
      await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
      const d = await db.export.findUniqueOrThrow({ where: { id: ex.id }, include: { instances: true } });
      expect(n).toBe(1);
      expect(d).toMatchObject({ state: 'WARNING', sent: 1, warnings: 1, failed: 1 });
      const byState = Object.fromEntries(d.instances.map((i) => [i.state, i]));
      expect(byState.FAILED.reason).toMatch(/out of resources \(0xA700\)/);
      expect(byState.FAILED.sha256).toBeNull();
      expect(byState.WARNING.reason).toMatch(/coercion of data elements \(0xB000\)/);
      expect(byState.SENT.sha256).toMatch(/^[0-9a-f]{64}$/);
      // Only what was acknowledged is recorded as delivered.
      expect(await db.exportDelivery.count({ where: { exportId: ex.id } })).toBe(2);
      // Retry sends the failed one again only.
      await retryExport(s.actor, s.pool.id, ex.id);
      const r = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
      expect(r).toMatchObject({ state: 'QUEUED', attempts: 1, failed: 0 });
      await runExport(ex.id, 1, { isFinalAttempt: true });
      expect(n).toBe(2);
    } finally {
      await srv.close();
    }
  });

  it('invalid JSON → FAILED (not marked sent)', async () => {
    const srv = await fakeStow(() => ({ status: 200 }));
    try {
      const s = await setup({ url: srv.url, auth: undefined, instancesPerSeries: 1 });
      const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
      await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
      const d = await db.export.findUniqueOrThrow({ where: { id: ex.id }, include: { instances: true } });
      expect(d.state).toBe('FAILED');
      expect(d.instances[0].reason).toMatch(/without a valid DICOM JSON body/);
    } finally {
      await srv.close();
    }
  });

  it('401: retried, then FAILED with the credentials reason', async () => {
    const s = await setup({ auth: { username: auth.username, password: 'wrong' } });
    const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
    await expect(runExport(ex.id, ex.attempts, { isFinalAttempt: false })).rejects.toThrow(/user name or password/);
    const mid = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
    expect(mid.state).toBe('RUNNING');
    expect(await db.exportInstance.count({ where: { exportId: ex.id, state: 'PENDING' } })).toBe(3);
    await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
    const d = await db.export.findUniqueOrThrow({ where: { id: ex.id }, include: { instances: true } });
    expect(d.state).toBe('FAILED');
    expect(d.lastError).toMatch(/refused the user name or password \(HTTP 401\)/);
    expect(d.instances.every((i) => i.state === 'FAILED' && /HTTP 401/.test(i.reason ?? ''))).toBe(true);
  });

  it('exporter basic-auth replaces the destination credentials', async () => {
    const { encryptSecret } = await import('@/lib/secrets');
    const s = await setup({ auth: { username: auth.username, password: 'wrong' }, exporter: { basicAuth: encryptSecret(`${auth.username}:${auth.password}`) } });
    const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
    await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
    expect(await db.export.findUniqueOrThrow({ where: { id: ex.id } })).toMatchObject({ state: 'COMPLETED', sent: 3 });
  });

  it('destination down: retried, then FAILED with the reason; retry works once it is back', async () => {
    const srv = await fakeStow((sops) => ({ status: 200, body: { '00081199': { vr: 'SQ', Value: sops.map((x) => ref(x)) } } }));
    const port = srv.port;
    await srv.close();
    const s = await setup({ url: `http://127.0.0.1:${port}/studies`, auth: undefined });
    const ex = await createExport(s.actor, s.pool.id, { exporterId: s.exporter.id, studyIds: s.seeded.studyIds, wholePool: false, resend: false });
    await expect(runExport(ex.id, ex.attempts, { isFinalAttempt: false })).rejects.toThrow(/refused the connection/);
    await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
    const d = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
    expect(d).toMatchObject({ state: 'FAILED', failed: 3, sent: 0 });
    expect(d.lastError).toMatch(/refused the connection/);
    // Back on the same port.
    const back = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const sops = [...Buffer.concat(chunks).toString('latin1').matchAll(/\x00\x08\x00\x18\x00?UI..([0-9.]+)/g)].map((m) => m[1]);
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.end(JSON.stringify({ '00081199': { vr: 'SQ', Value: sops.map((x) => ref(x)) } }));
    });
    await new Promise<void>((ok) => back.listen(port, '127.0.0.1', ok));
    try {
      const r = await retryExport(s.actor, s.pool.id, ex.id);
      await runExport(ex.id, r.attempts, { isFinalAttempt: true });
      expect(await db.export.findUniqueOrThrow({ where: { id: ex.id } })).toMatchObject({ state: 'COMPLETED', sent: 3, failed: 0, lastError: null });
    } finally {
      await new Promise<void>((ok) => back.close(() => ok()));
    }
  });
});

describe('REST API isolation', () => {
  it('refuses another pool’s study or exporter, a pool-scoped token, a member of another pool, a coordinator', async () => {
    const s = await setup();
    const other = await setup();
    const body = { exporterId: s.exporter.id, studyIds: s.seeded.studyIds };
    const cookie = await (await import('../../helpers/api')).sessionCookie(s.researcher.id);
    // The happy path through the route.
    const ok = await call(api.createExport, { id: s.pool.id }, { cookie, body });
    expect(ok.status).toBe(202);
    const created = ok.json as { id: string; total: number };
    expect(created.total).toBe(3);
    const got = await call(api.getExport, { id: s.pool.id, exportId: created.id }, { cookie });
    expect(got.status).toBe(200);
    // Another pool's study in studyIds, another pool's exporter.
    expect((await call(api.createExport, { id: s.pool.id }, { cookie, body: { exporterId: s.exporter.id, studyIds: [...s.seeded.studyIds, other.seeded.studyIds[0]] } })).status).toBe(404);
    expect((await call(api.createExport, { id: s.pool.id }, { cookie, body: { exporterId: other.exporter.id, studyIds: s.seeded.studyIds } })).status).toBe(404);
    // A pool-scoped token of the researcher.
    const scoped = (await createApiToken({ userId: s.researcher.id, name: 'scoped', poolId: s.pool.id })).token;
    expect((await call(api.createExport, { id: s.pool.id }, { token: scoped, body })).status).toBe(403);
    // A researcher of another pool: the pool does not exist for them, nor its exports.
    const cookieOther = await (await import('../../helpers/api')).sessionCookie(other.researcher.id);
    expect((await call(api.createExport, { id: s.pool.id }, { cookie: cookieOther, body })).status).toBe(404);
    expect((await call(api.getExport, { id: other.pool.id, exportId: created.id }, { cookie: cookieOther })).status).toBe(404);
    // A coordinator of the pool, an administrator who is not a member.
    const coord = await makeUser('COORDINATOR');
    await db.poolMember.create({ data: { poolId: s.pool.id, userId: coord.id, role: 'COORDINATOR' } });
    expect((await call(api.createExport, { id: s.pool.id }, { cookie: await (await import('../../helpers/api')).sessionCookie(coord.id), body })).status).toBe(403);
    const admin = await makeUser('ADMIN');
    expect((await call(api.createExport, { id: s.pool.id }, { cookie: await (await import('../../helpers/api')).sessionCookie(admin.id), body })).status).toBe(403);
    // Only the one accepted export exists.
    expect(await db.export.count({ where: { poolId: s.pool.id } })).toBe(1);
  });
});
