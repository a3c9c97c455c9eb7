/**
 * DICOM TLS end to end, with certificates made by the test (tests/helpers/certs.ts) and real peers:
 * - the coordinator path against an Orthanc that speaks only TLS and requires our client
 *   certificate: Test connection (C-ECHO), query (C-FIND) and retrieval (C-MOVE, Orthanc moving
 *   to our TLS port with UseDicomTls, its certificate pinned to the device's CA);
 * - pushes into our TLS port with DCMTK's storescu/echoscu +tls: a TLS device with a certificate
 *   of its CA is accepted; the same device over the plain port, with a certificate of another CA
 *   or with an expired certificate is refused and nothing is stored;
 * - the failures, each with its own message: unknown CA, expired certificate, hostname mismatch,
 *   plain TCP to a TLS port, TLS to a plain port, handshake timeout;
 * - the device's private key is encrypted at rest and write-only; bad TLS settings and bad
 *   DICOM_TLS_* files are refused with clear messages;
 * - no key material and no PHI in any log line (debug level), audit row or Redis value of the run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { startScp, type RunningScp } from '@/lib/dicom/scp';
import { DicomNetworkError, echo, type DicomPeer } from '@/lib/dicom/scu';
import { ConfigError, loadEnv } from '@/lib/env';
import { AppError } from '@/lib/errors';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { call } from '../../helpers/api';
import { createTestPki, type TestCa, type TestCert, type TestPki } from '../../helpers/certs';
import { actorOf, makeConnector, makePool, makeUser, suffix, waitFor } from '../../helpers/fixtures';
import { DCMTK_ENV, freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

const run = promisify(execFile);

let pki: TestPki;
let caA: TestCa;
let caB: TestCa;
let orthancCert: TestCert;
let ourCert: TestCert;
let modalityCert: TestCert;
let expiredCert: TestCert;
let otherCaCert: TestCert;
let wrongHostCert: TestCert;
let orthanc: OrthancHandle;
let corpus: Corpus;
let worker: { stop(): Promise<void>; scpPort: number; scpTlsPort: number };
let srcDir: string;
const files: string[] = [];
const logLines: string[] = [];
const realWrite = process.stderr.write.bind(process.stderr);
const savedLevel = process.env.LOG_LEVEL;
const QUERY_AE = `TQ_${suffix()}`;
const RECEIVE_AE = `TR_${suffix()}`;

beforeAll(async () => {
  process.env.LOG_LEVEL = 'debug';
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logLines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  pki = await createTestPki();
  caA = await pki.ca('Hospital CA');
  caB = await pki.ca('Other CA');
  const hosts = ['localhost', '127.0.0.1'];
  orthancCert = await pki.leaf('orthanc', caA, { hosts });
  ourCert = await pki.leaf('tributary', caA, { hosts });
  modalityCert = await pki.leaf('modality', caA, { hosts });
  expiredCert = await pki.leaf('expired', caA, { hosts, expired: true });
  otherCaCert = await pki.leaf('stranger', caB, { hosts });
  wrongHostCert = await pki.leaf('elsewhere', caA, { hosts: ['pacs.example.org'] });

  // The worker's TLS port: our certificate, client certificates verified against CA A.
  process.env.DICOM_TLS_CERT = ourCert.certFile;
  process.env.DICOM_TLS_KEY = ourCert.keyFile;
  process.env.DICOM_TLS_CA = caA.certFile;
  const scpPort = await freePort();
  const scpTlsPort = await freePort();

  corpus = generateCorpus({ seed: 443, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 3, rows: 16, columns: 16 });
  srcDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-tls-'));
  for (const [i, inst] of corpus.instances.entries()) {
    const f = path.join(srcDir, `${i}.dcm`);
    await fs.writeFile(f, inst.buffer);
    files.push(f);
  }
  const tlsModality = (aet: string) => ({ AET: aet, Host: '127.0.0.1', Port: scpTlsPort, UseDicomTls: true });
  orthanc = await startOrthanc({
    aet: 'TLS_PACS',
    config: {
      DicomTlsEnabled: true,
      DicomTlsCertificate: orthancCert.certFile,
      DicomTlsPrivateKey: orthancCert.keyFile,
      DicomTlsTrustedCertificates: caA.certFile,
      DicomTlsRemoteCertificateRequired: true,
      DicomModalities: { Q: tlsModality(QUERY_AE), R: tlsModality(RECEIVE_AE) },
    },
  });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort, scpTlsPort });
});

afterAll(async () => {
  process.stderr.write = realWrite as typeof process.stderr.write;
  if (savedLevel === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = savedLevel;
  await worker?.stop();
  await orthanc?.stop();
  await pki?.cleanup();
  if (srcDir) await fs.rm(srcDir, { recursive: true, force: true });
});

async function dicomError(p: Promise<unknown>): Promise<DicomNetworkError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DicomNetworkError);
  return err as DicomNetworkError;
}

/** A device set to TLS, trusting CA A, with our client certificate. */
async function tlsSettings(cert: TestCert = ourCert) {
  const { encryptSecret } = await import('@/lib/secrets');
  return { tls: true, tlsCaCertificates: caA.cert, tlsClientCertificate: cert.cert, tlsClientKey: encryptSecret(cert.key) };
}

