/**
 * Destinations (admin) and exporters (the pool's owner) through the REST API: CRUD, one error
 * per field, write-only secrets (encrypted at rest, never in an answer or an audit row), "Test
 * destination" against a real Orthanc (DICOMweb with basic auth, C-ECHO), and the attacks: a
 * researcher, a coordinator or an administrator setting up a pool's exporter, a pool-scoped
 * token, another pool's exporter reached through this pool's path.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call, type CallResult } from '../../helpers/api';
import { makePool, makeUser, suffix } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

const auth = { username: 'stow-user', password: `S3cret-${randomBytes(6).toString('hex')}` };
const bearer = `TOKEN-${randomBytes(8).toString('hex')}`;
const basic = `exp:PW-${randomBytes(8).toString('hex')}`;
const SECRETS = [auth.password, bearer, basic];

let orthanc: OrthancHandle;
const answers: string[] = [];
let admin: { token: string; id: string };
let owner: { token: string; id: string; poolToken: string };
let researcher: { token: string };
let coordinator: { token: string };
let stranger: { token: string };
let poolId: string;
let otherPoolId: string;

async function tokenOf(role: 'ADMIN' | 'COORDINATOR' | 'RESEARCHER', poolIdScope?: string) {
  const u = await makeUser(role);
  return { id: u.id, token: (await createApiToken({ userId: u.id, name: 't', poolId: poolIdScope ?? null })).token };
}

async function c(...a: Parameters<typeof call>): Promise<CallResult> {
  const r = await call(...a);
  answers.push(r.text);
  return r;
}

const fields = (r: CallResult) => (r.json as { error?: { fields?: Record<string, string[]> } }).error?.fields ?? {};

function webDestination(over: Record<string, unknown> = {}) {
  return {
    name: `STOW ${suffix()}`,
    type: 'DICOMWEB',
    webStowUrl: `${orthanc.httpUrl}/dicom-web/studies`,
    webAuthType: 'BASIC',
    webUsername: auth.username,
    webSecret: auth.password,
    ...over,
  };
}

beforeAll(async () => {
  orthanc = await startOrthanc({ aet: 'EXPDEST', dicomWeb: true, basicAuth: auth });
  admin = await tokenOf('ADMIN');
  const o = await tokenOf('RESEARCHER');
  const r = await tokenOf('RESEARCHER');
  const co = await tokenOf('COORDINATOR');
  stranger = await tokenOf('RESEARCHER');
  const pool = await makePool({ members: [{ userId: o.id, role: 'OWNER' }, { userId: r.id, role: 'RESEARCHER' }, { userId: co.id, role: 'COORDINATOR' }] });
  poolId = pool.id;
  otherPoolId = (await makePool({ members: [{ userId: o.id, role: 'OWNER' }] })).id;
  owner = { ...o, poolToken: (await createApiToken({ userId: o.id, name: 'scoped', poolId })).token };
  researcher = r;
  coordinator = co;
});

afterAll(async () => {
  await orthanc?.stop();
});

describe('destinations (admin)', () => {
  it('creates, reads, updates and deletes a DICOMweb destination; the secret is write-only', async () => {
    const body = webDestination();
    const created = await c(api.createDestination, {}, { token: admin.token, body });
    expect(created.status, created.text).toBe(201);
    const d = created.json as { id: string; webSecret: string; webStowUrl: string };
    expect(d.webSecret).toBe('set');
    const stored = await db.destination.findUniqueOrThrow({ where: { id: d.id } });
    expect(stored.webSecret).toMatch(/^v1:/);
    expect(stored.webSecret).not.toContain(auth.password);

    // Update without the secret keeps it; the list and the detail say "set".
    const renamed = await c(api.updateDestination, { id: d.id }, { token: admin.token, body: { ...body, webSecret: undefined, name: `${body.name} 2` } });
    expect(renamed.status, renamed.text).toBe(200);
    expect((await db.destination.findUniqueOrThrow({ where: { id: d.id } })).webSecret).toBe(stored.webSecret);
    expect((await c(api.getDestination, { id: d.id }, { token: admin.token })).json).toMatchObject({ name: `${body.name} 2`, webSecret: 'set', exporterCount: 0 });
    const list = await c(api.listDestinations, {}, { token: admin.token });
    expect((list.json as { id: string }[]).some((x) => x.id === d.id)).toBe(true);

    // Switching to no authentication drops the stored secret.
    expect((await c(api.updateDestination, { id: d.id }, { token: admin.token, body: { ...body, webAuthType: 'NONE', webSecret: undefined } })).status).toBe(200);
    expect((await db.destination.findUniqueOrThrow({ where: { id: d.id } })).webSecret).toBeNull();

    expect((await c(api.deleteDestination, { id: d.id }, { token: admin.token })).status).toBe(200);
    expect(await db.destination.count({ where: { id: d.id } })).toBe(0);
    const audits = await db.auditEvent.findMany({ where: { targetId: d.id }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
    expect(audits.map((a) => a.action)).toEqual(['destination.create', 'destination.update', 'destination.update', 'destination.delete']);
  });

  it('answers one message per field for what cannot work', async () => {
    const bad = async (body: Record<string, unknown>) => {
      const r = await c(api.createDestination, {}, { token: admin.token, body });
      expect(r.status, r.text).toBe(422);
      return fields(r);
    };
    expect(Object.keys(await bad(webDestination({ webStowUrl: '' })))).toEqual(['webStowUrl']);
    expect(Object.keys(await bad(webDestination({ webStowUrl: 'ftp://x/studies' })))).toEqual(['webStowUrl']);
    expect(Object.keys(await bad(webDestination({ webUsername: '' })))).toEqual(['webUsername']);
    expect(Object.keys(await bad(webDestination({ webSecret: undefined })))).toEqual(['webSecret']);
    expect(Object.keys(await bad(webDestination({ storageCommitment: true })))).toEqual(['storageCommitment']);
    expect(Object.keys(await bad(webDestination({ name: '' })))).toEqual(['name']);
    expect(Object.keys(await bad({ name: `DICOM ${suffix()}`, type: 'DICOM' }))).toEqual(['deviceId']);
    expect(Object.keys(await bad({ name: `DICOM ${suffix()}`, type: 'DICOM', deviceId: 'nope', maxAssociations: 99 }))).toEqual(['maxAssociations']);
    expect(Object.keys(await bad({ name: `DICOM ${suffix()}`, type: 'DICOM', deviceId: 'no-such-device' }))).toEqual(['deviceId']);
    // A duplicate name is a conflict on the name.
    const body = webDestination();
    expect((await c(api.createDestination, {}, { token: admin.token, body })).status).toBe(201);
    const dup = await c(api.createDestination, {}, { token: admin.token, body });
    expect(dup.status).toBe(409);
    expect(Object.keys(fields(dup))).toEqual(['name']);
  });

  it('is for administrators only: others get 403, a pool-scoped admin token too', async () => {
    const scopedAdmin = (await createApiToken({ userId: admin.id, name: 'scoped', poolId })).token;
    for (const token of [owner.token, researcher.token, coordinator.token, scopedAdmin]) {
      expect((await c(api.listDestinations, {}, { token })).status).toBe(403);
      expect((await c(api.createDestination, {}, { token, body: webDestination() })).status).toBe(403);
    }
    expect((await c(api.listDestinations, {}, {})).status).toBe(401);
  });

  it('tests a DICOMweb destination with its credentials, and says why when they are wrong', async () => {
    const ok = await c(api.createDestination, {}, { token: admin.token, body: webDestination() });
    const okId = (ok.json as { id: string }).id;
    const good = await c(api.testDestination, { id: okId }, { token: admin.token });
    expect(good.json, good.text).toMatchObject({ ok: true, message: expect.stringMatching(/answered HTTP 200 .*user name and password/) });

    const wrong = await c(api.createDestination, {}, { token: admin.token, body: webDestination({ webSecret: 'wrong-password' }) });
    const bad = await c(api.testDestination, { id: (wrong.json as { id: string }).id }, { token: admin.token });
    expect(bad.json).toMatchObject({ ok: false, message: expect.stringMatching(/refused the user name or password \(HTTP 401\)/) });

    const none = await c(api.createDestination, {}, { token: admin.token, body: webDestination({ webAuthType: 'NONE', webSecret: undefined, webUsername: undefined }) });
    expect((await c(api.testDestination, { id: (none.json as { id: string }).id }, { token: admin.token })).json).toMatchObject({ ok: false, message: expect.stringMatching(/asks for authentication/) });

    const missing = await c(api.createDestination, {}, { token: admin.token, body: webDestination({ webStowUrl: `${orthanc.httpUrl}/no-such-root/studies` }) });
    expect((await c(api.testDestination, { id: (missing.json as { id: string }).id }, { token: admin.token })).json).toMatchObject({ ok: false, message: expect.stringMatching(/HTTP 404.*STOW-RS URL/) });

    const closed = await freePort();
    const down = await c(api.createDestination, {}, { token: admin.token, body: webDestination({ webStowUrl: `http://127.0.0.1:${closed}/dicom-web/studies` }) });
    expect((await c(api.testDestination, { id: (down.json as { id: string }).id }, { token: admin.token })).json).toMatchObject({ ok: false, message: expect.stringMatching(/refused the connection/) });

    const tls = await c(api.createDestination, {}, { token: admin.token, body: webDestination({ webStowUrl: `https://127.0.0.1:${orthanc.httpPort}/dicom-web/studies` }) });
    expect((await c(api.testDestination, { id: (tls.json as { id: string }).id }, { token: admin.token })).json).toMatchObject({ ok: false, message: expect.stringMatching(/TLS/) });
  });

  it('tests a DICOM destination with C-ECHO', async () => {
    const device = await db.device.create({ data: { name: `Orthanc ${suffix()}`, aeTitle: 'EXPDEST', host: '127.0.0.1', port: orthanc.dicomPort } });
    const r = await c(api.createDestination, {}, { token: admin.token, body: { name: `DICOM ${suffix()}`, type: 'DICOM', deviceId: device.id, storageCommitment: true, maxAssociations: 3 } });
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({ type: 'DICOM', storageCommitment: true, maxAssociations: 3, webStowUrl: null, webSecret: 'not set', device: { id: device.id, aeTitle: 'EXPDEST' } });
    expect((await c(api.testDestination, { id: (r.json as { id: string }).id }, { token: admin.token })).json).toMatchObject({ ok: true, message: expect.stringMatching(/^C-ECHO as TRIBUTARY answered/) });
    // The device cannot be deleted while a destination sends to it.
    const del = await c(api.deleteDevice, { id: device.id }, { token: admin.token });
    expect(del.status).toBe(409);
    expect(del.text).toMatch(/export destination/);

    const closed = await db.device.create({ data: { name: `Down ${suffix()}`, aeTitle: 'NOBODY', host: '127.0.0.1', port: await freePort() } });
    const d2 = await c(api.createDestination, {}, { token: admin.token, body: { name: `DICOM ${suffix()}`, type: 'DICOM', deviceId: closed.id } });
    expect((await c(api.testDestination, { id: (d2.json as { id: string }).id }, { token: admin.token })).json).toMatchObject({ ok: false });
  });
});

describe('exporters (the pool owner only)', () => {
  let webDestId: string;
  let dicomDestId: string;
  const exporter = (over: Record<string, unknown> = {}) => ({
    name: `To archive ${suffix()}`,
    destinationId: webDestId,
    chunked: true,
    concurrency: 2,
    instancesPerRequest: 10,
    transferSyntaxes: 'ExplicitVRLittleEndian, 1.2.840.10008.1.2.4.50',
    bearerToken: bearer,
    allowAnyHostname: true,
    schedule: 'hour=18-6 dayOfWeek=*',
    autoExport: false,
    enabled: true,
    ...over,
  });

  beforeAll(async () => {
    webDestId = ((await c(api.createDestination, {}, { token: admin.token, body: webDestination() })).json as { id: string }).id;
    const device = await db.device.create({ data: { name: `Orthanc ${suffix()}`, aeTitle: 'EXPDEST', host: '127.0.0.1', port: orthanc.dicomPort } });
    dicomDestId = ((await c(api.createDestination, {}, { token: admin.token, body: { name: `DICOM ${suffix()}`, type: 'DICOM', deviceId: device.id, storageCommitment: true } })).json as { id: string }).id;
  });

  it('the owner creates, reads, updates and deletes one; the overrides are write-only', async () => {
    const created = await c(api.createExporter, { id: poolId }, { token: owner.token, body: exporter() });
    expect(created.status, created.text).toBe(201);
    const x = created.json as { id: string };
    expect(created.json).toMatchObject({
      poolId,
      chunked: true,
      concurrency: 2,
      instancesPerRequest: 10,
      transferSyntaxes: ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.4.50'],
      bearerToken: 'set',
      basicAuth: 'not set',
      destination: { id: webDestId, type: 'DICOMWEB' },
    });
    const row = await db.exporter.findUniqueOrThrow({ where: { id: x.id } });
    expect(row.bearerToken).toMatch(/^v1:/);
    expect(row.createdById).toBe(owner.id);

    // Absent keeps; a basic-auth override replaces the bearer token; "" clears.
    const body = exporter({ bearerToken: undefined, name: 'Archive' });
    expect((await c(api.updateExporter, { id: poolId, exporterId: x.id }, { token: owner.token, body })).json).toMatchObject({ name: 'Archive', bearerToken: 'set' });
    expect((await c(api.updateExporter, { id: poolId, exporterId: x.id }, { token: owner.token, body: { ...body, basicAuth: basic } })).json).toMatchObject({ bearerToken: 'not set', basicAuth: 'set' });
    expect((await c(api.updateExporter, { id: poolId, exporterId: x.id }, { token: owner.token, body: { ...body, basicAuth: '' } })).json).toMatchObject({ bearerToken: 'not set', basicAuth: 'not set' });
    expect((await c(api.getExporter, { id: poolId, exporterId: x.id }, { token: owner.token })).json).toMatchObject({ name: 'Archive', schedule: 'hour=18-6 dayOfWeek=*' });

    // The destination cannot go while the exporter sends to it; the message says who uses it.
    const refused = await c(api.deleteDestination, { id: webDestId }, { token: admin.token });
    expect(refused.status).toBe(409);
    expect(refused.text).toMatch(/1 exporter\(s\) send to this destination.*Pool /);

    // An exporter with past exports is kept (its receipts depend on them): disable it instead.
    const ex = await db.export.create({ data: { poolId, exporterId: x.id, scope: { kind: 'pool' }, state: 'COMPLETED' } });
    const keep = await c(api.deleteExporter, { id: poolId, exporterId: x.id }, { token: owner.token });
    expect(keep.status).toBe(409);
    expect(keep.text).toMatch(/disable it instead/);
    await db.export.delete({ where: { id: ex.id } });
    expect((await c(api.deleteExporter, { id: poolId, exporterId: x.id }, { token: owner.token })).status).toBe(200);
    expect(await db.exporter.count({ where: { id: x.id } })).toBe(0);
    const audits = await db.auditEvent.findMany({ where: { targetId: x.id }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
    expect(audits.map((a) => a.action)).toEqual(['exporter.create', 'exporter.update', 'exporter.update', 'exporter.update', 'exporter.delete']);
    expect(audits.every((a) => a.poolId === poolId)).toBe(true);
  });

  it('answers one message per field, and refuses settings that do not fit the destination', async () => {
    const bad = async (body: Record<string, unknown>) => {
      const r = await c(api.createExporter, { id: poolId }, { token: owner.token, body });
      expect(r.status, r.text).toBe(422);
      return Object.keys(fields(r)).sort();
    };
    expect(await bad(exporter({ name: '' }))).toEqual(['name']);
    expect(await bad(exporter({ destinationId: '' }))).toEqual(['destinationId']);
    expect(await bad(exporter({ destinationId: 'no-such-destination' }))).toEqual(['destinationId']);
    expect(await bad(exporter({ concurrency: 0 }))).toEqual(['concurrency']);
    expect(await bad(exporter({ instancesPerRequest: 5000 }))).toEqual(['instancesPerRequest']);
    expect(await bad(exporter({ transferSyntaxes: 'JPEG please' }))).toEqual(['transferSyntaxes']);
    expect(await bad(exporter({ schedule: 'at night' }))).toEqual(['schedule']);
    expect(await bad(exporter({ bearerToken: undefined, basicAuth: 'no-colon' }))).toEqual(['basicAuth']);
    expect(await bad(exporter({ basicAuth: basic }))).toEqual(['basicAuth']);
    expect(await bad(exporter({ storageCommitment: true }))).toEqual(['storageCommitment']);
    // C-STORE: the STOW-RS properties do not apply.
    expect(await bad(exporter({ destinationId: dicomDestId }))).toEqual(['allowAnyHostname', 'bearerToken', 'chunked']);
    const dicom = { name: `C-STORE ${suffix()}`, destinationId: dicomDestId, storageCommitment: true, concurrency: 2 };
    const ok = await c(api.createExporter, { id: poolId }, { token: owner.token, body: dicom });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json).toMatchObject({ storageCommitment: true, bearerToken: 'not set' });
    expect((await c(api.createExporter, { id: poolId }, { token: owner.token, body: dicom })).status).toBe(409);
    // The destination stops offering storage commitment while an exporter asks for it: refused.
    const dest = (await c(api.getDestination, { id: dicomDestId }, { token: admin.token })).json as Record<string, unknown> & { device: { id: string } };
    const off = await c(api.updateDestination, { id: dicomDestId }, { token: admin.token, body: { name: dest.name, type: 'DICOM', deviceId: dest.device.id, storageCommitment: false } });
    expect(off.status).toBe(409);
    expect(Object.keys(fields(off))).toEqual(['storageCommitment']);
  });

  it('refuses everyone but the owner: researcher, coordinator, administrator, pool-scoped token, strangers', async () => {
    const x = (await c(api.createExporter, { id: poolId }, { token: owner.token, body: exporter() })).json as { id: string; name: string };
    for (const [who, token, status] of [
      ['researcher', researcher.token, 403],
      ['coordinator', coordinator.token, 403],
      ['administrator', admin.token, 403],
      ['owner with a pool-scoped token', owner.poolToken, 403],
      ['non-member', stranger.token, 404],
    ] as const) {
      const create = await c(api.createExporter, { id: poolId }, { token, body: exporter() });
      expect(create.status, `${who} create`).toBe(status);
      expect((await c(api.updateExporter, { id: poolId, exporterId: x.id }, { token, body: exporter({ name: 'hijacked', bearerToken: undefined }) })).status, `${who} update`).toBe(status);
      expect((await c(api.getExporter, { id: poolId, exporterId: x.id }, { token })).status, `${who} get`).toBe(status);
      expect((await c(api.deleteExporter, { id: poolId, exporterId: x.id }, { token })).status, `${who} delete`).toBe(status);
    }
    expect((await db.exporter.findUniqueOrThrow({ where: { id: x.id } })).name).toBe(x.name);

    // Readers of the pool see names and destination names, nothing of the settings.
    for (const token of [researcher.token, coordinator.token, admin.token, owner.poolToken]) {
      const list = await c(api.listExporters, { id: poolId }, { token });
      expect(list.status).toBe(200);
      const mine = (list.json as Record<string, unknown>[]).find((e) => e.id === x.id)!;
      expect(Object.keys(mine).sort()).toEqual(['destination', 'enabled', 'id', 'name']);
      expect(Object.keys(mine.destination as object).sort()).toEqual(['id', 'name', 'type']);
    }
    expect((await c(api.listExporters, { id: poolId }, { token: stranger.token })).status).toBe(404);
    const full = (await c(api.listExporters, { id: poolId }, { token: owner.token })).json as Record<string, unknown>[];
    expect(full.find((e) => e.id === x.id)).toMatchObject({ bearerToken: 'set', chunked: true });

    // Another pool's exporter is not reachable through this pool's path, even by its owner.
    const other = (await c(api.createExporter, { id: otherPoolId }, { token: owner.token, body: exporter() })).json as { id: string };
    expect((await c(api.getExporter, { id: poolId, exporterId: other.id }, { token: owner.token })).status).toBe(404);
    expect((await c(api.deleteExporter, { id: poolId, exporterId: other.id }, { token: owner.token })).status).toBe(404);
  });

  it('never shows a secret in an answer or an audit row', async () => {
    const audits = (await db.auditEvent.findMany()).map((a) => JSON.stringify(a));
    expect(answers.length).toBeGreaterThan(20);
    for (const s of SECRETS) {
      expect(answers.filter((t) => t.includes(s))).toEqual([]);
      expect(audits.filter((t) => t.includes(s))).toEqual([]);
    }
  });
});
