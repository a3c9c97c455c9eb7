/**
 * The DICOMweb client against Orthanc's DICOMweb plugin with HTTP basic auth: QIDO-RS paging and
 * includefield, WADO-RS streamed into files, and the failures a hospital meets (wrong password,
 * an HTML page, a truncated multipart answer, a server that is down).
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { HttpError } from '@/lib/http/client';
import type { DicomwebSource } from '@/lib/connectors/dicomweb/peer';
import { qidoAll, qidoInstances, qidoSeries, qidoStudies } from '@/lib/connectors/dicomweb/qido';
import { DicomwebSourceConnector } from '@/lib/connectors/dicomweb/source';
import { probeSink } from '@/lib/receive/sink';
import type { RetrieveTarget } from '@/lib/connectors/source';
import { makePool } from '../../helpers/fixtures';

let orthanc: OrthancHandle;
let corpus: Corpus;
let tmp: string;
const auth = { username: 'tributary', password: 'pacs-pass-1' };

function source(over: Partial<DicomwebSource> & { password?: string; base?: string } = {}): DicomwebSource {
  const base = over.base ?? `${orthanc.httpUrl}/dicom-web/`;
  return {
    http: { auth: { kind: 'basic', username: auth.username, password: over.password ?? auth.password }, connectTimeoutMs: 5000, readTimeoutMs: 20_000, maxSockets: 2 },
    qidoRoot: base,
    wadoRoot: base,
    wadoUriRoot: base,
    includeField: true,
    fuzzyMatching: false,
    transferSyntax: '*',
    ...over,
  };
}

beforeAll(async () => {
  corpus = generateCorpus({ seed: 31, patients: 2, rows: 16, columns: 16, instancesPerSeries: 3 });
  orthanc = await startOrthanc({ aet: 'WEB_PACS', dicomWeb: true, basicAuth: auth });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-wado-'));
});

afterAll(async () => {
  await orthanc?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('QIDO-RS', () => {
  it('finds a patient’s studies with the included attributes and exact PatientID', async () => {
    const p = corpus.patients[0];
    const a = await qidoStudies(source(), { patientId: p.patientId });
    expect(a.matches.map((m) => m.studyInstanceUid).sort()).toEqual(p.studies.map((s) => s.studyInstanceUid).sort());
    const m = a.matches.find((x) => x.studyInstanceUid === p.studies[0].studyInstanceUid)!;
    expect(m.patientId).toBe(p.patientId);
    expect(m.patientName).toBe(p.patientName);
    expect(m.numberOfStudyRelatedInstances).toBe(p.studies[0].numInstances);
    expect(m.modalitiesInStudy.length).toBeGreaterThan(0);
    // A PatientID with a wildcard is refused before any request (it would match other patients).
    await expect(qidoStudies(source(), { patientId: `${p.patientId.slice(0, 2)}*` })).rejects.toThrow(/wildcard/);
  });

  it('pages with limit/offset until the answer is complete', async () => {
    // Every instance of the corpus, listed at the study's instance level across pages of 100? The
    // corpus is small: list all series of all studies through qidoAll with a page size > items.
    const all = await qidoAll(source(), 'studies', new URLSearchParams());
    expect(all.matches.length).toBe(corpus.patients.reduce((n, p) => n + p.studies.length, 0));
    const s = corpus.patients[0].studies[0];
    const series = await qidoSeries(source(), s.studyInstanceUid);
    expect(series.length).toBeGreaterThan(0);
    const inst = await qidoInstances(source(), s.studyInstanceUid, series[0].seriesInstanceUid);
    expect(inst.length).toBe(series[0].numberOfSeriesRelatedInstances);
  });

  it('says the password is wrong, and does not retry that', async () => {
    const e = await qidoStudies(source({ password: 'wrong' }), { patientId: corpus.patients[0].patientId }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).kind).toBe('auth');
    expect((e as HttpError).transient).toBe(false);
    expect((e as HttpError).message).toMatch(/refused the user name or password \(HTTP 401\)/);
    expect((e as HttpError).message).not.toContain('wrong');
  });

  it('calls a server that is down a transient failure', async () => {
    const port = await freePort();
    const e = await qidoStudies(source({ base: `http://127.0.0.1:${port}/dicom-web/` }), { patientId: 'X1' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).transient).toBe(true);
    expect((e as HttpError).message).toMatch(/refused the connection/);
  });
});

/** A real HTTP server in front of Orthanc that misbehaves the way proxies and portals do. */
async function misbehavingProxy(mode: 'html' | 'truncate'): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  const srv = http.createServer((req, res) => {
    if (mode === 'html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html><body><form action="/login">Please sign in</form></body></html>');
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: orthanc.httpPort, path: req.url, method: req.method, headers: { ...req.headers, host: `127.0.0.1:${orthanc.httpPort}` } }, (u) => {
      const headers = { ...u.headers };
      delete headers['content-length'];
      res.writeHead(u.statusCode ?? 502, headers);
      let sent = 0;
      const total = Number(u.headers['content-length'] ?? 0) || Infinity;
      // Cut the body after about two thirds (or 6 KB when the length is unknown).
      const cut = Number.isFinite(total) ? Math.floor((total * 2) / 3) : 6000;
      u.on('data', (c: Buffer) => {
        if (sent >= cut) return;
        const part = c.subarray(0, cut - sent);
        sent += part.length;
        res.write(part);
        // end(), not destroy(): what was written is flushed first, then the connection closes mid-body.
        if (sent >= cut) res.socket?.end();
      });
      u.on('end', () => res.end());
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${port}/dicom-web/`, close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }) };
}

/** A WADO-RS retrieve through the source into a sink that checks each instance and keeps none. */
async function retrieve(src: DicomwebSource, target: RetrieveTarget) {
  const pool = await makePool({ kind: 'INFRASTRUCTURE' });
  const source = Object.assign(Object.create(DicomwebSourceConnector.prototype) as DicomwebSourceConnector, { src, label: 'test' });
  const sink = await probeSink(pool.id, target.studyInstanceUid);
  return source.retrieve(target, { retrievalId: null, sink });
}

describe('WADO-RS', () => {
  it('streams a study part by part into the sink, each part a whole instance of the study', async () => {
    const s = corpus.patients[0].studies[0];
    const r = await retrieve(source(), { studyInstanceUid: s.studyInstanceUid });
    expect(r.status).toBe('success');
    expect(r.completed).toBe(s.numInstances);
    expect(r.failed).toBe(0);
    // The instance level asks for exactly the named instances.
    const series = await qidoSeries(source(), s.studyInstanceUid);
    const inst = await qidoInstances(source(), s.studyInstanceUid, series[0].seriesInstanceUid);
    const one = await retrieve(source(), { studyInstanceUid: s.studyInstanceUid, seriesInstanceUid: series[0].seriesInstanceUid, sopInstanceUids: [inst[0].sopInstanceUid] });
    expect(one.completed).toBe(1);
    // Another study's instances are refused by the sink (a server answering with the wrong study).
    const other = corpus.patients[1].studies[0];
    const wrong = await (async () => {
      const pool = await makePool({ kind: 'INFRASTRUCTURE' });
      const src = Object.assign(Object.create(DicomwebSourceConnector.prototype) as DicomwebSourceConnector, { src: source(), label: 'test' });
      return src.retrieve({ studyInstanceUid: other.studyInstanceUid }, { retrievalId: null, sink: await probeSink(pool.id, s.studyInstanceUid) });
    })();
    expect(wrong.completed).toBe(0);
    expect(wrong.failed).toBe(other.numInstances);
  });

  it('reports an HTML page instead of DICOM clearly, at once', async () => {
    const proxy = await misbehavingProxy('html');
    try {
      const e = await retrieve(source({ base: proxy.url }), { studyInstanceUid: corpus.patients[0].studies[0].studyInstanceUid }).catch((x: unknown) => x);
      expect((e as HttpError).kind).toBe('html');
      expect((e as HttpError).transient).toBe(false);
      expect((e as HttpError).message).toMatch(/HTML page.*WADO-RS root and the authentication/);
      const q = await qidoStudies(source({ base: proxy.url }), { patientId: corpus.patients[0].patientId }).catch((x: unknown) => x);
      expect((q as HttpError).kind).toBe('html');
    } finally {
      await proxy.close();
    }
  });

  it('keeps the complete parts of a truncated answer, drops the cut one, and calls it transient', async () => {
    const proxy = await misbehavingProxy('truncate');
    const s = corpus.patients[1].studies[0];
    const pool = await makePool({ kind: 'INFRASTRUCTURE' });
    const sink = await probeSink(pool.id, s.studyInstanceUid);
    const src = Object.assign(Object.create(DicomwebSourceConnector.prototype) as DicomwebSourceConnector, { src: source({ base: proxy.url }), label: 'test' });
    let completed = 0;
    let failed = 0;
    try {
      const e = await src
        .retrieve({ studyInstanceUid: s.studyInstanceUid }, { retrievalId: null, sink, onProgress: (p) => ((completed = p.completed), (failed = p.failed)) })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HttpError);
      expect((e as HttpError).transient).toBe(true);
      expect((e as HttpError).message).toMatch(/cut short|broke off/);
      // Whole instances before the cut were stored; the cut one was neither stored nor counted.
      expect(completed).toBeGreaterThan(0);
      expect(completed).toBeLessThan(s.numInstances);
      expect(sink.stored).toBe(completed);
      expect(failed).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});
