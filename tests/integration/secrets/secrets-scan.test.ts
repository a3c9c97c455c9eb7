/**
 * Secrets never leave their encrypted column: not in a log line, BullMQ job data, an audit row,
 * an API response, or an error stored on a row.
 *
 * Each kind of stored secret is one entry of SECRET_KINDS below: the unique marker values it stores
 * and the steps that exercise it (create, update, read through the API, test connection, runs that
 * fail). A feature that stores a new secret (a DICOMweb client secret, a TLS private key...) adds
 * an entry; the scan at the end covers every entry's markers.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { decryptSecret, encryptSecret } from '@/lib/secrets';
import { STORED_SECRETS } from '@/lib/secrets/rotate';
import { call, type CallResult } from '../../helpers/api';
import { makeConnector, makePool, makeUser, suffix, waitFor } from '../../helpers/fixtures';
import { freePort } from '../../helpers/orthanc';
import { redisTexts } from '../../helpers/redis-dump';
import { makeMariaRis, type FakeRis } from '../../helpers/ris';
import { createTestPki } from '../../helpers/certs';

interface Ctx {
  adminToken: string;
  coordToken: string;
  poolId: string;
  /** The research pool's owner (exporters are theirs to set up). */
  ownerToken: string;
  /** Set by the destination kind, used by the exporter kinds. */
  destinationId?: string;
  /** Every API answer is kept for the scan. */
  call: (...a: Parameters<typeof call>) => Promise<CallResult>;
  cleanups: (() => Promise<void>)[];
}

interface SecretKind {
  what: string;
  markers: string[];
  exercise(ctx: Ctx): Promise<void>;
}

const marker = (what: string) => `SECRET-${what}-${randomBytes(6).toString('hex')}`;

// ---------------------------------------------------------------------------------------------
// The kinds of stored secret and how each is exercised.

const dbPassword = marker('DBPW');
const dbWrongPassword = marker('DBPW-WRONG');
const dbDownPassword = marker('DBPW-DOWN');

const cohortSourcePassword: SecretKind = {
  what: 'database cohort source password',
  markers: [dbPassword, dbWrongPassword, dbDownPassword],
  async exercise(ctx) {
    const ris: FakeRis = await makeMariaRis([{ mrn: 'SCAN1', accession: null, studyUid: null, modality: 'CT', examDate: '2024-01-05', icd10: 'C34' }], dbPassword);
    ctx.cleanups.push(() => ris.drop());
    const connectorId = (await makeConnector({ pacsAe: 'SCAN_DOWN', port: await freePort() })).connector.id;
    const body = {
      name: `scan ${suffix()}`,
      driver: 'MYSQL',
      host: ris.host,
      port: ris.port,
      database: ris.database,
      user: ris.user,
      password: dbPassword,
      sql: 'SELECT mrn, modality FROM exams WHERE exam_date >= :from',
      parameters: [{ name: 'from', label: 'From', type: 'date' }],
      mapping: { patientId: 'mrn', modality: 'modality' },
      connectorId,
    };
    const admin = { token: ctx.adminToken };
    const created = await ctx.call(api.createCohortSource, {}, { ...admin, body });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as { id: string }).id;
    const stored = await db.cohortSource.findUniqueOrThrow({ where: { id } });
    expect(stored.password).toMatch(/^v1:/);

    expect((await ctx.call(api.getCohortSource, { id }, admin)).status).toBe(200);
    expect((await ctx.call(api.listCohortSources, {}, admin)).status).toBe(200);
    expect((await ctx.call(api.listCohortSources, {}, { token: ctx.coordToken })).status).toBe(200);
    expect((await ctx.call(api.testCohortSource, { id }, admin)).json).toMatchObject({ ok: true });
    // Update keeping the password (absent), then one refused for a wrong password.
    expect((await ctx.call(api.updateCohortSource, { id }, { ...admin, body: { ...body, password: undefined, name: `${body.name} 2` } })).status).toBe(200);
    expect((await ctx.call(api.updateCohortSource, { id }, { ...admin, body: { ...body, password: dbWrongPassword } })).status).toBe(409);
    // A source whose stored password went wrong: test and run fail.
    await db.cohortSource.update({ where: { id }, data: { password: encryptSecret(dbWrongPassword) } });
    expect((await ctx.call(api.testCohortSource, { id }, admin)).json).toMatchObject({ ok: false });
    expect((await ctx.call(api.runCohortSource, { id }, { token: ctx.coordToken, body: { poolId: ctx.poolId, parameters: { from: '2024-01-01' } } })).status).toBe(409);
    await db.cohortSource.update({ where: { id }, data: { password: stored.password } });
    // A run that works and hands a query to a PACS that is down (find jobs fail and retry in Redis).
    const run = await ctx.call(api.runCohortSource, { id }, { token: ctx.coordToken, body: { poolId: ctx.poolId, parameters: { from: '2024-01-01' } } });
    expect(run.status, run.text).toBe(201);
    const queryId = (run.json as { queryId: string }).queryId;
    await waitFor(async () => (await db.query.findUniqueOrThrow({ where: { id: queryId } })).error, { what: 'the find job to fail once' });
    // A database that is down, at save time and at run time.
    const closed = await freePort();
    expect((await ctx.call(api.createCohortSource, {}, { ...admin, body: { ...body, name: `scan down ${suffix()}`, port: closed, password: dbDownPassword } })).status).toBe(503);
    await db.cohortSource.update({ where: { id }, data: { port: closed } });
    expect((await ctx.call(api.runCohortSource, { id }, { token: ctx.coordToken, body: { poolId: ctx.poolId, parameters: { from: '2024-01-01' } } })).status).toBe(503);
    ctx.cleanups.push(async () => {
      await db.cohortSource.deleteMany({ where: { id } });
    });
  },
};