describe('coordinator path against an Orthanc that speaks only TLS', () => {
  // One TLS connector for both retrieve methods (its pools' AE titles are the ones Orthanc knows).
  let made: Promise<Awaited<ReturnType<typeof makeConnector>>> | undefined;
  const tlsConnector = () =>
    (made ??= (async () => {
      const m = await makeConnector({ pacsAe: 'TLS_PACS', port: orthanc.dicomPort, queryAe: QUERY_AE, receiveAe: RECEIVE_AE });
      await db.device.update({ where: { id: m.device.id }, data: await tlsSettings() });
      return m;
    })());

  it('tests the connection, queries and retrieves a study over TLS', async () => {
    const { connector } = await tlsConnector();
    const admin = await makeUser('ADMIN');
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });

    const { echoConnector } = await import('@/lib/connectors/connectors');
    const echoed = await echoConnector(actorOf(admin), connector.id);
    expect(echoed.message).toMatch(/C-ECHO answered/);
    expect(echoed.ok).toBe(true);

    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const patient = corpus.patients[0];
    const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, items: [{ patientId: patient.patientId }] });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'the query over TLS' });
    expect(found.results.map((r) => r.studyInstanceUid)).toEqual([patient.studies[0].studyInstanceUid]);

    await requestRetrieval(actorOf(coordinator), query.id, [patient.studies[0].studyInstanceUid]);
    const done = await waitFor(async () => {
      const r = await db.retrieval.findFirst({ where: { queryId: query.id } });
      return r && ['DONE', 'PARTIAL', 'FAILED'].includes(r.state) ? r : null;
    }, { what: 'the retrieval over TLS', timeoutMs: 90_000, intervalMs: 300 });
    expect(done.state, done.lastError ?? '').toBe('DONE');
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(files.length);
  });

  it('retrieves with C-GET over TLS: the instances come back on our own TLS association', async () => {
    const { connector } = await tlsConnector();
    await db.connector.update({ where: { id: connector.id }, data: { retrieveMethod: 'CGET' } });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const patient = corpus.patients[0];
    const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, items: [{ patientId: patient.patientId }] });
    await waitFor(async () => (await db.query.findUniqueOrThrow({ where: { id: query.id } })).status === 'DONE', { what: 'the query over TLS' });
    await requestRetrieval(actorOf(coordinator), query.id, [patient.studies[0].studyInstanceUid]);
    const done = await waitFor(async () => {
      const r = await db.retrieval.findFirst({ where: { queryId: query.id } });
      return r && ['DONE', 'PARTIAL', 'FAILED'].includes(r.state) ? r : null;
    }, { what: 'the C-GET over TLS', timeoutMs: 90_000, intervalMs: 300 });
    expect(done.state, done.lastError ?? '').toBe('DONE');
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(files.length);
  });

  it('refuses plain DICOM to the TLS port and says why', async () => {
    const err = await dicomError(echo({ aeTitle: 'TLS_PACS', host: '127.0.0.1', port: orthanc.dicomPort }, QUERY_AE, { connectTimeoutMs: 5_000 }));
    expect(err.message).toMatch(/(closed|reset) the connection without answering the association request \(if this is a DICOM TLS port, set the device to TLS\)/);
  });

  it('refuses a server certificate from an unknown CA', async () => {
    const peer: DicomPeer = { aeTitle: 'TLS_PACS', host: '127.0.0.1', port: orthanc.dicomPort, tls: { ca: caB.cert, cert: ourCert.cert, key: ourCert.key } };
    const err = await dicomError(echo(peer, QUERY_AE));
    expect(err.reason).toBe('tls');
    expect(err.message).toMatch(/TLS handshake with TLS_PACS at 127\.0\.0\.1:\d+ failed: .*unknown CA/);
  });

  it('fails when the PACS requires a client certificate and none is configured', async () => {
    const peer: DicomPeer = { aeTitle: 'TLS_PACS', host: '127.0.0.1', port: orthanc.dicomPort, tls: { ca: caA.cert } };
    const err = await dicomError(echo(peer, QUERY_AE));
    expect(err.reason).toBe('tls');
    expect(err.message).toMatch(/TLS/);
  });
});

