/**
 * TLS options of a DICOMweb source against a real https server in front of Orthanc's DICOMweb
 * (a certificate the test makes with openssl for "localhost"): an unknown CA and a wrong host name
 * are refused with a clear, non-retried error; the connector's CA bundle, "allow any host name"
 * and "disable certificate checks" each let the request through as documented.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { HttpError, type HttpTls } from '@/lib/http/client';
import type { DicomwebSource } from '@/lib/connectors/dicomweb/peer';
import { qidoStudies } from '@/lib/connectors/dicomweb/qido';

let orthanc: OrthancHandle;
let corpus: Corpus;
let dir: string;
let ca: string;
let port: number;
let server: https.Server;

beforeAll(async () => {
  corpus = generateCorpus({ seed: 61, patients: 1, rows: 8, columns: 8, instancesPerSeries: 1 });
  orthanc = await startOrthanc({ aet: 'TLSWEB', dicomWeb: true });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  ca = await fs.readFile(path.join(dir, 'cert.pem'), 'utf8');
  port = await freePort();
  server = https.createServer({ key: await fs.readFile(path.join(dir, 'key.pem')), cert: ca }, (req, res) => {
    const up = http.request({ host: '127.0.0.1', port: orthanc.httpPort, path: req.url, method: req.method, headers: { ...req.headers, host: `127.0.0.1:${orthanc.httpPort}` } }, (u) => {
      res.writeHead(u.statusCode ?? 502, u.headers);
      u.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await orthanc?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function source(host: string, tls: HttpTls): DicomwebSource {
  const base = `https://${host}:${port}/dicom-web/`;
  return { http: { auth: { kind: 'none' }, tls, connectTimeoutMs: 5000, readTimeoutMs: 10_000 }, qidoRoot: base, wadoRoot: base, wadoUriRoot: base, includeField: true, fuzzyMatching: false, transferSyntax: '*' };
}

const patient = () => ({ patientId: corpus.patients[0].patientId });

describe('DICOMweb over TLS', () => {
  it('refuses a certificate of an unknown CA, clearly and without retry', async () => {
    const e = await qidoStudies(source('localhost', {}), patient()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).kind).toBe('tls');
    expect((e as HttpError).transient).toBe(false);
    expect((e as HttpError).message).toMatch(/TLS certificate of localhost:\d+ is self-signed and not in the CA bundle/);
  });

  it('trusts the connector’s CA bundle', async () => {
    const a = await qidoStudies(source('localhost', { caPem: ca }), patient());
    expect(a.matches).toHaveLength(corpus.patients[0].studies.length);
  });

  it('checks the host name unless "allow any host name" is set', async () => {
    const e = await qidoStudies(source('127.0.0.1', { caPem: ca }), patient()).catch((x: unknown) => x);
    expect((e as HttpError).kind).toBe('tls');
    expect((e as HttpError).message).toMatch(/was issued for another host name/);
    const a = await qidoStudies(source('127.0.0.1', { caPem: ca, allowAnyHostname: true }), patient());
    expect(a.matches.length).toBeGreaterThan(0);
  });

  it('accepts any certificate when certificate checks are disabled', async () => {
    const a = await qidoStudies(source('127.0.0.1', { disableTrustManager: true }), patient());
    expect(a.matches.length).toBeGreaterThan(0);
  });
});