/** A distinctive piece of a PEM key's body: what would show if the key leaked anywhere. */
const keyMarker = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '').slice(100, 160);
const deviceKeys: string[] = [];

const deviceTlsKey: SecretKind = {
  what: 'device TLS private key',
  markers: deviceKeys,
  async exercise(ctx) {
    const pki = await createTestPki();
    ctx.cleanups.push(() => pki.cleanup());
    const ca = await pki.ca('Scan CA');
    const client = await pki.leaf('scan-client', ca);
    const other = await pki.leaf('scan-client-2', ca);
    deviceKeys.push(keyMarker(client.key), keyMarker(other.key));
    const admin = { token: ctx.adminToken };
    const port = await freePort(); // nothing listens: echo fails over TLS
    const body = {
      name: `scan tls ${suffix()}`,
      aeTitle: `SCANTLS${suffix().slice(0, 6)}`.toUpperCase().slice(0, 16),
      host: '127.0.0.1',
      port,
      tls: true,
      tlsCaCertificates: ca.cert,
      tlsClientCertificate: client.cert,
      tlsClientKey: client.key,
    };
    const created = await ctx.call(api.createDevice, {}, { ...admin, body });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as { id: string }).id;
    ctx.cleanups.push(async () => {
      await db.device.deleteMany({ where: { id } });
    });
    expect((await db.device.findUniqueOrThrow({ where: { id } })).tlsClientKey).toMatch(/^v1:/);
    expect((await ctx.call(api.getDevice, { id }, admin)).json).toMatchObject({ tlsClientKeyState: 'set' });
    expect((await ctx.call(api.listDevices, {}, admin)).status).toBe(200);
    // Replace the key and certificate, then a refused update (key not matching the certificate).
    expect((await ctx.call(api.updateDevice, { id }, { ...admin, body: { tlsClientCertificate: other.cert, tlsClientKey: other.key } })).status).toBe(200);
    expect((await ctx.call(api.updateDevice, { id }, { ...admin, body: { tlsClientCertificate: client.cert, tlsClientKey: other.key } })).status).toBe(422);
    // A connector on it: test connection fails (nothing listens), with the key loaded for the attempt.
    const { connector } = await makeConnector({ pacsAe: body.aeTitle, port });
    await db.connector.update({ where: { id: connector.id }, data: { deviceId: id } });
    ctx.cleanups.push(async () => {
      await db.connector.deleteMany({ where: { id: connector.id } });
    });
    expect((await ctx.call(api.echoConnector, { id: connector.id }, admin)).json).toMatchObject({ ok: false });
    expect((await ctx.call(api.getConnector, { id: connector.id }, admin)).status).toBe(200);
  },
};

