/**
 * Pool isolation, enumerated: every endpoint of the contract, every way a member of pool A can
 * call (researcher, coordinator, owner, a token scoped to A), aimed at pool B's resources.
 * Nothing of pool B may come back (no names, ids, counts), and nothing of B may change.
 * The contract test (contract.test.ts) makes sure no route file escapes this list.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, type Endpoint } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { storageRoot } from '@/lib/storage';
import { call } from '../../helpers/api';
import { makeConnector, makePool, makeUser, suffix } from '../../helpers/fixtures';

import type { IsolationWorld, WorldExtension } from './isolation-world';

type World = IsolationWorld;
let w: World;

// Each capability adds its own pool-B resources, path parameters, sample bodies and markers in
// tests/integration/api/isolation-world.<capability>.ts (export default a WorldExtension).
const extensions = Object.values(import.meta.glob<{ default: WorldExtension }>('./isolation-world.*.ts', { eager: true })).map((m) => m.default);

async function buildWorld(): Promise<World> {
  const s = suffix();
  const [ownerA, coordA, researcherA, ownerB, coordB] = await Promise.all([
    makeUser('RESEARCHER'),
    makeUser('COORDINATOR'),
    makeUser('RESEARCHER'),
    makeUser('RESEARCHER'),
    makeUser('COORDINATOR'),
  ]);
  const poolA = await makePool({ members: [{ userId: ownerA.id, role: 'OWNER' }, { userId: coordA.id, role: 'COORDINATOR' }, { userId: researcherA.id, role: 'RESEARCHER' }] });
  const poolB = await makePool({ members: [{ userId: ownerB.id, role: 'OWNER' }, { userId: coordB.id, role: 'COORDINATOR' }] });
  await db.pool.update({ where: { id: poolB.id }, data: { name: `Secret B ${s}`, description: `B-DESCRIPTION-${s}` } });
  const { connector, device } = await makeConnector({ pacsAe: 'ISO_PACS', port: 1 });

  // Pool B's index: a study with a file on disk.
  const study = await db.study.create({ data: { poolId: poolB.id, studyInstanceUid: `2.25.9${Date.now()}1`, patientId: `RB-MARKER-${s}`, patientName: `RB-NAME-${s}`, studyDescription: `B-STUDY-${s}` } });
  const series = await db.series.create({ data: { poolId: poolB.id, studyId: study.id, seriesInstanceUid: `2.25.9${Date.now()}2`, modality: 'CT' } });
  const rel = path.join('pools', poolB.id, 'x.dcm');
  await fs.mkdir(path.join(storageRoot(), 'pools', poolB.id), { recursive: true });
  await fs.writeFile(path.join(storageRoot(), rel), Buffer.concat([Buffer.alloc(128), Buffer.from(`DICM B-FILE-${s}`)]));
  const instance = await db.instance.create({
    data: { poolId: poolB.id, seriesId: series.id, sopInstanceUid: `2.25.9${Date.now()}3`, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', path: rel, size: 150, ruleVersion: 1 },
  });
  // Pool B's query, result and retrieval (PHI of B's coordinator).
  const query = await db.query.create({
    data: { poolId: poolB.id, connectorId: connector.id, createdById: coordB.id, status: 'DONE', items: { create: { rowNumber: 1, patientId: `MRN-B-${s}`, status: 'DONE', resultCount: 1 } } },
    include: { items: true },
  });
  const result = await db.queryResult.create({ data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid: `1.2.3.${Date.now()}`, patientId: `MRN-B-${s}`, patientName: `SECRET^B${s}` } });
  const retrieval = await db.retrieval.create({ data: { queryId: query.id, resultId: result.id, poolId: poolB.id, connectorId: connector.id, studyInstanceUid: result.studyInstanceUid, state: 'FAILED', lastError: `B-ERROR-${s}` } });
  const tokenB = await createApiToken({ userId: ownerB.id, name: `B token ${s}` });

  const tokens: Record<string, string> = {
    'researcher of A': (await createApiToken({ userId: researcherA.id, name: 'a' })).token,
    'coordinator of A': (await createApiToken({ userId: coordA.id, name: 'a' })).token,
    'owner of A': (await createApiToken({ userId: ownerA.id, name: 'a' })).token,
    'token scoped to A (owner)': (await createApiToken({ userId: ownerA.id, name: 'a', poolId: poolA.id })).token,
  };
  const params = {
    id: poolB.id,
    studyId: study.id,
    instanceId: instance.id,
    userId: ownerB.id,
    queue: 'find',
    jobId: 'nothing',
  };
  const bodies: Record<string, unknown> = {
    createUser: { email: `x${s}@t.local`, name: 'X', role: 'ADMIN', password: 'long enough password' },
    updateUser: { role: 'ADMIN' },
    createToken: { name: 'steal', poolId: poolB.id },
    createDevice: { name: `d${s}`, aeTitle: 'X', host: 'h', port: 104 },
    updateDevice: { name: `d2${s}` },
    createPool: { name: `p${s}`, aeTitle: `P${s}` },
    updatePool: { name: `hijacked ${s}` },
    setPoolMembers: { members: [{ userId: researcherA.id, role: 'OWNER' }] },
    createConnector: { name: `c${s}`, deviceId: device.id, queryPoolId: poolA.id, receivingPoolId: poolB.id },
    updateConnector: { name: `c2${s}`, deviceId: device.id, queryPoolId: poolA.id, receivingPoolId: poolB.id },
    createQuery: { poolId: poolB.id, connectorId: connector.id, items: [{ patientId: '12345' }] },
    retrieveQuery: { studyInstanceUids: [result.studyInstanceUid] },
  };
  const base: World = {
    ids: { poolA: poolA.id, poolB: poolB.id, ownerA: ownerA.id, coordA: coordA.id, researcherA: researcherA.id, ownerB: ownerB.id, coordB: coordB.id, connector: connector.id, device: device.id, studyB: study.id, seriesB: series.id, instanceB: instance.id, queryB: query.id, retrievalB: retrieval.id },
    params,
    tokens,
    bodies,
    markers: [poolB.id, `Secret B ${s}`, poolB.aeTitle, `B-DESCRIPTION-${s}`, `RB-MARKER-${s}`, `RB-NAME-${s}`, `B-STUDY-${s}`, study.id, instance.id, study.studyInstanceUid, `B-FILE-${s}`, `MRN-B-${s}`, `SECRET^B${s}`, `B-ERROR-${s}`, query.id, retrieval.id, tokenB.prefix],
    poolB: { id: poolB.id, name: `Secret B ${s}` },
    queryB: query.id,
    retrievalB: retrieval.id,
    checks: [],
  };
  for (const ext of extensions) {
    const more = await ext(base);
    Object.assign(base.params, more.params ?? {});
    Object.assign(base.bodies, more.bodies ?? {});
    base.markers.push(...(more.markers ?? []));
    if (more.check) base.checks.push(more.check);
  }
  return base;
}

function paramsFor(ep: Endpoint): Record<string, string> {
  // {id} means the resource named by the path's first segment.
  const p = { ...w.params };
  if (ep.path.startsWith('/queries/')) p.id = w.queryB;
  if (ep.path.startsWith('/retrievals/')) p.id = w.retrievalB;
  return p;
}

beforeAll(async () => {
  w = await buildWorld();
});

/** Multipart endpoints get their sample as form fields; File values are sent as files. */
function formOf(sample: unknown): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries((sample ?? {}) as Record<string, unknown>)) form.set(k, v instanceof File ? v : String(v));
  return form;
}

