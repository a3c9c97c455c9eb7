/**
 * QIDO-RS and WADO-RS/URI of a pool filled with real de-identified data, checked with parsers
 * that share nothing with the server: the multipart answers are split by tests/…/helpers.ts's own
 * RFC 2046 parser and every part is read with dcmjs; bytes are compared with the stored files.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { remapUid } from '@/lib/anonymize/engine';
import { createApiToken } from '@/lib/auth/tokens';
import { db, type Pool } from '@/lib/db';
import { readFile } from '@/lib/storage';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { makePool, makeUser } from '../../helpers/fixtures';
import { bodyOf, dw, fillPool, parseMultipart, poolIndex } from './helpers';
import { multiFrame, naturalize, pixelBuffers, readDicom, toJpegLs } from './objects';

type Json = Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string; InlineBinary?: string }>;

let pool: Pool;
let token: string;
let corpus: Corpus;
let index: Awaited<ReturnType<typeof poolIndex>>;
/** A study holding only Explicit VR LE instances, and the one our JPEG-LS objects went into. */
let nativeStudy: (typeof index)[number];
let mixedStudy: (typeof index)[number];
const ANY_TS = 'multipart/related; type="application/dicom"; transfer-syntax=*';
const FUZZY = 'The fuzzymatching parameter is not supported. Only literal matching has been performed.';

/** Research UIDs of objects we made ourselves (the pool remaps every UID). */
const made: Record<'mf' | 'jlsBot' | 'jlsNoBot' | 'jlsFragments', { sop: string; source: Buffer }> = {} as never;
let jlsReference: Buffer;

