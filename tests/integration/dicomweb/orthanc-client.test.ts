/**
 * Orthanc's DICOMweb plugin as an independent client: a private Orthanc is told about the pool's
 * DICOMweb root (with a pool-scoped bearer token in its HttpHeaders), reached over real HTTP
 * through a small server in front of the route handlers. It queries over QIDO-RS and pulls
 * studies and series over WADO-RS; it must end up holding them with the pool's research UIDs
 * and byte-identical files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '@/lib/auth/tokens';
import { readFile } from '@/lib/storage';
import { generateCorpus } from '@/lib/synthetic';
import { makePool, makeUser } from '../../helpers/fixtures';
import { orthancRest, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { fillPool, poolIndex, serveDicomweb } from './helpers';

let orthanc: OrthancHandle;
let server: Awaited<ReturnType<typeof serveDicomweb>>;
let poolId: string;

async function rest(path: string, body?: unknown) {
  const res = await orthancRest(`${orthanc.httpUrl}${path}`, body === undefined ? 'GET' : 'POST', body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
  return { status: res.status, body: res.body, json: () => JSON.parse(res.body.toString('utf8')) as unknown };
}

interface OrthancInstance {
  ID: string;
  MainDicomTags: { SOPInstanceUID: string };
}

async function orthancInstances(): Promise<Map<string, string>> {
  const list = (await rest('/instances?expand')).json() as OrthancInstance[];
  return new Map(list.map((i) => [i.MainDicomTags.SOPInstanceUID, i.ID]));
}

beforeAll(async () => {
  const u = await makeUser('RESEARCHER');
  const pool = await makePool({ members: [{ userId: u.id, role: 'RESEARCHER' }] });
  poolId = pool.id;
  await fillPool(pool, generateCorpus({ seed: 31, patients: 2, rows: 16, columns: 16, instancesPerSeries: 2 }).instances);
  const token = (await createApiToken({ userId: u.id, name: 'orthanc', poolId: pool.id })).token;
  server = await serveDicomweb();
  orthanc = await startOrthanc({
    aet: 'DW_CLIENT',
    dicomWeb: true,
    config: { DicomWeb: { Enable: true, Root: '/dicom-web/', Servers: { trib: { Url: `${server.url}/dicomweb/${pool.id}/`, HttpHeaders: { Authorization: `Bearer ${token}` } } } } },
  });
});

afterAll(async () => {
  await orthanc?.stop();
  await server?.close();
});

describe('Orthanc (DICOMweb plugin) as a client of a pool', () => {
  it('finds the pool’s studies over QIDO-RS, with research identifiers only', async () => {
    const index = await poolIndex(poolId);
    const res = await rest('/dicom-web/servers/trib/get', { Uri: '/studies' });
    expect(res.status).toBe(200);
    const studies = res.json() as Record<string, { Value?: unknown[] }>[];
    expect(studies.map((s) => s['0020000D'].Value?.[0]).sort()).toEqual(index.map((s) => s.studyInstanceUid).sort());
    for (const s of studies) expect(String(s['00100020'].Value?.[0])).toMatch(/^TRB-/);
  });

  it('pulls a whole study over WADO-RS: same SOP Instance UIDs, byte-identical files', async () => {
    const [study] = await poolIndex(poolId);
    const res = await rest('/dicom-web/servers/trib/retrieve', { Resources: [{ Study: study.studyInstanceUid }] });
    expect(res.status).toBe(200);
    const held = await orthancInstances();
    const expected = study.series.flatMap((se) => se.instances);
    expect([...held.keys()].sort()).toEqual(expected.map((i) => i.sopInstanceUid).sort());
    for (const inst of expected) {
      const file = await rest(`/instances/${held.get(inst.sopInstanceUid)}/file`);
      expect(file.status).toBe(200);
      expect(file.body.equals(await readFile(inst.path)), `file of ${inst.sopInstanceUid}`).toBe(true);
    }
    expect(server.requests).toContain(`GET /dicomweb/${poolId}/studies/${study.studyInstanceUid}`);
  });

  it('pulls one series of another study', async () => {
    const index = await poolIndex(poolId);
    const study = index[1];
    const series = study.series[0];
    const res = await rest('/dicom-web/servers/trib/retrieve', { Resources: [{ Study: study.studyInstanceUid, Series: series.seriesInstanceUid }] });
    expect(res.status).toBe(200);
    const held = await orthancInstances();
    for (const inst of series.instances) expect(held.has(inst.sopInstanceUid)).toBe(true);
    for (const inst of study.series[1].instances) expect(held.has(inst.sopInstanceUid)).toBe(false);
  });
});
