/**
 * A DICOMweb connector with OAuth2 client credentials, against a real authorization server
 * (oidc-provider, JWT access tokens) and a verifying gate in front of Orthanc's DICOMweb that
 * checks every request's token (signature, issuer, audience, expiry, scope). The coordinator path
 * through it; the token cached, renewed before it expires, renewed once on a 401; a gate that
 * keeps refusing, and a wrong client secret, fail clearly.
 */
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startHttpProxy, type HttpProxy } from '../../helpers/http-proxy';
import { startAuthServer, tokenIssuedAt, type AuthServer } from '../../helpers/oauth2';
import { actorOf, makePool, makeUser, makeWebConnector, waitFor } from '../../helpers/fixtures';
import { redisTexts as redisDump } from '../../helpers/redis-dump';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { db } from '@/lib/db';

let orthanc: OrthancHandle;
let gate: HttpProxy;
let as: AuthServer;
let corpus: Corpus;
let worker: { stop(): Promise<void> };
const client = { clientId: 'tributary-research', clientSecret: 'cs-7f2e91b0c4d8' };
/** What the gate does besides verifying: refuse tokens issued before this second, or all. */
const policy: { notBefore: number; refuseAll: boolean; refused: number } = { notBefore: 0, refuseAll: false, refused: 0 };

/** Every access token the gate saw: none may appear in a log line, Redis, the database's texts. */
const tokensSeen = new Set<string>();
const logLines: string[] = [];
const realWrite = process.stderr.write.bind(process.stderr);

