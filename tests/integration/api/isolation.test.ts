/**
 * Pool isolation, enumerated: every endpoint of the contract, every way a member of pool A can
 * call (researcher, coordinator, owner, a token scoped to A), aimed at pool B's resources, twice:
 *
 *   1. with pool B's id (or B's query, retrieval, token… for /<segment>/{id} paths) in the path:
 *      the pool check answers;
 *   2. with pool A's id in the path — where the caller IS a member, so the pool check passes —
 *      and B's studies, series, instances, quarantined instances, lookup tables, rule versions,
 *      members… as the other path parameters, or B's ids in the body or query. Here only the
 *      handler's own scoping (e.g. `where: { id, poolId }`) keeps B out.
 *
 * Nothing of pool B may come back (no names, ids, counts), and nothing of B may change. The list
 * cannot go stale: the test fails when an endpoint has a path parameter the world has no pool-B
 * sample for (a sample that exists in B and not in A), when a body or query schema carries ids
 * (`studyIds`, `ids`, `…Id`) and the world has no pool-A call naming B's rows for it, or when a
 * `/<segment>/{id}` path has no B resource. The contract test (contract.test.ts) makes sure no
 * route file escapes the contract.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Endpoint } from '@/lib/api/contract';
import { db } from '@/lib/db';
import { call, type CallResult } from '../../helpers/api';
import { buildIsolationWorld, idKeys, pathParams, resourceSegment, type IsolationWorld } from './isolation-world';

let w: IsolationWorld;

/** Path values aiming at pool B: `{id}` is the B resource its first segment names. */
function paramsInB(ep: Endpoint): Record<string, string> {
  const p = { ...w.params };
  const seg = resourceSegment(ep);
  if (seg) p.id = w.resourcesB[seg];
  return p;
}

beforeAll(async () => {
  w = await buildIsolationWorld();
});

afterAll(async () => {
  for (const c of w?.cleanups ?? []) await c();
});

/** Multipart endpoints get their sample as form fields; File values are sent as files. */
function formOf(sample: unknown): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries((sample ?? {}) as Record<string, unknown>)) form.set(k, v instanceof File ? v : String(v));
  return form;
}

function expectNothingOfB(res: CallResult, what: string, sent: string[] = []) {
  for (const m of w.markers) {
    if (sent.some((s) => s.includes(m))) continue; // an answer may repeat the caller's own input
    expect(res.text.includes(m), `${what} (${res.status}) reveals pool B (${m})`).toBe(false);
  }
}

const endpoints = Object.entries(api).filter(([, ep]) => ep.access !== 'public') as [string, Endpoint][];

/** Pool-scoped endpoints whose path names something inside the pool besides the pool itself. */
const subIdEndpoints = endpoints.filter(([, ep]) => ep.access.startsWith('pool:') && pathParams(ep).some((p) => p !== 'id'));
/** Endpoints in /pools/{id} whose body or query can carry ids of rows (studies, instances…). */
const idInputEndpoints = endpoints.filter(([, ep]) => ep.path.startsWith('/pools/{id}') && idKeys(ep.body).length + idKeys(ep.query).length > 0);
const crossEndpoints = [...new Map([...subIdEndpoints, ...idInputEndpoints].map(([n, ep]) => [n, ep])).entries()];

describe('the isolation world covers every endpoint', () => {
  it('has a sample body for every endpoint that takes one', () => {
    for (const [name, ep] of endpoints) if (ep.body) expect(w.bodies[name], `sample body for ${name}`).toBeDefined();
  });

  it('has a pool-B resource for every /<segment>/{id} path', () => {
    for (const [name, ep] of endpoints) {
      const seg = resourceSegment(ep);
      if (seg) expect(w.resourcesB[seg], `no pool-B resource for /${seg}/{id} (${name}): add it to resourcesB`).toBeDefined();
    }
  });

  it('has, for every path parameter naming something inside a pool, a sample that is in pool B and not in pool A', async () => {
    expect(subIdEndpoints.length).toBeGreaterThan(5);
    for (const [name, ep] of subIdEndpoints) {
      expect(ep.path.startsWith('/pools/{id}/'), `${name}: the isolation test only knows how to put pool A's id in /pools/{id} paths`).toBe(true);
      for (const p of pathParams(ep).filter((x) => x !== 'id')) {
        const inPool = w.subIds[p];
        expect(inPool, `${name}: no pool-B sample for {${p}} (add subIds.${p} to an isolation-world file)`).toBeDefined();
        expect(await inPool(w.poolB.id), `${name}: the sample for {${p}} is not in pool B`).toBe(true);
        expect(await inPool(w.poolA.id), `${name}: the sample for {${p}} is also in pool A`).toBe(false);
      }
    }
  });

  it('has a pool-A call naming B’s rows for every endpoint whose body or query carries ids', () => {
    expect(idInputEndpoints.map(([n]) => n)).toEqual(expect.arrayContaining(['downloadStudies', 'createWeasisLaunch', 'decideQuarantine']));
    for (const [name, ep] of idInputEndpoints) {
      const keys = [...idKeys(ep.body), ...idKeys(ep.query)];
      expect(w.crossInputs[name], `${name} takes ${keys.join(', ')}: add crossInputs.${name} (B's ids, sent in pool A)`).toBeDefined();
    }
  });
});

