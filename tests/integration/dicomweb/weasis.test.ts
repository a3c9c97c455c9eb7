/**
 * Weasis launches through the REST API: the manifest of a study or a selection validates against
 * manifest.xsd, is served gzip by default (text/xml with noGzip), once, for a few minutes; its
 * httpTag token opens the WADO-URI instances it lists and nothing else; the $dicom:rs link's token
 * (in a header argument) reaches those studies' DICOMweb only.
 */
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db, type Pool } from '@/lib/db';
import { key, redis } from '@/lib/redis';
import { readFile } from '@/lib/storage';
import { generateCorpus } from '@/lib/synthetic';
import { decodeWeasisUrl, type WeasisLaunch } from '@/lib/viewers/weasis';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';
import { validateManifest } from '../../unit/viewers/xmllint';
import { bodyOf, dw, fillPool, poolIndex } from './helpers';

let pool: Pool;
let token: string;
let scopedToken: string;
let index: Awaited<ReturnType<typeof poolIndex>>;

async function launch(studyIds: string[], t = token, extra: { rsLink?: boolean } = {}) {
  const res = await call(api.createWeasisLaunch, { id: pool.id }, { token: t, body: { studyIds, ...extra } });
  return { status: res.status, launch: res.json as WeasisLaunch };
}

async function fetchManifest(url: string, query: Record<string, string> = {}) {
  const manifestId = url.split('/').pop()!;
  return call(api.getWeasisManifest, { manifestId }, { query });
}

function manifestFields(xml: string) {
  return {
    baseUrl: /baseUrl="([^"]+)"/.exec(xml)![1],
    auth: /<httpTag key="Authorization" value="Bearer ([^"]+)"\/>/.exec(xml)![1],
    studies: [...xml.matchAll(/StudyInstanceUID="([^"]+)"/g)].map((m) => m[1]),
    series: [...xml.matchAll(/<Series SeriesInstanceUID="([^"]+)"/g)].map((m) => m[1]),
    instances: [...xml.matchAll(/<Instance SOPInstanceUID="([^"]+)"/g)].map((m) => m[1]),
  };
}

beforeAll(async () => {
  const u = await makeUser('RESEARCHER');
  pool = await makePool({ members: [{ userId: u.id, role: 'RESEARCHER' }] });
  token = (await createApiToken({ userId: u.id, name: 'script' })).token;
  scopedToken = (await createApiToken({ userId: u.id, name: 'scoped', poolId: pool.id })).token;
  await fillPool(pool, generateCorpus({ seed: 71, patients: 2, rows: 16, columns: 16, instancesPerSeries: 2 }).instances);
  index = await poolIndex(pool.id);
});