describe('SCU failures against our own TLS SCP', () => {
  const servers: RunningScp[] = [];
  const tlsScp = async (cert: TestCert) => {
    const s = await startScp({
      port: 0,
      host: '127.0.0.1',
      tls: { cert: cert.cert, key: cert.key },
      hooks: { resolveCalledAe: async () => null, isCallingAeAllowed: async () => false, onStored: async () => undefined },
    });
    servers.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('names an expired server certificate', async () => {
    const s = await tlsScp(expiredCert);
    const err = await dicomError(echo({ aeTitle: 'X', host: '127.0.0.1', port: s.port, tls: { ca: caA.cert } }, 'ME'));
    expect(err.message).toMatch(/failed: its certificate has expired/);
  });

  it('names a hostname mismatch', async () => {
    const s = await tlsScp(wrongHostCert);
    const err = await dicomError(echo({ aeTitle: 'X', host: '127.0.0.1', port: s.port, tls: { ca: caA.cert } }, 'ME'));
    expect(err.message).toMatch(/hostname mismatch/);
  });

  it('names TLS to a plain DICOM port', async () => {
    const err = await dicomError(echo({ aeTitle: 'X', host: '127.0.0.1', port: worker.scpPort, tls: { ca: caA.cert } }, 'ME', { connectTimeoutMs: 5_000 }));
    expect(err.reason).toBe('tls');
    expect(err.message).toMatch(/a plain DICOM port|plain port/);
  });

  it('names a TLS handshake that never completes', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const err = await dicomError(echo({ aeTitle: 'X', host: '127.0.0.1', port, tls: { ca: caA.cert } }, 'ME', { connectTimeoutMs: 500 }));
      expect(err.reason).toBe('timeout');
      expect(err.message).toMatch(/TLS handshake with X at 127\.0\.0\.1:\d+ did not complete within/);
    } finally {
      silent.close();
    }
  });
});