describe('a member of pool A gets nothing of pool B (B in the path)', () => {
  for (const [name, ep] of endpoints) {
    it(`${ep.method.toUpperCase()} ${ep.path} (${name}, ${ep.access})`, async () => {
      for (const [who, token] of Object.entries(w.tokens)) {
        const res = await call(ep, paramsInB(ep), ep.multipart ? { token, form: formOf(w.bodies[name]) } : { token, body: w.bodies[name] });
        expectNothingOfB(res, `${who}: response of ${name}`);
        const aimsAtB = ep.path.includes('{') || (w.bodies[name] as { poolId?: string } | undefined)?.poolId === w.poolB.id || name === 'retrieveQuery';
        if (ep.access === 'admin' || aimsAtB) expect([403, 404], `${who}: ${name} answered ${res.status}`).toContain(res.status);
        else expect(res.status, `${who}: ${name}`).toBeLessThan(500);
      }
    });
  }
});

describe('a member of pool A, in pool A, naming pool B’s rows gets nothing of them', () => {
  for (const [name, ep] of crossEndpoints) {
    it(`${ep.method.toUpperCase()} ${ep.path} (${name}) in pool A with B’s ${[...pathParams(ep).filter((p) => p !== 'id'), ...idKeys(ep.body), ...idKeys(ep.query)].join(', ')}`, async () => {
      const cross = w.crossInputs[name] ?? {};
      if (cross.exempt) {
        expect(cross.exempt.length, `${name}: say why it is exempt`).toBeGreaterThan(20);
        return;
      }
      const params = { ...w.params, id: w.poolA.id };
      const body = cross.body ?? w.bodies[name];
      const sent = [...Object.values(params), ...Object.values(cross.query ?? {}), JSON.stringify(body ?? null)];
      for (const [who, token] of Object.entries(w.tokens)) {
        const res = await call(ep, params, ep.multipart ? { token, form: formOf(body), query: cross.query } : { token, body, query: cross.query });
        expectNothingOfB(res, `${who}: ${name} in pool A`, sent);
        if (cross.answer) cross.answer(res, who);
        else expect([403, 404], `${who}: ${name} in pool A with B's rows answered ${res.status}`).toContain(res.status);
      }
    });
  }
});

describe('afterwards', () => {
  it('left pool B exactly as it was', async () => {
    const b = await db.pool.findUniqueOrThrow({ where: { id: w.poolB.id }, include: { members: true, _count: { select: { studies: true, queries: true } } } });
    expect(b.name).toBe(w.poolB.name);
    expect(b.members.map((m) => m.role).sort()).toEqual(['COORDINATOR', 'OWNER']);
    expect(b._count).toEqual({ studies: 1, queries: 1 });
    expect(await db.instance.count({ where: { poolId: w.poolB.id } })).toBe(1);
    expect((await db.query.findUniqueOrThrow({ where: { id: w.queryB } })).status).toBe('DONE');
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: w.retrievalB } })).state).toBe('FAILED');
    expect(await db.apiToken.count({ where: { poolId: w.poolB.id } })).toBe(0);
    // Nothing of B was viewed, downloaded or launched, not even from pool A.
    expect(await db.auditEvent.count({ where: { targetId: { in: [w.ids.studyB, w.ids.instanceB, w.ids.seriesB] } } })).toBe(0);
    for (const check of w.checks) await check();
  });
});