const get = (url: string, accept?: string) => dw('GET', url, { token, headers: accept ? { accept } : {} });
const json = async (url: string) => {
  const res = await get(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as Json[];
};
const v = (j: Json, tag: string) => j[tag]?.Value?.[0];

function instanceRow(sop: string) {
  for (const s of index) for (const se of s.series) for (const i of se.instances) if (i.sopInstanceUid === sop) return { study: s, series: se, instance: i };
  throw new Error(`no instance ${sop}`);
}
const instPath = (sop: string) => {
  const r = instanceRow(sop);
  return `/dicomweb/${pool.id}/studies/${r.study.studyInstanceUid}/series/${r.series.seriesInstanceUid}/instances/${sop}`;
};

beforeAll(async () => {
  const u = await makeUser('RESEARCHER');
  pool = await makePool({ members: [{ userId: u.id, role: 'RESEARCHER' }] });
  token = (await createApiToken({ userId: u.id, name: 'viewer', poolId: pool.id })).token;
  corpus = generateCorpus({ seed: 41, patients: 2, rows: 16, columns: 16, instancesPerSeries: 2 });
  const src = corpus.instances[0];
  const mf = multiFrame(src.buffer, { frames: 3, rows: 16, columns: 16, uidSuffix: '71' });
  const noisy = multiFrame(src.buffer, { frames: 2, rows: 96, columns: 96, uidSuffix: '74', noise: true });
  const objects = {
    mf,
    jlsBot: toJpegLs(multiFrame(src.buffer, { frames: 3, rows: 16, columns: 16, uidSuffix: '72' })),
    jlsNoBot: toJpegLs(multiFrame(src.buffer, { frames: 3, rows: 16, columns: 16, uidSuffix: '73' }), ['-ot']),
    jlsFragments: toJpegLs(noisy, ['-ot', '+fs', '1']),
  };
  jlsReference = toJpegLs(noisy);
  for (const [k, buf] of Object.entries(objects)) {
    const sop = String(readDicom(buf).dict['00080018'].Value![0]);
    made[k as keyof typeof made] = { sop: remapUid(sop, pool.secret), source: buf };
  }
  await fillPool(pool, [...corpus.instances, ...Object.values(objects).map((buffer) => ({ buffer, patientId: src.patientId }))]);
  index = await poolIndex(pool.id);
  const isNative = (x: (typeof index)[number]) => x.series.every((se) => se.instances.every((i) => i.transferSyntaxUid === '1.2.840.10008.1.2.1'));
  nativeStudy = index.find(isNative)!;
  mixedStudy = index.find((x) => !isNative(x))!;
});

describe('QIDO-RS', () => {
  it('lists studies with the required attributes, values from the de-identified index', async () => {
    const studies = await json(`/dicomweb/${pool.id}/studies`);
    expect(studies).toHaveLength(index.length);
    for (const s of index) {
      const j = studies.find((x) => v(x, '0020000D') === s.studyInstanceUid)!;
      expect(j, s.studyInstanceUid).toBeDefined();
      for (const tag of ['00080020', '00080030', '00080050', '00080061', '00080090', '00081190', '00100010', '00100020', '00100030', '00100040', '0020000D', '00200010', '00201206', '00201208']) {
        expect(j[tag], `study attribute ${tag}`).toBeDefined();
      }
      expect(v(j, '00100020')).toBe(s.patientId);
      expect(j['00100010'].Value?.[0]).toEqual({ Alphabetic: s.patientName });
      expect(v(j, '00080020')).toBe(s.studyDate);
      expect(v(j, '00201206')).toBe(s.numSeries);
      expect(v(j, '00201208')).toBe(s.numInstances);
      expect(j['00080061'].Value).toEqual(s.modalities.split('\\'));
      expect(v(j, '00081190')).toBe(`http://localhost:3000/dicomweb/${pool.id}/studies/${s.studyInstanceUid}`);
    }
    // No PHI of the corpus in the answer.
    const text = JSON.stringify(studies);
    for (const p of corpus.patients) expect(text).not.toContain(p.patientId);
  });

  it('pages with limit and offset', async () => {
    const all = await json(`/dicomweb/${pool.id}/studies`);
    const page = await json(`/dicomweb/${pool.id}/studies?limit=1&offset=1`);
    expect(page).toHaveLength(1);
    expect(v(page[0], '0020000D')).toBe(v(all[1], '0020000D'));
    expect(await json(`/dicomweb/${pool.id}/studies?offset=${all.length}`)).toEqual([]);
    expect((await get(`/dicomweb/${pool.id}/studies?limit=-1`)).status).toBe(400);
  });

  it('matches names with wildcards (case-insensitive), IDs, UID lists, date ranges and modalities', async () => {
    const s0 = index[0];
    const uids = (js: Json[]) => js.map((j) => v(j, '0020000D')).sort();
    expect(await json(`/dicomweb/${pool.id}/studies?PatientName=${encodeURIComponent(s0.patientName.toLowerCase().slice(0, 6))}*`)).toHaveLength(
      index.filter((s) => s.patientName.toLowerCase().startsWith(s0.patientName.toLowerCase().slice(0, 6))).length,
    );
    const byName = await json(`/dicomweb/${pool.id}/studies?00100010=${encodeURIComponent(s0.patientName)}`);
    expect(uids(byName)).toEqual(index.filter((s) => s.patientName === s0.patientName).map((s) => s.studyInstanceUid).sort());
    expect(await json(`/dicomweb/${pool.id}/studies?PatientName=NOBODY*`)).toEqual([]);
    expect(uids(await json(`/dicomweb/${pool.id}/studies?PatientID=${s0.patientId}`))).toEqual(index.filter((s) => s.patientId === s0.patientId).map((s) => s.studyInstanceUid).sort());
    const two = [index[0].studyInstanceUid, index[1].studyInstanceUid];
    expect(uids(await json(`/dicomweb/${pool.id}/studies?StudyInstanceUID=${two.join(',')}`))).toEqual([...two].sort());
    expect(uids(await json(`/dicomweb/${pool.id}/studies?StudyInstanceUID=${two[0]}&StudyInstanceUID=${two[1]}`))).toEqual([...two].sort());
    expect(uids(await json(`/dicomweb/${pool.id}/studies?StudyDate=${s0.studyDate}-${s0.studyDate}`))).toContain(s0.studyInstanceUid);
    expect(uids(await json(`/dicomweb/${pool.id}/studies?StudyDate=${s0.studyDate}`))).toContain(s0.studyInstanceUid);
    expect(await json(`/dicomweb/${pool.id}/studies?StudyDate=-18991231`)).toEqual([]);
    expect((await get(`/dicomweb/${pool.id}/studies?StudyDate=yesterday`)).status).toBe(400);
    const mr = await json(`/dicomweb/${pool.id}/studies?ModalitiesInStudy=MR`);
    expect(uids(mr)).toEqual(index.filter((s) => s.modalities.split('\\').includes('MR')).map((s) => s.studyInstanceUid).sort());
  });

  it('answers fuzzymatching=true with the standard warning and literal matching', async () => {
    const res = await get(`/dicomweb/${pool.id}/studies?fuzzymatching=true&PatientName=${encodeURIComponent(index[0].patientName)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('warning')).toContain(`299 http://localhost:3000/dicomweb/${pool.id}: ${FUZZY}`);
    expect(((await res.json()) as Json[]).length).toBeGreaterThan(0);
    expect((await get(`/dicomweb/${pool.id}/studies`)).headers.get('warning')).toBeNull();
  });

  it('lists a study’s series the way Weasis asks (tag includefield), and 404s an unknown study', async () => {
    const s = index[0];
    const series = await json(`/dicomweb/${pool.id}/studies/${s.studyInstanceUid}/series?includefield=0008103E,00080060,0020000E,00200011,00081190`);
    expect(series.map((j) => v(j, '0020000E')).sort()).toEqual(s.series.map((x) => x.seriesInstanceUid).sort());
    for (const j of series) {
      const row = s.series.find((x) => x.seriesInstanceUid === v(j, '0020000E'))!;
      expect(v(j, '00080060')).toBe(row.modality);
      expect(v(j, '00200011')).toBe(row.seriesNumber);
      expect(v(j, '00201209')).toBe(row.instances.length);
    }
    expect((await get(`/dicomweb/${pool.id}/studies/1.2.3.4/series`)).status).toBe(404);
    const all = await json(`/dicomweb/${pool.id}/series?Modality=CT`);
    expect(all.every((j) => v(j, '00080060') === 'CT' && v(j, '0020000D'))).toBe(true);
  });

  it('lists instances, with file attributes when includefield asks for them', async () => {
    const s = index[0];
    const se = s.series[0];
    const base = `/dicomweb/${pool.id}/studies/${s.studyInstanceUid}/series/${se.seriesInstanceUid}/instances`;
    const plain = await json(base);
    expect(plain.map((j) => v(j, '00080018')).sort()).toEqual(se.instances.map((i) => i.sopInstanceUid).sort());
    expect(plain[0]['00200032']).toBeUndefined();
    const bits = await json(`${base}?includefield=BitsAllocated`);
    expect(v(bits[0], '00280100')).toBe(16);
    const all = await json(`${base}?includefield=all`);
    expect(all[0]['00200032']?.Value).toHaveLength(3);
    expect(all[0]['7FE00010']?.BulkDataURI).toMatch(/\/bulkdata\/7FE00010$/);
    const inStudy = await json(`/dicomweb/${pool.id}/studies/${s.studyInstanceUid}/instances?SOPInstanceUID=${se.instances[0].sopInstanceUid}`);
    expect(inStudy).toHaveLength(1);
    expect(v(inStudy[0], '0020000E')).toBe(se.seriesInstanceUid);
  });
});

describe('WADO-RS retrieve', () => {
  it('streams a study as multipart/related application/dicom that dcmjs reads, byte-identical to the stored files', async () => {
    const s = index[0];
    const res = await get(`/dicomweb/${pool.id}/studies/${s.studyInstanceUid}`, ANY_TS);
    expect(res.status).toBe(200);
    const ct = res.headers.get('content-type')!;
    expect(ct).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    const parts = parseMultipart(ct, await bodyOf(res));
    const expected = s.series.flatMap((se) => se.instances);
    expect(parts).toHaveLength(expected.length);
    for (const p of parts) {
      expect(p.headers['content-type']).toMatch(/^application\/dicom; transfer-syntax=1\.2\.840\.10008\.1\.2/);
      const ds = naturalize(readDicom(p.body));
      const row = expected.find((i) => i.sopInstanceUid === ds.SOPInstanceUID);
      expect(row, String(ds.SOPInstanceUID)).toBeDefined();
      expect(ds.StudyInstanceUID).toBe(s.studyInstanceUid);
      expect(p.headers['content-location']).toMatch(new RegExp(`/instances/${row!.sopInstanceUid}$`));
      expect(p.body.equals(await readFile(row!.path))).toBe(true);
    }
  });

  it('serves series and instance, and a bare application/dicom for one instance when asked', async () => {
    const s = index[1];
    const se = s.series[1];
    const series = await get(`/dicomweb/${pool.id}/studies/${s.studyInstanceUid}/series/${se.seriesInstanceUid}`);
    expect(parseMultipart(series.headers.get('content-type')!, await bodyOf(series))).toHaveLength(se.instances.length);
    const one = se.instances[0];
    const url = `/dicomweb/${pool.id}/studies/${s.studyInstanceUid}/series/${se.seriesInstanceUid}/instances/${one.sopInstanceUid}`;
    const multi = await get(url, ANY_TS);
    expect(parseMultipart(multi.headers.get('content-type')!, await bodyOf(multi))[0].body.equals(await readFile(one.path))).toBe(true);
    const single = await get(url, 'application/dicom');
    expect(single.headers.get('content-type')).toMatch(/^application\/dicom/);
    expect((await bodyOf(single)).equals(await readFile(one.path))).toBe(true);
  });

  it('answers 406 when another transfer syntax or media type is demanded', async () => {
    const url = `/dicomweb/${pool.id}/studies/${nativeStudy.studyInstanceUid}`;
    const jpeg = await get(url, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50');
    expect(jpeg.status).toBe(406);
    expect(((await jpeg.json()) as { error: { message: string } }).error.message).toMatch(/stored transfer syntax/);
    expect(jpeg.headers.get('warning')).toMatch(/^299 tributary: /);
    expect((await get(url, 'application/zip')).status).toBe(406);
    expect((await get(url, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1')).status).toBe(200);
    // The study holding JPEG-LS instances cannot be served all in Explicit VR LE (no transcoding).
    expect((await get(`/dicomweb/${pool.id}/studies/${mixedStudy.studyInstanceUid}`, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1')).status).toBe(406);
    expect((await get(`/dicomweb/${pool.id}/studies/${mixedStudy.studyInstanceUid}`, ANY_TS)).status).toBe(200);
    expect((await get(`/dicomweb/${pool.id}/studies`, 'application/dicom+xml')).status).toBe(406);
  });
});

describe('WADO-RS metadata, bulk data and frames', () => {
  it('gives metadata whose BulkDataURI resolves to the pixel data dcmjs reads', async () => {
    const s = nativeStudy;
    const se = s.series[0];
    const res = await get(`/dicomweb/${pool.id}/studies/${s.studyInstanceUid}/series/${se.seriesInstanceUid}/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/dicom\+json/);
    const md = (await res.json()) as Json[];
    expect(md).toHaveLength(se.instances.length);
    for (const j of md) {
      const row = se.instances.find((i) => i.sopInstanceUid === v(j, '00080018'))!;
      const file = await readFile(row.path);
      const ds = naturalize(readDicom(file));
      expect(v(j, '00280010')).toBe(ds.Rows);
      expect(v(j, '00100020')).toBe(ds.PatientID);
      expect(v(j, '00083002')).toBe(row.transferSyntaxUid);
      const uri = j['7FE00010'].BulkDataURI!;
      expect(uri).toBe(`http://localhost:3000${instPath(row.sopInstanceUid)}/bulkdata/7FE00010`);
      const bulk = await get(uri, 'multipart/related; type="application/octet-stream"');
      expect(bulk.status).toBe(200);
      const [part] = parseMultipart(bulk.headers.get('content-type')!, await bodyOf(bulk));
      expect(part.body.equals(pixelBuffers(file)[0])).toBe(true);
      const single = await get(uri, 'application/octet-stream');
      expect((await bodyOf(single)).equals(pixelBuffers(file)[0])).toBe(true);
    }
    expect(JSON.stringify(md)).not.toContain(corpus.patients[1].patientId);
  });

  it('resolves a nested BulkDataURI or answers 404 for a path that names nothing', async () => {
    const sop = made.mf.sop;
    expect((await get(`${instPath(sop)}/bulkdata/00091234`)).status).toBe(404);
    expect((await get(`${instPath(sop)}/bulkdata/nonsense`)).status).toBe(400);
  });

  it('cuts frames out of native multi-frame pixel data', async () => {
    const { sop } = made.mf;
    const file = await readFile(instanceRow(sop).instance.path);
    const pixels = pixelBuffers(file)[0];
    const size = 16 * 16 * 2;
    const two = await get(`${instPath(sop)}/frames/2`, 'multipart/related; type="application/octet-stream"');
    expect(two.status).toBe(200);
    const [p2] = parseMultipart(two.headers.get('content-type')!, await bodyOf(two));
    expect(p2.headers['content-type']).toBe('application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
    expect(p2.body.equals(pixels.subarray(size, 2 * size))).toBe(true);
    const both = await get(`${instPath(sop)}/frames/1,3`, 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
    const parts = parseMultipart(both.headers.get('content-type')!, await bodyOf(both));
    expect(parts.map((p) => p.body.equals(pixels.subarray(0, size)) || p.body.equals(pixels.subarray(2 * size, 3 * size)))).toEqual([true, true]);
    expect(parts[0].body.equals(parts[1].body)).toBe(false);
    expect((await get(`${instPath(sop)}/frames/4`)).status).toBe(404);
    expect((await get(`${instPath(sop)}/frames/x`)).status).toBe(400);
    expect((await get(`${instPath(sop)}/frames/1`, 'multipart/related; type="image/jls"')).status).toBe(406);
  });

  it('serves JPEG-LS frames as image/jls fragments, with or without an offset table, split or not', async () => {
    for (const key of ['jlsBot', 'jlsNoBot', 'jlsFragments'] as const) {
      const { sop, source } = made[key];
      const frames = pixelBuffers(key === 'jlsFragments' ? jlsReference : source);
      const n = frames.length;
      expect(n).toBeGreaterThan(1);
      const list = Array.from({ length: n }, (_, i) => i + 1).join(',');
      const res = await get(`${instPath(sop)}/frames/${list}`, 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
      expect(res.status, key).toBe(200);
      const parts = parseMultipart(res.headers.get('content-type')!, await bodyOf(res));
      expect(parts).toHaveLength(n);
      parts.forEach((p, i) => {
        expect(p.headers['content-type']).toBe('image/jls; transfer-syntax=1.2.840.10008.1.2.4.80');
        expect(p.body.equals(frames[i]), `${key} frame ${i + 1}`).toBe(true);
      });
      // Without transfer-syntax=* a client asking for uncompressed octets cannot be served.
      expect((await get(`${instPath(sop)}/frames/1`, 'multipart/related; type="application/octet-stream"')).status).toBe(406);
      expect((await get(`${instPath(sop)}/frames/1`, 'multipart/related; type="image/jls"')).status).toBe(200);
    }
  });
});

describe('WADO-URI', () => {
  it('returns the stored file for requestType=WADO with contentType=application/dicom', async () => {
    const s = index[0];
    const se = s.series[0];
    const i = se.instances[0];
    const q = `requestType=WADO&studyUID=${s.studyInstanceUid}&seriesUID=${se.seriesInstanceUid}&objectUID=${i.sopInstanceUid}`;
    const ok = await get(`/dicomweb/${pool.id}/wado?${q}&contentType=application%2Fdicom`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/dicom');
    expect((await bodyOf(ok)).equals(await readFile(i.path))).toBe(true);
    expect((await get(`/dicomweb/${pool.id}/wado?${q}&contentType=application/dicom&transferSyntax=*`)).status).toBe(200);
    expect((await get(`/dicomweb/${pool.id}/wado?requestType=WADO&objectUID=${i.sopInstanceUid}&contentType=application/dicom`)).status).toBe(200);
    expect((await get(`/dicomweb/${pool.id}/wado?${q}`)).status).toBe(406);
    expect((await get(`/dicomweb/${pool.id}/wado?${q}&contentType=image/jpeg`)).status).toBe(406);
    expect((await get(`/dicomweb/${pool.id}/wado?${q}&contentType=application/dicom&transferSyntax=1.2.840.10008.1.2.4.50`)).status).toBe(406);
    expect((await get(`/dicomweb/${pool.id}/wado?studyUID=${s.studyInstanceUid}&objectUID=${i.sopInstanceUid}&contentType=application/dicom`)).status).toBe(400);
    const wrongStudy = `requestType=WADO&studyUID=${index[1].studyInstanceUid}&objectUID=${i.sopInstanceUid}&contentType=application/dicom`;
    expect((await get(`/dicomweb/${pool.id}/wado?${wrongStudy}`)).status).toBe(404);
  });
});

describe('audit', () => {
  it('records reads with ids only, once per user, study and kind in a window', async () => {
    const events = await db.auditEvent.findMany({ where: { poolId: pool.id } });
    expect(events.some((e) => e.action === 'study.download' && (e.detail as { via?: string })?.via === 'dicomweb')).toBe(true);
    expect(events.some((e) => e.action === 'pool.view')).toBe(true);
    const text = JSON.stringify(events);
    for (const s of index) expect(text).not.toContain(s.studyInstanceUid);
    const keys = events.filter((e) => e.action === 'study.download').map((e) => `${e.targetId}:${(e.detail as { kind: string }).kind}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
