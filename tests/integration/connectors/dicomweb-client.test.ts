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
import { wadoRetrieve, type FetchedInstance } from '@/lib/connectors/dicomweb/wado';

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

describe('WADO-RS', () => {
  it('streams a study into one file per instance, each a Part-10 file of the study', async () => {
    const s = corpus.patients[0].studies[0];
    const got: FetchedInstance[] = [];
    const dir = await fs.mkdtemp(path.join(tmp, 's-'));
    const n = await wadoRetrieve(source(), { studyInstanceUid: s.studyInstanceUid }, dir, {
      onInstance: async (i) => {
        got.push(i);
      },
    });
    expect(n).toBe(s.numInstances);
    expect(new Set(got.map((g) => g.sopInstanceUid)).size).toBe(s.numInstances);
    for (const g of got) {
      expect(g.studyInstanceUid).toBe(s.studyInstanceUid);
      const bytes = await fs.readFile(g.path);
      expect(bytes.subarray(128, 132).toString('latin1')).toBe('DICM');
      expect(bytes.length).toBe(g.size);
    }
    // The instance level asks for exactly the named instances.
    const series = await qidoSeries(source(), s.studyInstanceUid);
    const inst = await qidoInstances(source(), s.studyInstanceUid, series[0].seriesInstanceUid);
    const one: FetchedInstance[] = [];
    await wadoRetrieve(source(), { studyInstanceUid: s.studyInstanceUid, seriesInstanceUid: series[0].seriesInstanceUid, sopInstanceUids: [inst[0].sopInstanceUid] }, dir, {
      onInstance: async (i) => {
        one.push(i);
      },
    });
    expect(one.map((i) => i.sopInstanceUid)).toEqual([inst[0].sopInstanceUid]);
  });

  it('reports an HTML page instead of DICOM clearly, at once', async () => {
    const proxy = await misbehavingProxy('html');
    try {
      const e = await wadoRetrieve(source({ base: proxy.url }), { studyInstanceUid: corpus.patients[0].studies[0].studyInstanceUid }, tmp, { onInstance: async () => undefined }).catch((x: unknown) => x);
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
    const dir = await fs.mkdtemp(path.join(tmp, 't-'));
    const got: FetchedInstance[] = [];
    try {
      const e = await wadoRetrieve(source({ base: proxy.url }), { studyInstanceUid: s.studyInstanceUid }, dir, {
        onInstance: async (i) => {
          got.push(i);
        },
      }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HttpError);
      expect((e as HttpError).transient).toBe(true);
      expect((e as HttpError).message).toMatch(/cut short|broke off/);
      expect(got.length).toBeGreaterThan(0);
      expect(got.length).toBeLessThan(s.numInstances);
      // Every handed-on part is a whole instance: its file parses to the end.
      const { readInstanceIds } = await import('@/lib/dicom/part10');
      for (const g of got) expect(readInstanceIds(g.path).sopInstanceUid).toBe(g.sopInstanceUid);
    } finally {
      await proxy.close();
    }
  });
});
