/**
 * Pool isolation over DICOMweb, enumerated from the route files under app/dicomweb (so a new
 * route cannot be forgotten): every way a member of pool A can call (researcher, coordinator,
 * owner, a token scoped to A, a viewer token for A) at every route and method,
 *   1. with pool B's id and B's UIDs: 403/404 and nothing of B;
 *   2. with pool A's id and B's UIDs (in the path and as query keys): 404 for a UID in the path,
 *      an answer without B for searches.
 * Every exported handler must also be built by lib/dicomweb/route.ts's wrapper, which is where
 * access is decided.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '@/lib/auth/tokens';
import { db, type Pool } from '@/lib/db';
import { DICOMWEB_ROUTE } from '@/lib/dicomweb/route';
import { createViewerToken } from '@/lib/dicomweb/viewer-tokens';
import { generateCorpus } from '@/lib/synthetic';
import { makePool, makeUser } from '../../helpers/fixtures';
import { bodyOf, dicomwebRoutes, dw, fillPool, poolIndex, type DwRoute } from './helpers';

let poolA: Pool;
let poolB: Pool;
const tokens: Record<string, string> = {};
let bIds: { study: string; series: string; instance: string };
let aStudies: string[];
let markers: string[];

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`no value for {${k}} in ${template}`);
    return encodeURIComponent(values[k]);
  });
}

function valuesFor(poolId: string) {
  return { poolId, study: bIds.study, series: bIds.series, instance: bIds.instance, frames: '1', tagPath: '7FE00010' };
}

const bQuery = () =>
  new URLSearchParams({
    StudyInstanceUID: bIds.study,
    SeriesInstanceUID: bIds.series,
    SOPInstanceUID: bIds.instance,
    requestType: 'WADO',
    studyUID: bIds.study,
    seriesUID: bIds.series,
    objectUID: bIds.instance,
    contentType: 'application/dicom',
  }).toString();

async function callRoute(route: DwRoute, method: string, poolId: string, token: string) {
  const url = `/dicomweb${fill(route.template, valuesFor(poolId))}?${bQuery()}`;
  const body = method === 'POST' ? new Uint8Array(Buffer.from('--x\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--x--\r\n')) : undefined;
  const res = await dw(method, url, {
    token,
    headers: { accept: '*/*', ...(body ? { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' } : {}) },
    body,
  });
  return { status: res.status, text: (await bodyOf(res)).toString('latin1'), headers: [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n') };
}

beforeAll(async () => {
  const [ownerA, coordA, researcherA, ownerB] = await Promise.all([makeUser('RESEARCHER'), makeUser('COORDINATOR'), makeUser('RESEARCHER'), makeUser('RESEARCHER')]);
  poolA = await makePool({ members: [{ userId: ownerA.id, role: 'OWNER' }, { userId: coordA.id, role: 'COORDINATOR' }, { userId: researcherA.id, role: 'RESEARCHER' }] });
  poolB = await makePool({ members: [{ userId: ownerB.id, role: 'OWNER' }] });
  const corpus = generateCorpus({ seed: 61, patients: 2, rows: 16, columns: 16, instancesPerSeries: 1, seriesPerStudy: 1 });
  const [pa, pb] = corpus.patients;
  await fillPool(poolA, corpus.instances.filter((i) => i.patientId === pa.patientId));
  await fillPool(poolB, corpus.instances.filter((i) => i.patientId === pb.patientId));
  const [b] = await poolIndex(poolB.id);
  bIds = { study: b.studyInstanceUid, series: b.series[0].seriesInstanceUid, instance: b.series[0].instances[0].sopInstanceUid };
  markers = [poolB.id, poolB.name, b.patientId, b.patientName, b.id, bIds.study, bIds.series, bIds.instance];
  aStudies = (await poolIndex(poolA.id)).map((s) => s.studyInstanceUid);
  tokens['researcher of A'] = (await createApiToken({ userId: researcherA.id, name: 'a' })).token;
  tokens['coordinator of A'] = (await createApiToken({ userId: coordA.id, name: 'a' })).token;
  tokens['owner of A'] = (await createApiToken({ userId: ownerA.id, name: 'a' })).token;
  tokens['token scoped to A (owner)'] = (await createApiToken({ userId: ownerA.id, name: 'a', poolId: poolA.id })).token;
  tokens['viewer token for A (owner)'] = (await createViewerToken({ userId: ownerA.id, poolId: poolA.id, studyUids: null, parentTokenId: null }, 600)).token;
});

describe('DICOMweb routes are enumerated and all go through the access wrapper', () => {
  it('finds the routes a viewer needs', async () => {
    const templates = (await dicomwebRoutes()).map((r) => r.template).sort();
    for (const t of [
      '/{poolId}/studies',
      '/{poolId}/series',
      '/{poolId}/instances',
      '/{poolId}/wado',
      '/{poolId}/studies/{study}',
      '/{poolId}/studies/{study}/metadata',
      '/{poolId}/studies/{study}/series/{series}/metadata',
      '/{poolId}/studies/{study}/series/{series}/instances/{instance}/frames/{frames}',
      '/{poolId}/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tagPath}',
    ]) {
      expect(templates).toContain(t);
    }
  });

  it('builds every exported handler with dicomweb() (or the preflight)', async () => {
    for (const r of await dicomwebRoutes()) {
      const methods = Object.keys(r.handlers);
      expect(methods.length, r.template).toBeGreaterThan(0);
      for (const [m, h] of Object.entries(r.handlers)) expect(h?.[DICOMWEB_ROUTE], `${m} ${r.template} is not built by lib/dicomweb/route.ts`).toBeDefined();
      expect(r.handlers.OPTIONS, `OPTIONS ${r.template}`).toBeDefined();
    }
  });
});

describe('a member of pool A gets nothing of pool B over DICOMweb', () => {
  it('routes with pool B’s id answer 403/404 without B data, for every caller of A', async () => {
    for (const route of await dicomwebRoutes()) {
      for (const method of Object.keys(route.handlers).filter((m) => m !== 'OPTIONS')) {
        for (const [who, token] of Object.entries(tokens)) {
          const res = await callRoute(route, method, poolB.id, token);
          expect([403, 404], `${who}: ${method} ${route.template} answered ${res.status}`).toContain(res.status);
          for (const m of markers) expect(res.text.includes(m) || res.headers.includes(m), `${who}: ${method} ${route.template} reveals ${m}`).toBe(false);
        }
      }
    }
  });

  it('routes with pool A’s id and B’s UIDs find nothing of B', async () => {
    for (const route of await dicomwebRoutes()) {
      const uidInPath = /\{(study|series|instance)\}/.test(route.template) || route.template.endsWith('/wado');
      for (const method of Object.keys(route.handlers).filter((m) => m !== 'OPTIONS')) {
        for (const [who, token] of Object.entries(tokens)) {
          const res = await callRoute(route, method, poolA.id, token);
          for (const m of markers) expect(res.text.includes(m) || res.headers.includes(m), `${who}: ${method} ${route.template} (pool A) reveals ${m}`).toBe(false);
          // STOW into A of an unreadable object: refused (403 for read-only callers, 409 none stored).
          if (method === 'POST') expect([403, 409], `${who}: ${method} ${route.template}`).toContain(res.status);
          else if (uidInPath) expect([403, 404], `${who}: ${method} ${route.template} answered ${res.status}`).toContain(res.status);
          else {
            expect(res.status, `${who}: ${method} ${route.template}`).toBe(200);
            expect(JSON.parse(res.text)).toEqual([]);
          }
        }
      }
    }
  });

  it('answers the preflight without data and asks unauthenticated callers for credentials', async () => {
    for (const route of await dicomwebRoutes()) {
      const pre = await dw('OPTIONS', `/dicomweb${fill(route.template, valuesFor(poolB.id))}`, { headers: { origin: 'https://evil.example' } });
      expect(pre.status).toBe(204);
      expect((await bodyOf(pre)).length).toBe(0);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      for (const method of Object.keys(route.handlers).filter((m) => m !== 'OPTIONS')) {
        const res = await callRoute(route, method, poolB.id, '');
        expect(res.status, `${method} ${route.template}`).toBe(401);
        for (const m of markers) expect(res.text.includes(m)).toBe(false);
      }
    }
  });

  it('keeps a viewer token to the studies it was made for', async () => {
    const [first, ...others] = aStudies;
    expect(others.length).toBeGreaterThan(0);
    const ownerA = await db.poolMember.findFirstOrThrow({ where: { poolId: poolA.id, role: 'OWNER' } });
    const { token } = await createViewerToken({ userId: ownerA.userId, poolId: poolA.id, studyUids: [first], parentTokenId: null }, 600);
    const list = await dw('GET', `/dicomweb/${poolA.id}/studies`, { token });
    expect(((await list.json()) as Record<string, { Value: string[] }>[]).map((s) => s['0020000D'].Value[0])).toEqual([first]);
    expect((await dw('GET', `/dicomweb/${poolA.id}/studies/${others[0]}/series`, { token })).status).toBe(404);
    expect((await dw('GET', `/dicomweb/${poolA.id}/studies/${others[0]}`, { token })).status).toBe(404);
    expect((await dw('GET', `/dicomweb/${poolA.id}/studies/${first}/series`, { token })).status).toBe(200);
    const instances = await dw('GET', `/dicomweb/${poolA.id}/instances`, { token });
    expect(((await instances.json()) as Record<string, { Value: string[] }>[]).every((s) => s['0020000D'].Value[0] === first)).toBe(true);
  });

  it('stops honouring a member removed from the pool at once', async () => {
    const researcher = await db.poolMember.findFirstOrThrow({ where: { poolId: poolA.id, role: 'RESEARCHER' } });
    const { token } = await createViewerToken({ userId: researcher.userId, poolId: poolA.id, studyUids: null, parentTokenId: null }, 600);
    expect((await dw('GET', `/dicomweb/${poolA.id}/studies`, { token })).status).toBe(200);
    await db.poolMember.delete({ where: { poolId_userId: { poolId: poolA.id, userId: researcher.userId } } });
    expect((await dw('GET', `/dicomweb/${poolA.id}/studies`, { token })).status).toBe(404);
    expect((await dw('GET', `/dicomweb/${poolA.id}/studies`, { token: tokens['researcher of A'] })).status).toBe(404);
  });

  it('left pool B as it was', async () => {
    expect(await db.instance.count({ where: { poolId: poolB.id } })).toBe(1);
    expect(await db.study.count({ where: { poolId: poolB.id } })).toBe(1);
  });
});
