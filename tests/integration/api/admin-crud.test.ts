/**
 * What an administrator does through the API, checked for its results (validation and access
 * have their own tests): devices, pools and connectors created, changed and deleted; Test
 * connection (C-ECHO) against a real Orthanc and against a closed port; a query the PACS
 * refuses (our AE unknown to it), cancelled and run again with POST /queries/{id}/retry once the
 * PACS admin registered our AE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { generateCorpus } from '@/lib/synthetic';
import { call } from '../../helpers/api';
import { makePool, makeUser, suffix, waitFor } from '../../helpers/fixtures';
import { freePort, orthancRest, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

type Err = { error: { code: string; message: string; fields?: Record<string, string[]> } };
type Row = { id: string } & Record<string, unknown>;

let admin: string;
let orthanc: OrthancHandle;
let worker: { stop(): Promise<void>; scpPort: number };
const corpus = generateCorpus({ seed: 808, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1, rows: 16, columns: 16 });

beforeAll(async () => {
  admin = (await createApiToken({ userId: (await makeUser('ADMIN')).id, name: 't' })).token;
  orthanc = await startOrthanc({ aet: 'CRUD_PACS' });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort: await freePort() });
});

afterAll(async () => {
  await worker?.stop();
  await orthanc?.stop();
});

describe('devices', () => {
  it('are created, read, changed and deleted', async () => {
    const s = suffix();
    const created = await call(api.createDevice, {}, { token: admin, body: { name: `CT ${s}`, aeTitle: `CT_${s}`, host: 'ct1.hospital.example', port: 104, tls: true, description: 'Research CT, room 4' } });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as Row).id;
    const patched = await call(api.updateDevice, { id }, { token: admin, body: { port: 11112, host: '10.0.0.7' } });
    expect(patched.status, patched.text).toBe(200);
    const got = await call(api.getDevice, { id }, { token: admin });
    // Fields the PATCH did not name keep their values (no defaults filled in).
    expect(got.json).toMatchObject({ id, name: `CT ${s}`, aeTitle: `CT_${s}`, host: '10.0.0.7', port: 11112, tls: true, description: 'Research CT, room 4' });
    const list = await call(api.listDevices, {}, { token: admin });
    expect((list.json as Row[]).map((d) => d.id)).toContain(id);
    expect((await call(api.deleteDevice, { id }, { token: admin })).status).toBe(200);
    expect((await call(api.getDevice, { id }, { token: admin })).status).toBe(404);
    expect(await db.device.count({ where: { id } })).toBe(0);
  });

  it('keep the addresses and CIDR ranges a device may send from; anything else is a field error', async () => {
    const s = suffix();
    const body = { name: `Cluster ${s}`, aeTitle: `CL_${s}`, host: 'pacs.hospital.example', port: 104 };
    const bad = await call(api.createDevice, {}, { token: admin, body: { ...body, addresses: ['10.1.2.0/24', 'pacs-node-2'] } });
    expect(bad.status, bad.text).toBe(422);
    expect((bad.json as Err).error.fields?.addresses?.join(' ')).toContain('pacs-node-2');
    const created = await call(api.createDevice, {}, { token: admin, body: { ...body, addresses: ['10.1.2.0/24', ' 2001:db8::7 '] } });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as Row).id;
    expect(created.json).toMatchObject({ addresses: ['10.1.2.0/24', '2001:db8::7'] });
    // A PATCH without the list keeps it; one with a bad entry changes nothing.
    expect((await call(api.updateDevice, { id }, { token: admin, body: { port: 105 } })).status).toBe(200);
    expect((await call(api.updateDevice, { id }, { token: admin, body: { addresses: ['10.1.2.0/40'] } })).status).toBe(422);
    expect((await db.device.findUniqueOrThrow({ where: { id } })).addresses).toEqual(['10.1.2.0/24', '2001:db8::7']);
    expect((await call(api.updateDevice, { id }, { token: admin, body: { addresses: [] } })).status).toBe(200);
    expect((await db.device.findUniqueOrThrow({ where: { id } })).addresses).toEqual([]);
  });
});

describe('pools and connectors', () => {
  it('are created, changed, used together, and protected from deletion while in use', async () => {
    const s = suffix();
    const mk = async (name: string, aeTitle: string, kind: 'RESEARCH' | 'INFRASTRUCTURE') => {
      const r = await call(api.createPool, {}, { token: admin, body: { name, aeTitle, kind } });
      expect(r.status, r.text).toBe(201);
      return (r.json as Row).id;
    };
    const queryPool = await mk(`Query ${s}`, `Q_${s}`, 'INFRASTRUCTURE');
    const receivingPool = await mk(`Receive ${s}`, `R_${s}`, 'INFRASTRUCTURE');
    const research = await mk(`Research ${s}`, `RS_${s}`, 'RESEARCH');

    // A PATCH of the name leaves the kind (and the rest) as it was.
    expect((await call(api.updatePool, { id: queryPool }, { token: admin, body: { name: `Query AE ${s}` } })).status).toBe(200);
    expect(await db.pool.findUniqueOrThrow({ where: { id: queryPool } })).toMatchObject({ name: `Query AE ${s}`, kind: 'INFRASTRUCTURE', aeTitle: `Q_${s}` });
    const desc = await call(api.updatePool, { id: research }, { token: admin, body: { description: 'Lung nodules, PI Dr. Example' } });
    expect(desc.status, desc.text).toBe(200);
    expect((await call(api.getPool, { id: research }, { token: admin })).json).toMatchObject({ description: 'Lung nodules, PI Dr. Example' });
    // The pool secret never leaves the server.
    expect((await call(api.getPool, { id: research }, { token: admin })).text).not.toMatch(/secret/i);

    const member = await makeUser('RESEARCHER');
    const members = await call(api.setPoolMembers, { id: research }, { token: admin, body: { members: [{ userId: member.id, role: 'RESEARCHER' }] } });
    expect(members.status, members.text).toBe(200);
    expect(await db.poolMember.findMany({ where: { poolId: research }, select: { userId: true, role: true } })).toEqual([{ userId: member.id, role: 'RESEARCHER' }]);

    const device = await db.device.create({ data: { name: `PACS ${s}`, aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort } });
    const body = { name: `Conn ${s}`, type: 'DICOM', deviceId: device.id, queryPoolId: queryPool, receivingPoolId: receivingPool, maxAssociations: 2 };
    const created = await call(api.createConnector, {}, { token: admin, body });
    expect(created.status, created.text).toBe(201);
    const connector = (created.json as Row).id;
    const changed = await call(api.updateConnector, { id: connector }, { token: admin, body: { ...body, maxAssociations: 3, schedule: 'hour=18-6 dayOfWeek=*' } });
    expect(changed.status, changed.text).toBe(200);
    expect(await db.connector.findUniqueOrThrow({ where: { id: connector } })).toMatchObject({ maxAssociations: 3, schedule: 'hour=18-6 dayOfWeek=*' });
    const badSchedule = await call(api.updateConnector, { id: connector }, { token: admin, body: { ...body, schedule: 'every night' } });
    expect(badSchedule.status).toBe(422);
    expect((badSchedule.json as Err).error.fields).toHaveProperty('schedule');

    // In use: neither the pools nor the device can go while the connector exists.
    const poolInUse = await call(api.deletePool, { id: queryPool }, { token: admin });
    expect(poolInUse.status).toBe(409);
    expect((poolInUse.json as Err).error.message).toMatch(/connector/i);
    expect((await call(api.deleteDevice, { id: device.id }, { token: admin })).status).toBe(409);
    expect(await db.pool.count({ where: { id: queryPool } })).toBe(1);

    expect((await call(api.deleteConnector, { id: connector }, { token: admin })).status).toBe(200);
    expect((await call(api.deletePool, { id: queryPool }, { token: admin })).status).toBe(200);
    expect((await call(api.deletePool, { id: research }, { token: admin })).status).toBe(200);
    expect(await db.pool.count({ where: { id: { in: [queryPool, research] } } })).toBe(0);
    expect(await db.poolMember.count({ where: { poolId: research } })).toBe(0);
  });
});

describe('what a pool owner may change', () => {
  it('name, description and members, but not the AE title, kind or sending devices (administrators only)', async () => {
    const owner = await makeUser('RESEARCHER');
    const token = (await createApiToken({ userId: owner.id, name: 't' })).token;
    const pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }] });
    const ok = await call(api.updatePool, { id: pool.id }, { token, body: { name: `Renamed ${pool.aeTitle}`, description: 'Protocol 2026-17' } });
    expect(ok.status, ok.text).toBe(200);
    expect(await db.pool.findUniqueOrThrow({ where: { id: pool.id } })).toMatchObject({ name: `Renamed ${pool.aeTitle}`, description: 'Protocol 2026-17' });

    const device = await db.device.create({ data: { name: `Owner dev ${suffix()}`, aeTitle: `OWN_${suffix()}`, host: '127.0.0.1', port: 104 } });
    for (const body of [{ aeTitle: 'STOLEN_AE' }, { kind: 'INFRASTRUCTURE' }, { allowedDeviceIds: [device.id] }]) {
      const res = await call(api.updatePool, { id: pool.id }, { token, body });
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(Object.keys((res.json as Err).error.fields ?? {})).toEqual(Object.keys(body));
    }
    const after = await db.pool.findUniqueOrThrow({ where: { id: pool.id }, include: { allowedDevices: true } });
    expect(after).toMatchObject({ aeTitle: pool.aeTitle, kind: 'RESEARCH' });
    expect(after.allowedDevices).toEqual([]);
    // The administrator may.
    const byAdmin = await call(api.updatePool, { id: pool.id }, { token: admin, body: { allowedDeviceIds: [device.id] } });
    expect(byAdmin.status, byAdmin.text).toBe(200);
    expect(await db.poolDevice.count({ where: { poolId: pool.id, deviceId: device.id } })).toBe(1);
  });
});

describe('Test connection', () => {
  async function connectorTo(port: number) {
    const s = suffix();
    const device = await db.device.create({ data: { name: `Echo ${s}`, aeTitle: orthanc.aet, host: '127.0.0.1', port } });
    const q = await makePool({ kind: 'INFRASTRUCTURE' });
    const r = await makePool({ kind: 'INFRASTRUCTURE' });
    return db.connector.create({ data: { name: `Echo ${s}`, deviceId: device.id, queryPoolId: q.id, receivingPoolId: r.id } });
  }

  it('answers the C-ECHO of a running PACS, and the reason when nothing listens', async () => {
    const up = await call(api.echoConnector, { id: (await connectorTo(orthanc.dicomPort)).id }, { token: admin });
    expect(up.status, up.text).toBe(200);
    expect(up.json).toMatchObject({ ok: true });
    expect((up.json as { message: string }).message).toMatch(/answered in \d+ ms by CRUD_PACS/);

    const down = await call(api.echoConnector, { id: (await connectorTo(await freePort())).id }, { token: admin });
    expect(down.status).toBe(200);
    expect(down.json).toMatchObject({ ok: false });
    expect((down.json as { message: string }).message).toMatch(/refused|nothing listening/i);
  });
});

describe('a query the PACS refuses', () => {
  it('shows the reason while it retries; cancelled, it runs again with POST /retry once our AE is registered', async () => {
    const s = suffix();
    const coordinator = await makeUser('COORDINATOR');
    const token = (await createApiToken({ userId: coordinator.id, name: 't' })).token;
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const device = await db.device.create({ data: { name: `Retry ${s}`, aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort } });
    const q = await makePool({ kind: 'INFRASTRUCTURE' });
    const r = await makePool({ kind: 'INFRASTRUCTURE' });
    const connector = await db.connector.create({ data: { name: `Retry ${s}`, deviceId: device.id, queryPoolId: q.id, receivingPoolId: r.id } });
    const mrn = corpus.patients[0].patientId;

    // Orthanc does not know our query AE yet: it aborts the association of our C-FIND.
    const created = await call(api.createQuery, {}, { token, body: { poolId: pool.id, connectorId: connector.id, items: [{ patientId: mrn }] } });
    expect(created.status, created.text).toBe(201);
    const queryId = (created.json as Row).id;
    const waiting = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: queryId } });
      return x.error ? x : null;
    }, { what: 'the first refusal to be recorded' });
    expect(waiting.error).toMatch(/allowed to query/);
    expect(waiting.error).not.toContain(mrn);
    const shown = await call(api.getQuery, { id: queryId }, { token });
    expect(shown.text).toMatch(/allowed to query/);

    // The coordinator stops it; the PACS admin registers our query AE; the coordinator runs it again.
    expect((await call(api.cancelQuery, { id: queryId }, { token })).status).toBe(200);
    const cancelled = await db.queryItem.findFirstOrThrow({ where: { queryId } });
    expect(cancelled.status).toBe('CANCELLED');
    const put = await orthancRest(`${orthanc.httpUrl}/modalities/TRIB_Q`, 'PUT', Buffer.from(JSON.stringify({ AET: q.aeTitle, Host: '127.0.0.1', Port: worker.scpPort })));
    expect(put.status).toBe(200);
    const retried = await call(api.retryQuery, { id: queryId }, { token });
    expect(retried.status, retried.text).toBe(202);
    expect(retried.json).toMatchObject({ rows: 1 });
    const done = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: queryId }, include: { items: true, results: true } });
      return x.status === 'DONE' || x.status === 'FAILED' ? x : null;
    }, { what: 'the retried query to end' });
    expect(done.status).toBe('DONE');
    expect(done.items[0].status).toBe('DONE');
    expect(done.results.map((x) => x.studyInstanceUid)).toEqual([corpus.patients[0].studies[0].studyInstanceUid]);
    // Nothing left to run again.
    expect((await call(api.retryQuery, { id: queryId }, { token })).status).toBe(409);
  });
});