const webPassword = marker('WEBPW');
const webPassword2 = marker('WEBPW2');

const dicomwebSecret: SecretKind = {
  what: 'DICOMweb connector password',
  markers: [webPassword, webPassword2],
  async exercise(ctx) {
    const admin = { token: ctx.adminToken };
    const pools = [await makePool({ kind: 'INFRASTRUCTURE' }), await makePool({ kind: 'INFRASTRUCTURE' })];
    const closed = await freePort(); // nothing listens: test connection and queries fail
    const body = {
      name: `scan web ${suffix()}`,
      type: 'DICOMWEB',
      retrieveMethod: 'WADORS',
      queryPoolId: pools[0].id,
      receivingPoolId: pools[1].id,
      webBaseUrl: `http://127.0.0.1:${closed}/dicom-web`,
      webAuthType: 'BASIC',
      webUsername: 'tributary',
      webSecret: webPassword,
    };
    const created = await ctx.call(api.createConnector, {}, { ...admin, body });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as { id: string }).id;
    ctx.cleanups.push(async () => {
      await db.query.deleteMany({ where: { connectorId: id } });
      await db.connector.deleteMany({ where: { id } });
    });
    expect((await db.connector.findUniqueOrThrow({ where: { id } })).webSecret).toMatch(/^v1:/);
    expect((await ctx.call(api.getConnector, { id }, admin)).json).toMatchObject({ webSecret: 'set' });
    expect((await ctx.call(api.listConnectors, {}, admin)).status).toBe(200);
    expect((await ctx.call(api.updateConnector, { id }, { ...admin, body: { ...body, webSecret: webPassword2 } })).status).toBe(200);
    expect((await ctx.call(api.echoConnector, { id }, admin)).json).toMatchObject({ ok: false });
  },
};

// The receipt signing key is generated, not entered: its markers are the private key's encodings,
// known once the exercise has created it.
const signingKeyMarkers: string[] = [];

const receiptSigningKey: SecretKind = {
  what: 'receipt signing private key',
  markers: signingKeyMarkers,
  async exercise(ctx) {
    await db.signingKey.deleteMany();
    // Created on first use through the API; then a receipt is signed and downloaded.
    const pub = await ctx.call(api.getReceiptPublicKey, {}, { token: ctx.coordToken });
    expect(pub.status).toBe(200);
    const { signReceipt } = await import('@/lib/receipts');
    await signReceipt('purge', ctx.poolId, { scan: true });
    const row = await db.signingKey.findUniqueOrThrow({ where: { active: true } });
    expect(row.privateKey).toMatch(/^v1:/);
    const pem = decryptSecret(row.privateKey);
    const jwk = createPrivateKey(pem).export({ format: 'jwk' });
    const seed = Buffer.from(jwk.d!, 'base64url');
    signingKeyMarkers.push(pem.split('\n')[1], jwk.d!, seed.toString('hex'), seed.toString('base64'));
    expect((await ctx.call(api.getReceiptPublicKey, {}, { token: ctx.adminToken })).json).toMatchObject({ keyId: row.id });
  },
};

const destPassword = marker('DESTPW');
const destPassword2 = marker('DESTPW2');

