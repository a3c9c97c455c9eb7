/**
 * OHIF under /viewer (app/viewer/[[...path]]/route.ts) against the real database: the page needs
 * a session (else sign-in with the way back), the configuration names exactly the pool's DICOMweb
 * root and no credential, static files come with their types and never from outside dist/, and
 * the DICOMweb OHIF then calls accepts the same session cookie for a member only — what the
 * viewer shows a non-member is the 404 of every read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET } from '@/app/viewer/[[...path]]/route';
import { db } from '@/lib/db';
import { dicomwebRoot } from '@/lib/dicomweb/route';
import { ohifDistDir } from '@/lib/viewers/ohif-serve';
import { generateCorpus } from '@/lib/synthetic';
import { sessionCookie } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';
import { dw, fillPool } from './helpers';

const installed = fs.existsSync(path.join(ohifDistDir(), 'index.html'));

function get(pathname: string, cookie?: string) {
  const url = new URL(pathname, 'http://localhost:3000');
  const segments = url.pathname.replace(/^\/viewer\/?/, '').split('/').filter(Boolean);
  return GET(new Request(url, { headers: cookie ? { cookie } : {} }), { params: Promise.resolve({ path: segments.length ? segments : undefined }) });
}

let poolId: string;
let otherPoolId: string;
let member: string;
let outsider: string;
let studyUid: string;
let memberId: string;

beforeAll(async () => {
  const m = await makeUser('RESEARCHER');
  const o = await makeUser('RESEARCHER');
  const pool = await makePool({ members: [{ userId: m.id, role: 'RESEARCHER' }] });
  const other = await makePool({ members: [{ userId: o.id, role: 'OWNER' }] });
  poolId = pool.id;
  otherPoolId = other.id;
  await fillPool(pool, generateCorpus({ seed: 313, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 2 }).instances);
  studyUid = (await db.study.findFirstOrThrow({ where: { poolId } })).studyInstanceUid;
  member = await sessionCookie(m.id);
  memberId = m.id;
  outsider = await sessionCookie(o.id);
});

describe.runIf(installed)('/viewer', () => {
  it('sends a visitor without a session to sign in, and back to the viewer afterwards', async () => {
    const res = await get(`/viewer/${poolId}/viewer?StudyInstanceUIDs=${studyUid}`);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.pathname).toBe('/signin');
    expect(to.searchParams.get('callbackUrl')).toBe(`/viewer/${poolId}/viewer?StudyInstanceUIDs=${studyUid}`);
    expect((await get(`/viewer/${poolId}/app-config.js`)).status).toBe(404);
  });

  it('serves the rewritten page with a CSP to a signed-in user', async () => {
    const res = await get(`/viewer/${poolId}/viewer?StudyInstanceUIDs=${studyUid}`, member);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("'wasm-unsafe-eval'");
    const html = await res.text();
    expect(html).toContain('window.PUBLIC_URL="/viewer/"');
    expect(html).toContain(`/viewer/${poolId}/app-config.js`);
  });

  it('configures one data source, the pool root, without any credential', async () => {
    const res = await get(`/viewer/${poolId}/app-config.js`, member);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    const js = await res.text();
    const config = JSON.parse(js.slice(js.indexOf('{'), js.lastIndexOf('}') + 1)) as { routerBasename: string; dataSources: { configuration: Record<string, string> }[] };
    expect(config.routerBasename).toBe(`/viewer/${poolId}`);
    expect(config.dataSources).toHaveLength(1);
    expect(config.dataSources[0].configuration.qidoRoot).toBe(dicomwebRoot(poolId));
    expect(config.dataSources[0].configuration.friendlyName).toContain('Pool ');
    expect(js).not.toMatch(/trb_|trbv_|bearer|authorization|next-auth/i);
    // A pool the user may not read: the same shape, without its name.
    const other = await (await get(`/viewer/${otherPoolId}/app-config.js`, member)).text();
    expect(other).toContain(dicomwebRoot(otherPoolId));
    const otherName = (await db.pool.findUniqueOrThrow({ where: { id: otherPoolId } })).name;
    expect(other).not.toContain(otherName);
  });

  it('serves static files with their types and nothing outside dist/', async () => {
    const bundle = fs.readdirSync(ohifDistDir()).find((f) => /^app\.bundle\.[0-9a-f]+\.js$/.test(f))!;
    const js = await get(`/viewer/${bundle}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const wasm = fs.readdirSync(ohifDistDir()).find((f) => f.endsWith('.wasm'))!;
    expect((await get(`/viewer/${wasm}`)).headers.get('content-type')).toBe('application/wasm');
    for (const p of ['/viewer/..%2f..%2fpackage.json', '/viewer/app-config.js', '/viewer/index.html', '/viewer/sw.js', '/viewer/nope.js', `/viewer/${poolId}/app.bundle.js`]) {
      expect((await get(p, member)).status, p).toBe(404);
    }
    const traversal = await GET(new Request('http://localhost:3000/viewer/x'), { params: Promise.resolve({ path: ['..', '..', 'package.json'] }) });
    expect(traversal.status).toBe(404);
  });

  it('lets the session cookie read the pool over DICOMweb for a member only', async () => {
    const ok = await dw('GET', `/dicomweb/${poolId}/studies/${studyUid}/series`, { headers: { cookie: member } });
    expect(ok.status).toBe(200);
    const meta = await dw('GET', `/dicomweb/${poolId}/studies/${studyUid}/metadata`, { headers: { cookie: member } });
    expect(meta.status).toBe(200);
    expect(await meta.text()).toContain('BulkDataURI');
    for (const url of [`/dicomweb/${poolId}/studies?StudyInstanceUID=${studyUid}`, `/dicomweb/${poolId}/studies/${studyUid}/metadata`]) {
      const res = await dw('GET', url, { headers: { cookie: outsider } });
      expect(res.status, url).toBe(404);
      expect(await res.text()).not.toContain(studyUid);
    }
  });

  it('stops serving images to a member removed from the pool, with the same session', async () => {
    const url = `/dicomweb/${poolId}/studies/${studyUid}/series`;
    expect((await dw('GET', url, { headers: { cookie: member } })).status).toBe(200);
    await db.poolMember.delete({ where: { poolId_userId: { poolId, userId: memberId } } });
    expect((await dw('GET', url, { headers: { cookie: member } })).status).toBe(404);
    expect((await dw('GET', `/dicomweb/${poolId}/studies/${studyUid}/metadata`, { headers: { cookie: member } })).status).toBe(404);
  });
});
