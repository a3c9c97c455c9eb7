/**
 * C-GET as a DICOM connector's retrieve method, on the whole coordinator path against a real
 * Orthanc: query by MRN, retrieve (instances come back on our own association: the worker runs
 * WITHOUT its SCP, so nothing can arrive any other way), counts, de-identification, the
 * capability check, a partial retry asking only for what is missing, cancel (C-CANCEL, nothing
 * kept), and a PACS that refuses C-GET (a clear message on the study and the connector).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { allFiles } from '../../helpers/files';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { startOrthanc, startStorescp, type OrthancHandle } from '../../helpers/orthanc';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

let orthanc: OrthancHandle;
let refusing: OrthancHandle;
let slowLink: TcpProxy;
let corpus: Corpus;
let big: Corpus;
let worker: { stop(): Promise<void> };
let direct: Awaited<ReturnType<typeof makeConnector>>;
let slow: Awaited<ReturnType<typeof makeConnector>>;

beforeAll(async () => {
  corpus = generateCorpus({ seed: 211, patients: 3, studiesPerPatient: 1, seriesPerStudy: 2, instancesPerSeries: 4, rows: 32, columns: 32 });
  // One study of 40 larger instances behind a slow link: a C-GET long enough to cancel halfway.
  big = generateCorpus({ seed: 212, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 40, rows: 96, columns: 96 });
  // Our AEs are registered for query and retrieve (C-GET), but Orthanc knows no port to send to
  // for them that anything listens on: C-MOVE could not work here, C-GET must.
  orthanc = await startOrthanc({ aet: 'GET_PACS', modalities: { Q: ['GET_Q', '127.0.0.1', 9], R: ['GET_R', '127.0.0.1', 9], SQ: ['GET_SQ', '127.0.0.1', 9], SR: ['GET_SR', '127.0.0.1', 9] } });
  await orthanc.uploadFiles([...corpus.instances, ...big.instances].map((i) => i.buffer));
  slowLink = await startTcpProxy({ targetPort: orthanc.dicomPort, bytesPerSecond: 120_000 });
  // A PACS whose administrator does not allow C-GET for our retrieving AE.
  refusing = await startOrthanc({
    aet: 'NOGET_PACS',
    config: { DicomModalities: { Q: ['NOGET_Q', '127.0.0.1', 9], R: { AET: 'NOGET_R', Host: '127.0.0.1', Port: 9, AllowGet: false } } },
  });
  await refusing.uploadFiles(corpus.patients[2].studies.flatMap((s) => corpus.instances.filter((i) => i.studyInstanceUid === s.studyInstanceUid)).map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ withScp: false });
  direct = await makeConnector({ pacsAe: 'GET_PACS', port: orthanc.dicomPort, queryAe: 'GET_Q', receiveAe: 'GET_R', retrieveMethod: 'CGET' });
  slow = await makeConnector({ pacsAe: 'GET_PACS', port: slowLink.port, queryAe: 'GET_SQ', receiveAe: 'GET_SR', retrieveMethod: 'CGET' });
});

afterAll(async () => {
  await worker?.stop();
  await slowLink?.close();
  await orthanc?.stop();
  await refusing?.stop();
});

async function queryPatient(connectorId: string, patientId: string) {
  const coordinator = await makeUser('COORDINATOR');
  const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
  const { createQuery } = await import('@/lib/queries/queries');
  const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId, items: [{ patientId }] });
  const found = await waitFor(async () => {
    const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
    return x.status === 'DONE' || x.status === 'FAILED' ? x : null;
  }, { what: 'query' });
  return { coordinator, pool, query: found };
}

const settled = (id: string) =>
  waitFor(async () => {
    const x = await db.retrieval.findUniqueOrThrow({ where: { id } });
    return ['DONE', 'PARTIAL', 'FAILED', 'CANCELLED'].includes(x.state) ? x : null;
  }, { what: 'retrieval to settle', timeoutMs: 90_000 });

describe('C-GET retrieve', () => {
  it('queries by MRN and retrieves over C-GET into the pool, counted like a move, staging left empty', async () => {
    const { connector, receivingPool } = direct;
    const patient = corpus.patients[0];
    const { coordinator, pool, query } = await queryPatient(connector.id, patient.patientId);
    expect(query.status).toBe('DONE');
    expect(query.results.map((r) => r.studyInstanceUid)).toEqual([patient.studies[0].studyInstanceUid]);
    expect(query.results[0].numInstances).toBe(8);

    const { requestRetrieval } = await import('@/lib/retrievals/request');
    await requestRetrieval(actorOf(coordinator), query.id, [query.results[0].studyInstanceUid]);
    const r = await settled((await db.retrieval.findFirstOrThrow({ where: { queryId: query.id } })).id);
    expect(r.lastError).toBeNull();
    expect(r.state).toBe('DONE');
    expect(r.expected).toBe(8);
    expect(r.received).toBe(8);
    expect(r.stored).toBe(8);
    expect(r.failed).toBe(0);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(r.stored);
    // The research copies carry no source UID; the originals are gone from staging.
    const sourceSops = new Set(corpus.instances.filter((i) => i.studyInstanceUid === patient.studies[0].studyInstanceUid).map((i) => i.sopInstanceUid));
    const inPool = await db.instance.findMany({ where: { poolId: pool.id }, select: { sopInstanceUid: true } });
    expect(inPool.some((i) => sourceSops.has(i.sopInstanceUid))).toBe(false);
    const { stagingDir } = await import('@/lib/storage');
    const left = (await allFiles(stagingDir(receivingPool.id)).catch(() => [])).filter((f) => !f.includes(`${path.sep}.incoming`) || f.endsWith('.part'));
    expect(left).toEqual([]);
    expect(await db.stagedInstance.count({ where: { retrievalId: r.id } })).toBe(0);
    // A C-GET connector carries no move-destination problem.
    expect((await db.connector.findUniqueOrThrow({ where: { id: connector.id } })).moveProblem).toBeNull();
  }, 120_000);

  it('capability check: the PACS accepts C-GET and sends one instance back, nothing kept', async () => {
    const { connector, receivingPool } = direct;
    const admin = await makeUser('ADMIN');
    const { checkConnector } = await import('@/lib/connectors/capabilities');
    const caps = await checkConnector(actorOf(admin), connector.id, { patientId: corpus.patients[1].patientId, moveTest: true });
    expect(caps.echo.ok).toBe(true);
    expect(caps.instanceLevel?.ok).toBe(true);
    expect(caps.move?.ok, caps.move?.message).toBe(true);
    expect(caps.move?.message).toMatch(/C-GET/);
    expect(await db.stagedInstance.count({ where: { receivingPoolId: receivingPool.id } })).toBe(0);
    const { stagingDir } = await import('@/lib/storage');
    expect((await allFiles(stagingDir(receivingPool.id)).catch(() => [])).length).toBe(0);
  });

  it('a retry asks the PACS only for the missing instances', async () => {
    const { connector } = direct;
    const patient = corpus.patients[1];
    const { coordinator, pool, query } = await queryPatient(connector.id, patient.patientId);
    const { requestRetrieval, retryRetrieval } = await import('@/lib/retrievals/request');
    await requestRetrieval(actorOf(coordinator), query.id, [query.results[0].studyInstanceUid]);
    const first = await settled((await db.retrieval.findFirstOrThrow({ where: { queryId: query.id } })).id);
    expect(first.state).toBe('DONE');
    expect(first.received).toBe(8);

    // Make it partial: three instances never made it (as if their sub-operations failed).
    const lost = await db.retrievalInstance.findMany({ where: { retrievalId: first.id }, take: 3, orderBy: { sourceSopUid: 'asc' } });
    await db.retrievalInstance.deleteMany({ where: { id: { in: lost.map((l) => l.id) } } });
    await db.retrieval.update({ where: { id: first.id }, data: { state: 'PARTIAL', stored: 5, received: 5, failed: 3 } });

    await retryRetrieval(actorOf(coordinator), first.id);
    const again = await settled(first.id);
    expect(again.state).toBe('DONE');
    expect(again.stored).toBe(8);
    // Only the three missing instances crossed the network again (a whole-study C-GET would add 8).
    expect(again.received).toBe(8);
    expect(await db.retrievalInstance.count({ where: { retrievalId: first.id } })).toBe(8);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(8);
  }, 120_000);

  it('cancel stops a running C-GET (C-CANCEL) and keeps nothing staged; nothing more enters the pool', async () => {
    const { connector } = slow;
    const { coordinator, pool, query } = await queryPatient(connector.id, big.patients[0].patientId);
    expect(query.results).toHaveLength(1);
    const { requestRetrieval, cancelRetrieval } = await import('@/lib/retrievals/request');
    await requestRetrieval(actorOf(coordinator), query.id, [query.results[0].studyInstanceUid]);
    const moving = await waitFor(async () => {
      const x = await db.retrieval.findFirst({ where: { queryId: query.id, state: 'MOVING' } });
      return x && (await db.stagedInstance.count({ where: { retrievalId: x.id } })) >= 2 ? x : null;
    }, { what: 'a C-GET halfway', intervalMs: 50, timeoutMs: 60_000 });
    expect(await db.stagedInstance.count({ where: { retrievalId: moving.id } })).toBeLessThan(40);
    await cancelRetrieval(actorOf(coordinator), moving.id);
    await waitFor(async () => (slowLink.active === 0 && (await db.stagedInstance.count({ where: { retrievalId: moving.id } })) === 0) || null, {
      what: 'the C-GET to stop and its staged instances to go',
      timeoutMs: 40_000,
    });
    const { queue } = await import('@/lib/jobs/queues');
    const job = await queue('move').getJob(`move-${moving.id}-0`);
    await waitFor(async () => ((await job?.getState()) === 'completed') || null, { what: 'the retrieve job to end' });
    const final = await db.retrieval.findUniqueOrThrow({ where: { id: moving.id } });
    expect(final.state).toBe('CANCELLED');
    expect(final.received).toBeLessThan(40);
    // What was already de-identified during the move (lib/retrievals/pipeline.ts) stays, exactly
    // counted; nothing more enters the pool.
    const stored = await db.retrievalInstance.count({ where: { retrievalId: moving.id, outcome: 'stored' } });
    expect(stored).toBeLessThan(40);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(stored);
    expect(await db.retrievalInstance.count({ where: { retrievalId: moving.id, outcome: 'stored' } })).toBe(stored);
  }, 150_000);

  it('a PACS that refuses C-GET: the study fails at once with what to ask for, shown on the connector', async () => {
    const { connector } = await makeConnector({ pacsAe: 'NOGET_PACS', port: refusing.dicomPort, queryAe: 'NOGET_Q', receiveAe: 'NOGET_R', retrieveMethod: 'CGET' });
    const patient = corpus.patients[2];
    const { coordinator, pool, query } = await queryPatient(connector.id, patient.patientId);
    expect(query.results).toHaveLength(1);
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    await requestRetrieval(actorOf(coordinator), query.id, [query.results[0].studyInstanceUid]);
    const r = await settled((await db.retrieval.findFirstOrThrow({ where: { queryId: query.id } })).id);
    expect(r.state).toBe('FAILED');
    expect(r.lastError).toMatch(/C-GET/);
    expect(r.lastError).toMatch(/NOGET_R/);
    expect(r.lastError).not.toMatch(/retrying/);
    // Written on the connector right after the study (the same step).
    const c = await waitFor(async () => {
      const x = await db.connector.findUniqueOrThrow({ where: { id: connector.id } });
      return x.moveProblem ? x : null;
    }, { what: 'the problem shown on the connector' });
    expect(c.moveProblem).toMatch(/C-GET/);
    expect(c.moveProblem).toMatch(/NOGET_R/);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);
    expect(await db.stagedInstance.count({ where: { retrievalId: r.id } })).toBe(0);
  }, 120_000);

  it('a peer that refuses the C-GET presentation context is told apart from an outage', async () => {
    // DCMTK storescp is no Query/Retrieve SCP: it refuses the Study Root GET context.
    const scp = await startStorescp({ aet: 'NOT_QR' });
    try {
      const { get, DicomRetrieveRefusedError } = await import('@/lib/dicom/scu');
      const { probeSink } = await import('@/lib/receive/sink');
      const study = corpus.patients[0].studies[0].studyInstanceUid;
      const sink = await probeSink(direct.receivingPool.id, study);
      const err = await get({ aeTitle: 'NOT_QR', host: '127.0.0.1', port: scp.port }, 'GET_R', { studyInstanceUid: study }, { sink, sopClassUids: [] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DicomRetrieveRefusedError);
      expect((err as Error).message).toMatch(/does not accept C-GET/);
      expect(await scp.countFiles()).toBe(0);
    } finally {
      await scp.stop();
    }
  });
});