const endpoints = Object.entries(api).filter(([, ep]) => ep.access !== 'public') as [string, Endpoint][];

describe('a member of pool A gets nothing of pool B', () => {
  it('has a sample body for every endpoint that takes one (so new endpoints are covered)', () => {
    for (const [name, ep] of endpoints) if (ep.body) expect(w.bodies[name], `sample body for ${name}`).toBeDefined();
  });

  for (const [name, ep] of endpoints) {
    it(`${ep.method.toUpperCase()} ${ep.path} (${name}, ${ep.access})`, async () => {
      for (const [who, token] of Object.entries(w.tokens)) {
        const res = await call(ep, paramsFor(ep), ep.multipart ? { token, form: formOf(w.bodies[name]) } : { token, body: w.bodies[name] });
        for (const m of w.markers) expect(res.text.includes(m), `${who}: response of ${name} (${res.status}) reveals pool B (${m})`).toBe(false);
        const aimsAtB = ep.path.includes('{') || (w.bodies[name] as { poolId?: string } | undefined)?.poolId === w.poolB.id || name === 'retrieveQuery';
        if (ep.access === 'admin' || aimsAtB) expect([403, 404], `${who}: ${name} answered ${res.status}`).toContain(res.status);
        else expect(res.status, `${who}: ${name}`).toBeLessThan(500);
      }
    });
  }

  it('left pool B exactly as it was', async () => {
    const b = await db.pool.findUniqueOrThrow({ where: { id: w.poolB.id }, include: { members: true, _count: { select: { studies: true, queries: true } } } });
    expect(b.name).toBe(w.poolB.name);
    expect(b.members.map((m) => m.role).sort()).toEqual(['COORDINATOR', 'OWNER']);
    expect(b._count).toEqual({ studies: 1, queries: 1 });
    expect((await db.query.findUniqueOrThrow({ where: { id: w.queryB } })).status).toBe('DONE');
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: w.retrievalB } })).state).toBe('FAILED');
    expect(await db.apiToken.count({ where: { poolId: w.poolB.id } })).toBe(0);
    for (const check of w.checks) await check();
  });
});
