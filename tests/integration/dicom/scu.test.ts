/**
 * SCU against a real peer: a private Orthanc loaded with the synthetic corpus, and our SCP as
 * the C-MOVE destination. No socket mocks.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScp, type RunningScp, type StoredInfo } from '@/lib/dicom/scp';
import { DicomNetworkError, echo, findInstances, findSeries, findStudies, findStudiesMany, findStudiesManyViaDcmjs, move, type DicomPeer } from '@/lib/dicom/scu';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

const QUERY_AE = 'TRIB_Q';
const RECEIVE_AE = 'TRIB_RX';

let orthanc: OrthancHandle;
let scp: RunningScp;
let peer: DicomPeer;
let corpus: Corpus;
let staging: string;
const stored: StoredInfo[] = [];

beforeAll(async () => {
  staging = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-scu-test-'));
  scp = await startScp({
    port: 0,
    hooks: {
      resolveCalledAe: async (ae) => (ae === RECEIVE_AE ? { id: 'pool-rx', stagingDir: staging } : null),
      isCallingAeAllowed: async () => true,
      onStored: async (info) => void stored.push(info),
    },
  });
  orthanc = await startOrthanc({
    verbose: true,
    modalities: {
      query: [QUERY_AE, '127.0.0.1', 1],
      receiver: [RECEIVE_AE, '127.0.0.1', scp.port],
    },
  });
  corpus = generateCorpus();
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  peer = { aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort };
});

afterAll(async () => {
  await orthanc?.stop();
  await scp?.close();
  fs.rmSync(staging, { recursive: true, force: true });
});

async function expectDicomError(p: Promise<unknown>, reason: DicomNetworkError['reason'], message: RegExp) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DicomNetworkError);
  expect((err as DicomNetworkError).reason).toBe(reason);
  expect((err as Error).message).toMatch(message);
}

describe('C-ECHO', () => {
  it('answers from Orthanc', async () => {
    const r = await echo(peer, QUERY_AE);
    expect(r.ok).toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  it('reports a closed port as refused, with host and port', async () => {
    const port = await freePort();
    await expectDicomError(echo({ aeTitle: 'PACS', host: '127.0.0.1', port }, QUERY_AE), 'refused', new RegExp(`Connection refused by 127\\.0\\.0\\.1:${port}`));
  });

  it('reports a peer that accepts TCP but never answers as a timeout', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      await expectDicomError(echo({ aeTitle: 'PACS', host: '127.0.0.1', port }, QUERY_AE, { connectTimeoutMs: 400 }), 'timeout', /did not answer|within/);
    } finally {
      silent.close();
    }
  });
});

describe('C-FIND', () => {
  it('finds the studies of a leading-zero MRN, with every requested key', async () => {
    const p = corpus.patients[0];
    expect(p.patientId.startsWith('00')).toBe(true);
    const matches = await findStudies(peer, QUERY_AE, { patientId: p.patientId });
    expect(matches.map((m) => m.studyInstanceUid).sort()).toEqual(p.studies.map((s) => s.studyInstanceUid).sort());
    const m = matches.find((x) => x.studyInstanceUid === p.studies[0].studyInstanceUid)!;
    expect(m).toMatchObject({
      patientId: p.patientId,
      patientName: p.patientName,
      patientBirthDate: p.birthDate,
      studyDate: p.studies[0].studyDate,
      accessionNumber: p.studies[0].accessionNumber,
      studyDescription: p.studies[0].description,
      modalitiesInStudy: [p.studies[0].modality],
      numberOfStudyRelatedSeries: 2,
      numberOfStudyRelatedInstances: 6,
    });
    expect(m.studyTime).toMatch(/^\d{6}/);
  });

  it('matches the MRN as a string: without its leading zeros it finds nothing', async () => {
    const p = corpus.patients[0];
    expect(await findStudies(peer, QUERY_AE, { patientId: p.patientId.replace(/^0+/, '') })).toEqual([]);
  });

  it('narrows by accession number, modality, date range and description', async () => {
    const p = corpus.patients[0];
    const [a, b] = p.studies;
    expect((await findStudies(peer, QUERY_AE, { patientId: p.patientId, accessionNumber: b.accessionNumber })).map((m) => m.studyInstanceUid)).toEqual([
      b.studyInstanceUid,
    ]);
    expect((await findStudies(peer, QUERY_AE, { patientId: p.patientId, modality: b.modality })).map((m) => m.studyInstanceUid)).toEqual([b.studyInstanceUid]);
    expect(a.studyDate).not.toBe(b.studyDate);
    expect(
      (await findStudies(peer, QUERY_AE, { patientId: p.patientId, studyDateFrom: a.studyDate, studyDateTo: a.studyDate })).map((m) => m.studyInstanceUid),
    ).toEqual([a.studyInstanceUid]);
    const word = a.description.split(' ')[1];
    const byDescription = await findStudies(peer, QUERY_AE, { patientId: p.patientId, studyDescription: word });
    expect(byDescription.map((m) => m.studyInstanceUid)).toContain(a.studyInstanceUid);
  });

  it('decodes a non-ASCII name according to the character set of the response (Latin-1 here)', async () => {
    const p = corpus.patients[1];
    expect(p.patientName).toMatch(/[^\x00-\x7f]/);
    const [m] = await findStudies(peer, QUERY_AE, { patientId: p.patientId });
    expect(m.patientName).toBe(p.patientName);
  });

  it('decodes the same name from a PACS answering in UTF-8 (ISO_IR 192)', async () => {
    const utf8 = await startOrthanc({ defaultEncoding: 'Utf8', modalities: { query: [QUERY_AE, '127.0.0.1', 1] } });
    try {
      const p = corpus.patients[1];
      await utf8.uploadFiles(corpus.instances.filter((i) => i.patientId === p.patientId).map((i) => i.buffer));
      const [m] = await findStudies({ aeTitle: utf8.aet, host: '127.0.0.1', port: utf8.dicomPort }, QUERY_AE, { patientId: p.patientId });
      expect(m.patientName).toBe(p.patientName);
    } finally {
      await utf8.stop();
    }
  });

  it('runs 50 queries over ONE association; a bad row fails alone', async () => {
    const before = await orthanc.countAssociations();
    const queries = Array.from({ length: 50 }, (_, i) => ({ patientId: corpus.patients[i % corpus.patients.length].patientId }));
    queries[7] = { patientId: '00*' }; // wildcard MRN: refused locally, never sent
    const seen: number[] = [];
    const results = await findStudiesMany(peer, QUERY_AE, queries, { onResult: (i) => seen.push(i) });
    const after = await orthanc.countAssociations();
    expect(after - before).toBe(1);
    expect(seen.sort((x, y) => x - y)).toEqual(queries.map((_, i) => i));
    expect(results[7]).toBeInstanceOf(Error);
    expect((results[7] as Error).message).toMatch(/wildcards/);
    results.forEach((r, i) => {
      if (i === 7) return;
      const p = corpus.patients[i % corpus.patients.length];
      expect(r, `row ${i}`).not.toBeInstanceOf(Error);
      expect((r as { studyInstanceUid: string }[]).map((m) => m.studyInstanceUid).sort()).toEqual(p.studies.map((s) => s.studyInstanceUid).sort());
    });
  });

  it('answers every query exactly as the dcmjs-dimse path did (names in Latin-1 and UTF-8 included)', async () => {
    const queries = corpus.patients.map((p) => ({ patientId: p.patientId }));
    queries.push({ patientId: corpus.patients[1].patientId, studyDescription: 'Ünïcödé' } as (typeof queries)[number]);
    const ours = await findStudiesMany(peer, QUERY_AE, queries);
    const theirs = await findStudiesManyViaDcmjs(peer, QUERY_AE, queries);
    expect(ours).toEqual(theirs);
    expect(ours.flat().length).toBeGreaterThan(corpus.patients.length);
    expect(ours.flat().some((m) => /[^\x00-\x7f]/.test((m as { patientName: string }).patientName))).toBe(true);
    const utf8 = await startOrthanc({ defaultEncoding: 'Utf8', modalities: { query: [QUERY_AE, '127.0.0.1', 1] } });
    try {
      await utf8.uploadFiles(corpus.instances.slice(0, 40).map((i) => i.buffer));
      const u = { aeTitle: utf8.aet, host: '127.0.0.1', port: utf8.dicomPort };
      expect(await findStudiesMany(u, QUERY_AE, queries)).toEqual(await findStudiesManyViaDcmjs(u, QUERY_AE, queries));
    } finally {
      await utf8.stop();
    }
  });

  it('classifies a refused port, a silent peer and a peer that hangs up as before', async () => {
    const port = await freePort();
    await expectDicomError(findStudies({ aeTitle: 'PACS', host: '127.0.0.1', port }, QUERY_AE, { patientId: 'X' }), 'refused', new RegExp(`Connection refused by 127\\.0\\.0\\.1:${port}`));
    await expect(findStudiesMany({ aeTitle: 'PACS', host: '127.0.0.1', port }, QUERY_AE, [{ patientId: 'X' }])).rejects.toMatchObject({ reason: 'refused' });
    const silent = net.createServer(() => undefined);
    const hangUp = net.createServer((s) => s.destroy());
    await Promise.all([silent, hangUp].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
    const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port;
    try {
      await expectDicomError(findStudies({ aeTitle: 'PACS', host: '127.0.0.1', port: portOf(silent) }, QUERY_AE, { patientId: 'X' }, { connectTimeoutMs: 400 }), 'timeout', /did not answer/);
      await expectDicomError(findStudies({ aeTitle: 'PACS', host: '127.0.0.1', port: portOf(hangUp) }, QUERY_AE, { patientId: 'X' }), 'aborted', /without answering the association request/);
    } finally {
      silent.close();
      hangUp.close();
    }
  });

  it('explains a PACS that does not let this AE query', async () => {
    await expectDicomError(findStudies(peer, 'STRANGER', { patientId: corpus.patients[0].patientId }), 'aborted', /STRANGER.*allowed to query/);
  });

  it('lists series and instances', async () => {
    const study = corpus.patients[0].studies[0];
    const series = await findSeries(peer, QUERY_AE, study.studyInstanceUid);
    const expected = corpus.instances.filter((i) => i.studyInstanceUid === study.studyInstanceUid);
    expect(series.map((s) => s.seriesInstanceUid).sort()).toEqual([...new Set(expected.map((i) => i.seriesInstanceUid))].sort());
    expect(series.every((s) => s.modality === study.modality && s.numberOfSeriesRelatedInstances === 3)).toBe(true);
    expect(series.map((s) => s.seriesNumber).sort()).toEqual([1, 2]);
    const instances = await findInstances(peer, QUERY_AE, study.studyInstanceUid, series[0].seriesInstanceUid);
    expect(instances.map((i) => i.sopInstanceUid).sort()).toEqual(
      expected.filter((i) => i.seriesInstanceUid === series[0].seriesInstanceUid).map((i) => i.sopInstanceUid).sort(),
    );
    expect(instances.map((i) => i.instanceNumber).sort()).toEqual([1, 2, 3]);
    expect(new Set(instances.map((i) => i.sopClassUid)).size).toBe(1);
  });
});

describe('C-MOVE into our SCP', () => {
  const files = () => {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else out.push(path.join(d, e.name));
      }
    };
    walk(staging);
    return out;
  };

  it('moves a whole study, with progress, files in <staging>/<study>/<sop>.dcm and the move originator', async () => {
    stored.length = 0;
    const study = corpus.patients[0].studies[1];
    const progress: number[] = [];
    const r = await move(peer, QUERY_AE, RECEIVE_AE, { studyInstanceUid: study.studyInstanceUid }, { onProgress: (p) => progress.push(p.completed) });
    expect(r).toMatchObject({ status: 'success', completed: 6, failed: 0, warnings: 0, remaining: 0 });
    expect(progress.length).toBeGreaterThan(0);
    expect(stored).toHaveLength(6);
    for (const s of stored) {
      expect(s.path).toBe(path.join(staging, study.studyInstanceUid, `${s.sopInstanceUid}.dcm`));
      expect(s.studyInstanceUid).toBe(study.studyInstanceUid);
      expect(s.poolId).toBe('pool-rx');
      expect(s.calledAe).toBe(RECEIVE_AE);
      expect(s.callingAe).toBe(orthanc.aet);
      expect(s.moveOriginatorAe).toBe(QUERY_AE);
      expect(typeof s.moveOriginatorMessageId).toBe('number');
      expect(fs.statSync(s.path).size).toBe(s.size);
    }
    expect(files().filter((f) => f.includes(study.studyInstanceUid))).toHaveLength(6);
    expect(fs.readdirSync(path.join(staging, '.incoming'))).toEqual([]);
  });

  it('moves one series, one instance, and a list of instances', async () => {
    const study = corpus.patients[2].studies[0];
    const inStudy = corpus.instances.filter((i) => i.studyInstanceUid === study.studyInstanceUid);
    const seriesUid = inStudy[0].seriesInstanceUid;
    const inSeries = inStudy.filter((i) => i.seriesInstanceUid === seriesUid);

    stored.length = 0;
    expect(await move(peer, QUERY_AE, RECEIVE_AE, { studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: seriesUid })).toMatchObject({
      status: 'success',
      completed: 3,
    });
    expect(stored.map((s) => s.sopInstanceUid).sort()).toEqual(inSeries.map((i) => i.sopInstanceUid).sort());

    stored.length = 0;
    const one = inSeries[1].sopInstanceUid;
    expect(await move(peer, QUERY_AE, RECEIVE_AE, { studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: seriesUid, sopInstanceUids: [one] })).toMatchObject({
      status: 'success',
      completed: 1,
    });
    expect(stored.map((s) => s.sopInstanceUid)).toEqual([one]);

    stored.length = 0;
    const two = [inSeries[0].sopInstanceUid, inSeries[2].sopInstanceUid];
    expect(await move(peer, QUERY_AE, RECEIVE_AE, { studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: seriesUid, sopInstanceUids: two })).toMatchObject({
      status: 'success',
      completed: 2,
    });
    expect(stored.map((s) => s.sopInstanceUid).sort()).toEqual([...two].sort());
  });

  it('cancels a running move with an AbortSignal (C-CANCEL)', async () => {
    const big = generateCorpus({ seed: 99, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 150, rows: 8, columns: 8 });
    await orthanc.uploadFiles(big.instances.map((i) => i.buffer));
    const ac = new AbortController();
    stored.length = 0;
    const r = await move(
      peer,
      QUERY_AE,
      RECEIVE_AE,
      { studyInstanceUid: big.patients[0].studies[0].studyInstanceUid },
      { signal: ac.signal, onProgress: (p) => p.completed >= 10 && ac.abort() },
    );
    expect(r.status).toBe('cancelled');
    expect(r.completed).toBeGreaterThanOrEqual(10);
    expect(r.completed).toBeLessThan(150);
    expect(r.remaining).toBeGreaterThan(0);
  });

  it('returns a failure status (not a throw) for a destination the PACS does not know', async () => {
    const r = await move(peer, QUERY_AE, 'NOBODY', { studyInstanceUid: corpus.patients[0].studies[0].studyInstanceUid });
    // Orthanc 1.10 answers 0xC000 here; other PACS use 0xA801 (move destination unknown).
    expect(r.status).toBe('failure');
    expect(r.dimseStatus === 0xa801 || (r.dimseStatus & 0xf000) === 0xc000).toBe(true);
    expect(r.completed).toBe(0);
  });
});