function gateCheck(req: http.IncomingMessage) {
  const bearer = /^Bearer\s+(\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
  if (bearer) tokensSeen.add(bearer);
  const why = as.verify(req) ?? (policy.refuseAll ? 'revoked' : (tokenIssuedAt(req) ?? 0) < policy.notBefore ? 'revoked' : null);
  if (!why) return null;
  policy.refused++;
  return { status: 401, headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${why}"`, 'content-type': 'application/json' }, body: '{}' };
}

beforeAll(async () => {
  // Every log line of the worker (it runs in this process), at the most talkative level.
  process.env.LOG_LEVEL = 'debug';
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logLines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  const scpPort = await freePort();
  process.env.DICOM_PORT = String(scpPort);
  corpus = generateCorpus({ seed: 41, patients: 2, rows: 16, columns: 16, instancesPerSeries: 2 });
  orthanc = await startOrthanc({ aet: 'OAUTHPACS', dicomWeb: true });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  as = await startAuthServer({ ...client, scope: 'dicomweb.read', ttlSeconds: 4 });
  gate = await startHttpProxy({ targetPort: orthanc.httpPort, intercept: gateCheck });
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  process.stderr.write = realWrite as typeof process.stderr.write;
  await worker?.stop();
  await gate?.close();
  await as?.close();
  await orthanc?.stop();
});

async function setup(secret = client.clientSecret) {
  const { connector } = await makeWebConnector({
    baseUrl: `${gate.url}/dicom-web`,
    auth: { type: 'OAUTH2', tokenUrl: as.tokenUrl, clientId: client.clientId, clientSecret: secret, scope: 'dicomweb.read' },
  });
  const coordinator = await makeUser('COORDINATOR');
  const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
  return { connector, pool, actor: actorOf(coordinator) };
}

async function query(connectorId: string, poolId: string, actor: ReturnType<typeof actorOf>, patientId: string) {
  const { createQuery } = await import('@/lib/queries/queries');
  const q = await createQuery(actor, { poolId, connectorId, items: [{ patientId }] });
  return waitFor(async () => {
    const x = await db.query.findUniqueOrThrow({ where: { id: q.id }, include: { results: true, items: true } });
    return x.status === 'DONE' || x.status === 'FAILED' ? x : null;
  }, { what: 'query to finish' });
}

describe('DICOMweb with OAuth2 client credentials', () => {
  it('queries and retrieves through the verifying gate, one token for many requests', async () => {
    const { connector, pool, actor } = await setup();
    const patient = corpus.patients[0];
    const tokensBefore = as.tokenRequests;
    const refusedBefore = policy.refused;
    const found = await query(connector.id, pool.id, actor, patient.patientId);
    expect(found.status, found.error ?? '').toBe('DONE');
    expect(found.results).toHaveLength(patient.studies.length);
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    await requestRetrieval(actor, found.id, found.results.map((r) => r.studyInstanceUid));
    const done = await waitFor(async () => {
      const rs = await db.retrieval.findMany({ where: { queryId: found.id } });
      return rs.length === patient.studies.length && rs.every((r) => ['DONE', 'PARTIAL', 'FAILED'].includes(r.state)) ? rs : null;
    }, { what: 'retrievals', timeoutMs: 60_000 });
    for (const r of done) expect(r.state, r.lastError ?? '').toBe('DONE');
    expect(await db.study.count({ where: { poolId: pool.id } })).toBe(patient.studies.length);
    // Cached: far fewer token requests than resource requests, and the gate refused nothing.
    expect(as.tokenRequests - tokensBefore).toBeGreaterThanOrEqual(1);
    expect(as.tokenRequests - tokensBefore).toBeLessThan(gate.paths.length);
    expect(policy.refused - refusedBefore).toBe(0);
  });

  it('renews the token before it expires (no request leaves with an expired token)', async () => {
    const { connector, pool, actor } = await setup();
    // Start from no cached token (the worker runs in this process): the first query fetches one.
    const { forgetToken } = await import('@/lib/http/oauth2');
    forgetToken({ tokenUrl: as.tokenUrl, clientId: client.clientId, clientSecret: client.clientSecret, scope: 'dicomweb.read' });
    const refusedBefore = policy.refused;
    const tokensBefore = as.tokenRequests;
    await query(connector.id, pool.id, actor, corpus.patients[1].patientId);
    // The tokens live 4 s: wait past that and ask again.
    await new Promise((r) => setTimeout(r, 4500));
    const again = await query(connector.id, pool.id, actor, corpus.patients[1].patientId);
    expect(again.status).toBe('DONE');
    expect(as.tokenRequests - tokensBefore).toBeGreaterThanOrEqual(2);
    expect(policy.refused - refusedBefore).toBe(0);
  });

  it('renews once when the gate refuses a token it issued earlier (revoked), then goes on', async () => {
    const { connector, pool, actor } = await setup();
    // A fresh token for this test (the worker runs in this process and caches per client).
    const { forgetToken } = await import('@/lib/http/oauth2');
    forgetToken({ tokenUrl: as.tokenUrl, clientId: client.clientId, clientSecret: client.clientSecret, scope: 'dicomweb.read' });
    await query(connector.id, pool.id, actor, corpus.patients[0].patientId);
    // Revoke every token issued so far (iat has a one-second resolution: wait for the next second).
    policy.notBefore = Math.floor(Date.now() / 1000) + 1;
    await new Promise((r) => setTimeout(r, policy.notBefore * 1000 - Date.now() + 50));
    const tokensBefore = as.tokenRequests;
    const refusedBefore = policy.refused;
    const again = await query(connector.id, pool.id, actor, corpus.patients[0].patientId);
    expect(again.status, again.error ?? '').toBe('DONE');
    expect(again.items[0].status).toBe('DONE');
    expect(policy.refused - refusedBefore).toBe(1);
    expect(as.tokenRequests - tokensBefore).toBe(1);
  });

  it('fails clearly after one renewal when the gate keeps refusing', async () => {
    const { connector, pool, actor } = await setup();
    policy.refuseAll = true;
    try {
      const tokensBefore = as.tokenRequests;
      const refusedBefore = policy.refused;
      const q = await query(connector.id, pool.id, actor, corpus.patients[0].patientId);
      expect(q.items[0].status).toBe('FAILED');
      expect(q.items[0].error).toMatch(/refused a freshly issued OAuth2 token.*\(HTTP 401\)/);
      // At most one renewal for the one request (the first token may have been cached already).
      expect(policy.refused - refusedBefore).toBe(2);
      expect(as.tokenRequests - tokensBefore).toBeLessThanOrEqual(2);
      expect(as.tokenRequests - tokensBefore).toBeGreaterThanOrEqual(1);
    } finally {
      policy.refuseAll = false;
    }
  });

  it('says the client secret is wrong when the token endpoint refuses it, never quoting it', async () => {
    const { connector, pool, actor } = await setup('not-the-secret');
    const q = await query(connector.id, pool.id, actor, corpus.patients[0].patientId);
    expect(q.items[0].status).toBe('FAILED');
    expect(q.items[0].error).toMatch(/token endpoint at 127\.0\.0\.1:\d+ refused the client id or secret \(HTTP 401 invalid_client\)/);
    expect(q.items[0].error).not.toContain('not-the-secret');
  });

  it('leaves no client secret and no access token in logs, Redis, job data, audit rows or stored errors', async () => {
    expect(tokensSeen.size).toBeGreaterThan(1);
    const secrets = [client.clientSecret, 'not-the-secret', ...tokensSeen];
    const redisTexts = await redisDump();
    expect(redisTexts.some((t) => t.includes('queryId'))).toBe(true);
    const stored = [
      ...(await db.auditEvent.findMany()).map((a) => JSON.stringify(a)),
      ...(await db.queryItem.findMany({ where: { error: { not: null } }, select: { error: true } })).map((x) => x.error!),
      ...(await db.query.findMany({ where: { error: { not: null } }, select: { error: true } })).map((x) => x.error!),
      ...(await db.retrieval.findMany({ where: { lastError: { not: null } }, select: { lastError: true } })).map((x) => x.lastError!),
      ...(await db.connector.findMany({ select: { moveProblem: true, webSecret: true } })).map((x) => `${x.moveProblem ?? ''} ${x.webSecret ?? ''}`),
    ];
    // The capture works: the renewal of the revoked token was logged (without the token).
    expect(logLines.some((l) => l.includes('renewing once'))).toBe(true);
    const hits = [
      ...logLines.filter((l) => secrets.some((s) => l.includes(s))).map(() => 'log'),
      ...redisTexts.filter((t) => secrets.some((s) => t.includes(s))).map(() => 'redis'),
      ...stored.filter((t) => secrets.some((s) => t.includes(s))).map(() => 'database'),
    ];
    expect(hits).toEqual([]);
  });
});