const destinationSecret: SecretKind = {
  what: 'export destination password',
  markers: [destPassword, destPassword2],
  async exercise(ctx) {
    const admin = { token: ctx.adminToken };
    const closed = await freePort(); // nothing listens: Test destination fails
    const body = { name: `scan dest ${suffix()}`, type: 'DICOMWEB', webStowUrl: `http://127.0.0.1:${closed}/dicom-web/studies`, webAuthType: 'BASIC', webUsername: 'tributary', webSecret: destPassword };
    const created = await ctx.call(api.createDestination, {}, { ...admin, body });
    expect(created.status, created.text).toBe(201);
    const id = (created.json as { id: string }).id;
    ctx.destinationId = id;
    expect((await db.destination.findUniqueOrThrow({ where: { id } })).webSecret).toMatch(/^v1:/);
    expect((await ctx.call(api.getDestination, { id }, admin)).json).toMatchObject({ webSecret: 'set' });
    expect((await ctx.call(api.listDestinations, {}, admin)).status).toBe(200);
    expect((await ctx.call(api.updateDestination, { id }, { ...admin, body: { ...body, webSecret: destPassword2 } })).status).toBe(200);
    expect((await ctx.call(api.testDestination, { id }, admin)).json).toMatchObject({ ok: false });
    // A refused update (a field error) with the secret in the body.
    expect((await ctx.call(api.updateDestination, { id }, { ...admin, body: { ...body, webStowUrl: 'ftp://nowhere' } })).status).toBe(422);
  },
};

const exporterBearer = marker('EXPBEARER');
const exporterBasic = `scan:${marker('EXPBASIC')}`;

/** Both exporter overrides, set, replaced and read back by the pool's owner and a researcher. */
function exporterKind(what: string, column: 'bearerToken' | 'basicAuth', value: string): SecretKind {
  return {
    what,
    markers: [value],
    async exercise(ctx) {
      const owner = { token: ctx.ownerToken };
      const body = { name: `scan ${column} ${suffix()}`, destinationId: ctx.destinationId!, [column]: value };
      const created = await ctx.call(api.createExporter, { id: ctx.poolId }, { ...owner, body });
      expect(created.status, created.text).toBe(201);
      const id = (created.json as { id: string }).id;
      expect((await db.exporter.findUniqueOrThrow({ where: { id } }))[column]).toMatch(/^v1:/);
      expect((await ctx.call(api.getExporter, { id: ctx.poolId, exporterId: id }, owner)).json).toMatchObject({ [column]: 'set' });
      expect((await ctx.call(api.listExporters, { id: ctx.poolId }, owner)).status).toBe(200);
      expect((await ctx.call(api.listExporters, { id: ctx.poolId }, { token: ctx.coordToken })).status).toBe(200);
      expect((await ctx.call(api.updateExporter, { id: ctx.poolId, exporterId: id }, { ...owner, body: { ...body, concurrency: 0 } })).status).toBe(422);
      expect((await ctx.call(api.updateExporter, { id: ctx.poolId, exporterId: id }, { ...owner, body: { ...body, name: `${body.name} 2` } })).status).toBe(200);
      // Someone else's attempt to change it carries the value too.
      expect((await ctx.call(api.updateExporter, { id: ctx.poolId, exporterId: id }, { token: ctx.adminToken, body })).status).toBe(403);
    },
  };
}

const SECRET_KINDS: SecretKind[] = [
  cohortSourcePassword,
  deviceTlsKey,
  dicomwebSecret,
  receiptSigningKey,
  destinationSecret,
  exporterKind('exporter bearer-token override', 'bearerToken', exporterBearer),
  exporterKind('exporter basic-auth override', 'basicAuth', exporterBasic),
];

// ---------------------------------------------------------------------------------------------

const logLines: string[] = [];
const responses: string[] = [];
const realWrite = process.stderr.write.bind(process.stderr);
const savedLevel = process.env.LOG_LEVEL;
let worker: { stop(): Promise<void> } | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  process.env.LOG_LEVEL = 'debug';
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logLines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  const scpPort = await freePort();
  process.env.DICOM_PORT = String(scpPort);
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  for (const c of cleanups) await c().catch(() => undefined);
  process.stderr.write = realWrite as typeof process.stderr.write;
  if (savedLevel === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = savedLevel;
});