describe('Weasis launch', () => {
  it('serves a single-use gzip manifest that validates against manifest.xsd and lists the study', async () => {
    const study = index[0];
    const { status, launch: l } = await launch([study.id]);
    expect(status).toBe(201);
    expect(l.manifestUrl).toMatch(/^http:\/\/localhost:3000\/api\/v1\/weasis\/manifests\/[A-Za-z0-9_-]{24}$/);
    expect(decodeWeasisUrl(l.weasisUrl)).toBe(`$dicom:get -w "${l.manifestUrl}"`);
    // The default launch puts no viewer token in any link (a link a browser opens stays in its
    // history): only the single-use manifest code. The $dicom:rs link is made only on request.
    expect(l.rsUrl).toBeNull();
    expect(JSON.stringify(l)).not.toContain('trbv_');
    const res = await fetchManifest(l.manifestUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-gzip');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-store, must-revalidate');
    const xml = gunzipSync(Buffer.from(res.text, 'latin1')).toString('utf8');
    const v = validateManifest(xml);
    expect(v.ok, v.output).toBe(true);
    const f = manifestFields(xml);
    expect(f.baseUrl).toBe(`http://localhost:3000/dicomweb/${pool.id}/wado`);
    expect(f.studies).toEqual([study.studyInstanceUid]);
    expect(f.instances.sort()).toEqual(study.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)).sort());
    expect(xml).toContain(`PatientID="${study.patientId}"`);
    // Single use: the second fetch finds nothing.
    expect((await fetchManifest(l.manifestUrl)).status).toBe(404);
  });

  it('opens the listed instances over WADO-URI with the httpTag token, and nothing beyond them', async () => {
    const [a, b] = index;
    const { launch: l } = await launch([a.id]);
    const xml = (await fetchManifest(l.manifestUrl, { noGzip: '' })).text;
    const f = manifestFields(xml);
    expect(f.auth).toMatch(/^trbv_/);
    expect(l.manifestUrl).not.toContain(f.auth);
    const se = a.series[0];
    const inst = se.instances[0];
    // What Weasis requests for each Instance: baseUrl + WADO-URI parameters, the httpTag as a header.
    const url = `${f.baseUrl}?requestType=WADO&studyUID=${a.studyInstanceUid}&seriesUID=${se.seriesInstanceUid}&objectUID=${inst.sopInstanceUid}&contentType=application%2Fdicom`;
    const ok = await dw('GET', url, { token: f.auth });
    expect(ok.status).toBe(200);
    expect((await bodyOf(ok)).equals(await readFile(inst.path))).toBe(true);
    const bInst = b.series[0].instances[0];
    const other = await dw('GET', `${f.baseUrl}?requestType=WADO&studyUID=${b.studyInstanceUid}&seriesUID=${b.series[0].seriesInstanceUid}&objectUID=${bInst.sopInstanceUid}&contentType=application%2Fdicom`, { token: f.auth });
    expect(other.status).toBe(404);
    // A viewer token is not an API token.
    expect((await call(api.getPool, { id: pool.id }, { token: f.auth })).status).toBe(401);
    // Read-only: no STOW with it.
    const stow = await dw('POST', `/dicomweb/${pool.id}/studies`, { token: f.auth, headers: { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' }, body: '--x--\r\n' });
    expect(stow.status).toBe(403);
  });

  it('serves text/xml with noGzip, 400 for a malformed id, 404 once expired', async () => {
    const { launch: l } = await launch([index[0].id]);
    const plain = await fetchManifest(l.manifestUrl, { noGzip: '' });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(plain.text.startsWith('<?xml')).toBe(true);
    expect((await call(api.getWeasisManifest, { manifestId: 'not a valid id' })).status).toBe(400);
    expect((await call(api.getWeasisManifest, { manifestId: 'A'.repeat(24) })).status).toBe(404);
    const again = await launch([index[0].id]);
    const id = again.launch.manifestUrl.split('/').pop()!;
    const ttl = await redis().ttl(key('weasis-manifest', id));
    expect(ttl).toBeGreaterThan(200);
    expect(ttl).toBeLessThanOrEqual(300);
    await redis().pexpire(key('weasis-manifest', id), 1);
    await new Promise((r) => setTimeout(r, 20));
    expect((await fetchManifest(again.launch.manifestUrl)).status).toBe(404);
  });

  it('launches a selection: one manifest for several studies, and an rs link whose token reaches only them', async () => {
    const chosen = index.slice(0, 2);
    const rest = index.slice(2);
    const { status, launch: l } = await launch(chosen.map((s) => s.id), scopedToken, { rsLink: true });
    expect(status).toBe(201);
    const xml = gunzipSync(Buffer.from((await fetchManifest(l.manifestUrl)).text, 'latin1')).toString('utf8');
    expect(validateManifest(xml).ok).toBe(true);
    expect(manifestFields(xml).studies.sort()).toEqual(chosen.map((s) => s.studyInstanceUid).sort());
    const cmd = decodeWeasisUrl(l.rsUrl!);
    const root = /--url "([^"]+)"/.exec(cmd)![1];
    const rsToken = /-H "Authorization: Bearer ([^"]+)"/.exec(cmd)![1];
    expect(root).toBe(`http://localhost:3000/dicomweb/${pool.id}`);
    expect([...cmd.matchAll(/-r "studyUID=([^"]+)"/g)].map((m) => m[1]).sort()).toEqual(chosen.map((s) => s.studyInstanceUid).sort());
    const studies = (await (await dw('GET', `${root}/studies`, { token: rsToken })).json()) as Record<string, { Value: string[] }>[];
    expect(studies.map((s) => s['0020000D'].Value[0]).sort()).toEqual(chosen.map((s) => s.studyInstanceUid).sort());
    for (const s of rest) expect((await dw('GET', `${root}/studies/${s.studyInstanceUid}/metadata`, { token: rsToken })).status).toBe(404);
    // Minted by an API token: it dies with it.
    await db.apiToken.updateMany({ where: { tokenHash: { not: '' }, name: 'scoped', poolId: pool.id }, data: { revokedAt: new Date() } });
    expect((await dw('GET', `${root}/studies`, { token: rsToken })).status).toBe(401);
  });

  it('refuses unknown or foreign study ids and audits launches with ids only', async () => {
    expect((await launch(['nope'])).status).toBe(404);
    expect((await launch([])).status).toBe(422);
    const other = await makePool();
    const res = await call(api.createWeasisLaunch, { id: other.id }, { token, body: { studyIds: [index[0].id] } });
    expect(res.status).toBe(404);
    const events = await db.auditEvent.findMany({ where: { poolId: pool.id, action: { in: ['study.viewer-launch', 'viewer.manifest-fetch'] } } });
    expect(events.filter((e) => e.action === 'study.viewer-launch').map((e) => e.targetId)).toContain(index[0].id);
    expect(events.some((e) => e.action === 'viewer.manifest-fetch')).toBe(true);
    const text = JSON.stringify(events);
    for (const s of index) expect(text).not.toContain(s.studyInstanceUid);
    expect(text).not.toContain('trbv_');
  });
});