describe('pushes into our TLS port (DCMTK +tls)', () => {
  async function setup(tlsRequireClientCertificate = true, tlsCaCertificates = caA.cert) {
    const s = suffix();
    const device = await db.device.create({
      data: { name: `Modality ${s}`, aeTitle: `MOD_${s}`, host: '127.0.0.1', port: 104, tls: true, tlsCaCertificates, tlsRequireClientCertificate },
    });
    const pool = await makePool();
    await db.poolDevice.create({ data: { poolId: pool.id, deviceId: device.id } });
    return { device, pool };
  }

  async function dcmtk(tool: 'storescu' | 'echoscu', args: string[]) {
    try {
      const r = await run(tool, args, { env: DCMTK_ENV });
      return { ok: true, out: r.stdout + r.stderr };
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
    }
  }
  const tlsArgs = (cert: TestCert) => ['+tls', cert.keyFile, cert.certFile, '+cf', caA.certFile];

  it('accepts a TLS device with a certificate from its CA, and echoscu +tls', async () => {
    const { device, pool } = await setup();
    const e = await dcmtk('echoscu', [...tlsArgs(modalityCert), '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort)]);
    expect(e.ok, e.out).toBe(true);
    const r = await dcmtk('storescu', [...tlsArgs(modalityCert), '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort), ...files]);
    expect(r.ok, r.out).toBe(true);
    await waitFor(async () => (await db.instance.count({ where: { poolId: pool.id } })) === files.length, { what: 'the pushed instances' });
  });

  it('refuses the same device over the plain port', async () => {
    const { device, pool } = await setup();
    const r = await dcmtk('storescu', ['-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpPort), ...files]);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/Association Rejected|Calling AE Title Not Recognized/i);
    expect(await db.stagedInstance.count({ where: { receivingPoolId: pool.id } })).toBe(0);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);
  });

  it('refuses a certificate from another CA, an expired one, and none', async () => {
    const { device, pool } = await setup();
    for (const cert of [otherCaCert, expiredCert]) {
      const r = await dcmtk('storescu', [...tlsArgs(cert), '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort), ...files]);
      expect(r.ok, `${cert.name}: ${r.out}`).toBe(false);
    }
    const anonymous = await dcmtk('storescu', ['+tla', '+cf', caA.certFile, '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort), ...files]);
    expect(anonymous.ok, anonymous.out).toBe(false);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);
  });

  it('pins a device to its own CA: a certificate of DICOM_TLS_CA is not enough when the device names another CA', async () => {
    const { device, pool } = await setup(true, caB.cert);
    const r = await dcmtk('storescu', [...tlsArgs(modalityCert), '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort), ...files]);
    expect(r.ok, r.out).toBe(false);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);
    // The same device with the other CA's certificate is accepted.
    const ok = await dcmtk('storescu', [...tlsArgs(otherCaCert), '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort), ...files]);
    expect(ok.ok, ok.out).toBe(true);
  });

  it('falls back to DICOM_TLS_CA for a device without CA certificates', async () => {
    const { device, pool } = await setup(true, '');
    const r = await dcmtk('storescu', [...tlsArgs(modalityCert), '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort), ...files]);
    expect(r.ok, r.out).toBe(true);
    const refused = await dcmtk('storescu', [...tlsArgs(otherCaCert), '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort), ...files]);
    expect(refused.ok, refused.out).toBe(false);
  });

  it('accepts a device that need not present a certificate, over TLS only', async () => {
    const { device, pool } = await setup(false);
    const r = await dcmtk('storescu', ['+tla', '+cf', caA.certFile, '-aet', device.aeTitle, '-aec', pool.aeTitle, '127.0.0.1', String(worker.scpTlsPort), ...files]);
    expect(r.ok, r.out).toBe(true);
    await waitFor(async () => (await db.instance.count({ where: { poolId: pool.id } })) === files.length, { what: 'the pushed instances' });
  });
});

describe('device TLS settings', () => {
  it('stores the private key encrypted and never returns it', async () => {
    const admin = await makeUser('ADMIN');
    const { createDevice, getDevice, listDevices, updateDevice } = await import('@/lib/devices/devices');
    const s = suffix();
    const created = await createDevice(actorOf(admin), {
      name: `TLS PACS ${s}`, aeTitle: `TP_${s}`, host: '127.0.0.1', port: 11112, tls: true, addresses: [], description: '',
      tlsCaCertificates: caA.cert, tlsClientCertificate: ourCert.cert, tlsClientKey: ourCert.key, tlsMinVersion: 'TLSv1.3', tlsCiphers: '', tlsRequireClientCertificate: true,
    });
    expect(created).not.toHaveProperty('tlsClientKey');
    expect(created.tlsClientKeyState).toBe('set');
    const row = await db.device.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.tlsClientKey).toMatch(/^v1:/);
    expect(row.tlsClientKey).not.toContain('PRIVATE KEY');
    for (const shown of [await getDevice(created.id), (await listDevices()).find((d) => d.id === created.id)]) {
      expect(JSON.stringify(shown)).not.toContain(row.tlsClientKey!);
      expect(JSON.stringify(shown)).not.toContain('PRIVATE KEY');
    }
    // Absent keeps the key, null clears it (then the certificate alone is refused).
    expect((await updateDevice(actorOf(admin), created.id, { description: 'kept' })).tlsClientKeyState).toBe('set');
    await expect(updateDevice(actorOf(admin), created.id, { tlsClientKey: null })).rejects.toMatchObject({ code: 'VALIDATION', fields: { tlsClientKey: [expect.stringMatching(/needs its private key/)] } });
    const cleared = await updateDevice(actorOf(admin), created.id, { tlsClientKey: null, tlsClientCertificate: '' });
    expect(cleared.tlsClientKeyState).toBe('not set');
  });

  it('never answers the key over the API (devices and connectors), and refuses a bad one with a field error', async () => {
    const token = (await createApiToken({ userId: (await makeUser('ADMIN')).id, name: 't' })).token;
    const s = suffix();
    const body = { name: `API TLS ${s}`, aeTitle: `AT_${s}`, host: '127.0.0.1', port: 11112, tls: true, tlsCaCertificates: caA.cert, tlsClientCertificate: ourCert.cert, tlsClientKey: ourCert.key };
    const created = await call(api.createDevice, {}, { token, body });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as { id: string }).id;
    const stored = (await db.device.findUniqueOrThrow({ where: { id } })).tlsClientKey!;
    const pool = await makePool({ kind: 'INFRASTRUCTURE' });
    const rx = await makePool({ kind: 'INFRASTRUCTURE' });
    await db.connector.create({ data: { name: `API TLS ${s}`, deviceId: id, queryPoolId: pool.id, receivingPoolId: rx.id } });
    for (const res of [created, await call(api.getDevice, { id }, { token }), await call(api.listDevices, {}, { token }), await call(api.listConnectors, {}, { token })]) {
      expect(res.status).toBe(res === created ? 201 : 200);
      expect(res.text).not.toContain('PRIVATE KEY');
      expect(res.text).not.toContain(stored);
      expect(res.text).not.toContain('"tlsClientKey"');
    }
    expect((created.json as { tlsClientKeyState: string }).tlsClientKeyState).toBe('set');
    const bad = await call(api.updateDevice, { id }, { token, body: { tlsClientKey: modalityCert.key } });
    expect(bad.status).toBe(422);
    expect((bad.json as { error: { fields: Record<string, string[]> } }).error.fields.tlsClientKey[0]).toMatch(/does not match/);
    expect((await db.device.findUniqueOrThrow({ where: { id } })).tlsClientKey).toBe(stored);
  });

  it('refuses a key that does not match the certificate, unreadable certificates and unknown ciphers', async () => {
    const admin = await makeUser('ADMIN');
    const { createDevice } = await import('@/lib/devices/devices');
    const s = suffix();
    const base = { name: `Bad ${s}`, aeTitle: `BAD_${s}`, host: '127.0.0.1', port: 11112, tls: true, addresses: [], description: '', tlsMinVersion: 'TLSv1.2' as const, tlsRequireClientCertificate: true };
    const err = await createDevice(actorOf(admin), {
      ...base,
      tlsCaCertificates: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----',
      tlsClientCertificate: ourCert.cert,
      tlsClientKey: modalityCert.key,
      tlsCiphers: 'NO-SUCH-CIPHER',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    const fields = (err as AppError).fields ?? {};
    expect(fields.tlsClientKey?.[0]).toBe('The private key does not match the client certificate');
    expect(fields.tlsCaCertificates?.[0]).toMatch(/cannot be read/);
    expect(fields.tlsCiphers?.[0]).toMatch(/cipher/);
    expect(await db.device.count({ where: { name: base.name } })).toBe(0);
  });
});

describe('health', () => {
  it('shows the TLS listener of this worker', async () => {
    const { getHealth } = await import('@/lib/health/get-health');
    const mine = await waitFor(async () => (await getHealth()).workers.find((w) => w.pid === process.pid && w.scp.port === worker.scpPort), { what: 'this worker\'s beat' });
    expect(mine.scp.tlsPort).toBe(worker.scpTlsPort);
  });
});

describe('DICOM_TLS_* configuration', () => {
  const base = { TRIBUTARY_MODE: 'test', DICOM_PORT: '11112' };
  it('refuses an unreadable file, a key of another certificate and a TLS port without files', () => {
    expect(() => loadEnv({ ...base, DICOM_TLS_PORT: '2762', DICOM_TLS_CERT: '/nonexistent/cert.pem', DICOM_TLS_KEY: ourCert.keyFile })).toThrow(
      /DICOM_TLS_CERT: cannot read \/nonexistent\/cert\.pem \(ENOENT\)/,
    );
    expect(() => loadEnv({ ...base, DICOM_TLS_PORT: '2762', DICOM_TLS_CERT: ourCert.certFile, DICOM_TLS_KEY: modalityCert.keyFile })).toThrow(
      /DICOM_TLS_KEY: The private key does not match the certificate of DICOM_TLS_CERT/,
    );
    expect(() => loadEnv({ ...base, DICOM_TLS_PORT: '2762' })).toThrow(ConfigError);
    expect(() => loadEnv({ ...base, DICOM_TLS_PORT: '2762' })).toThrow(/DICOM_TLS_CERT: is required when DICOM_TLS_PORT is set/);
    const ok = loadEnv({ ...base, DICOM_TLS_PORT: '2762', DICOM_TLS_CERT: ourCert.certFile, DICOM_TLS_KEY: ourCert.keyFile, DICOM_TLS_CA: caA.certFile });
    expect(ok.DICOM_TLS_PORT).toBe(2762);
  });
});

// Last: scans what everything above wrote.
describe('secrets and PHI', () => {
  it('leaves no key material or PHI in the logs, the audit rows or Redis', async () => {
    expect(logLines.some((l) => /association rejected/.test(l) && /tls-required/.test(l))).toBe(true);
    expect(logLines.some((l) => /TLS handshake failed/.test(l))).toBe(true);
    const keyLines = [ourCert, modalityCert, expiredCert, otherCaCert].map((c) => c.key.split('\n')[2]);
    const stored = (await db.device.findMany({ where: { tlsClientKey: { not: null } }, select: { tlsClientKey: true } })).map((d) => d.tlsClientKey!);
    const patient = corpus.patients[0];
    const phi = [patient.patientId, patient.patientName, patient.studies[0].accessionNumber, ...corpus.phiStrings];
    const audit = JSON.stringify(await db.auditEvent.findMany({ where: { at: { gte: new Date(Date.now() - 15 * 60_000) } } }));
    const { redis } = await import('@/lib/redis');
    const r = redis();
    const keys = await r.keys(`${process.env.REDIS_PREFIX}*`);
    const values: string[] = [];
    for (const k of keys) {
      const type = await r.type(k);
      if (type === 'string') values.push((await r.get(k)) ?? '');
      else if (type === 'hash') values.push(JSON.stringify(await r.hgetall(k)));
    }
    for (const [where, text] of [['logs', logLines.join('')], ['audit', audit], ['redis', values.join('\n')]] as const) {
      expect(text.includes('PRIVATE KEY'), `${where}: a PEM key`).toBe(false);
      for (const line of keyLines) expect(text.includes(line), `${where}: key material`).toBe(false);
      for (const v of stored) expect(text.includes(v.split(':')[4]), `${where}: an encrypted key`).toBe(false);
      for (const p of phi) expect(text.includes(p), `${where}: PHI`).toBe(false);
    }
  });
});