describe('stored secrets stay in their encrypted columns', () => {
  it('every secret column is a kind this scan exercises', () => {
    expect(STORED_SECRETS.map((s) => `${s.table}.${s.column}`)).toEqual(['CohortSource.password', 'Device.tlsClientKey', 'Connector.webSecret', 'SigningKey.privateKey', 'Destination.webSecret', 'Exporter.bearerToken', 'Exporter.basicAuth']);
    expect(SECRET_KINDS.length).toBe(STORED_SECRETS.length);
  });

  it('finds no marker in logs, job data, audit rows, API answers or stored errors', async () => {
    const admin = await makeUser('ADMIN');
    const coord = await makeUser('COORDINATOR');
    const owner = await makeUser('RESEARCHER');
    const pool = await makePool({ members: [{ userId: coord.id, role: 'COORDINATOR' }, { userId: owner.id, role: 'OWNER' }] });
    const ctx: Ctx = {
      adminToken: (await createApiToken({ userId: admin.id, name: 'scan' })).token,
      coordToken: (await createApiToken({ userId: coord.id, name: 'scan' })).token,
      ownerToken: (await createApiToken({ userId: owner.id, name: 'scan' })).token,
      poolId: pool.id,
      call: async (...a) => {
        const r = await call(...a);
        responses.push(r.text);
        return r;
      },
      cleanups,
    };
    for (const kind of SECRET_KINDS) await kind.exercise(ctx);
    expect(signingKeyMarkers).toHaveLength(4);

    const markers = SECRET_KINDS.flatMap((k) => k.markers.map((m) => [k.what, m] as const));
    const audits = (await db.auditEvent.findMany()).map((a) => JSON.stringify(a));
    const redis = await redisTexts();
    const stored = [
      ...(await db.query.findMany({ select: { error: true } })).map((q) => q.error ?? ''),
      ...(await db.queryItem.findMany({ select: { error: true } })).map((i) => i.error ?? ''),
      // The encrypted column itself must not hold a plain value either.
      ...(await db.cohortSource.findMany({ select: { password: true } })).map((s) => s.password ?? ''),
      ...(await db.device.findMany({ select: { tlsClientKey: true } })).map((d) => d.tlsClientKey ?? ''),
      ...(await db.connector.findMany({ select: { webSecret: true, moveProblem: true } })).flatMap((c) => [c.webSecret ?? '', c.moveProblem ?? '']),
      ...(await db.signingKey.findMany({ select: { privateKey: true, publicKeyPem: true } })).flatMap((k) => [k.privateKey, k.publicKeyPem]),
      ...(await db.receipt.findMany({ select: { document: true } })).map((r) => JSON.stringify(r.document)),
      ...(await db.destination.findMany({ select: { webSecret: true } })).map((d) => d.webSecret ?? ''),
      ...(await db.exporter.findMany({ select: { bearerToken: true, basicAuth: true } })).flatMap((x) => [x.bearerToken ?? '', x.basicAuth ?? '']),
    ];
    // The scan must have looked at something in each place.
    expect(logLines.length).toBeGreaterThan(0);
    expect(redis.some((t) => t.includes('failedReason'))).toBe(true);
    expect(audits.some((a) => a.includes('cohort.run'))).toBe(true);
    expect(responses.length).toBeGreaterThan(8);

    const hits: string[] = [];
    for (const [where, texts] of [['log', logLines], ['redis', redis], ['audit', audits], ['api response', responses], ['stored row', stored]] as const)
      for (const t of texts) for (const [what, m] of markers) if (t.includes(m)) hits.push(`${where}: ${what} in ${t.slice(0, 200)}`);
    expect(hits).toEqual([]);
  }, 180_000);
});
