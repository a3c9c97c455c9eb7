/**
 * Cancelling a query reaches its studies in flight, not only the waiting ones: a running C-MOVE
 * is cancelled at the PACS, what it staged is dropped, and nothing of it reaches the pool.
 * Studies already done stay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

let orthanc: OrthancHandle;
let slowLink: TcpProxy;
let corpus: Corpus;
let worker: { stop(): Promise<void> };

beforeAll(async () => {
  const scpPort = await freePort();
  // Three studies of 20 instances; Orthanc sends to our SCP over a slow link, so a move takes
  // long enough to be cancelled halfway.
  corpus = generateCorpus({ seed: 97, patients: 1, studiesPerPatient: 3, seriesPerStudy: 1, instancesPerSeries: 20, rows: 96, columns: 96 });
  slowLink = await startTcpProxy({ targetPort: scpPort, bytesPerSecond: 60_000 });
  orthanc = await startOrthanc({ aet: 'CXL_PACS', modalities: { Q: ['CXL_Q', '127.0.0.1', scpPort], R: ['CXL_R', '127.0.0.1', slowLink.port] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await slowLink?.close();
  await orthanc?.stop();
});

describe('cancel a query', () => {
  it('cancels its moving and its waiting studies; a running move stops, keeps only what it had already de-identified', async () => {
    // Cap 2, batch lane: one study moves at a time, the others wait QUEUED.
    const { connector } = await makeConnector({ pacsAe: 'CXL_PACS', port: orthanc.dicomPort, maxAssociations: 2, queryAe: 'CXL_Q', receiveAe: 'CXL_R' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const actor = actorOf(coordinator);
    const { createQuery, cancelQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');

    const query = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, source: 'SPREADSHEET', fileName: 'c.csv', items: [{ patientId: corpus.patients[0].patientId }] });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'query' });
    expect(found.results).toHaveLength(3);
    await requestRetrieval(actor, query.id, found.results.map((x) => x.studyInstanceUid));

    // One study is moving and has staged part of its instances.
    const moving = await waitFor(async () => {
      const x = await db.retrieval.findFirst({ where: { queryId: query.id, state: 'MOVING' } });
      return x && (await db.stagedInstance.count({ where: { retrievalId: x.id } })) >= 2 ? x : null;
    }, { what: 'a study halfway through its move', intervalMs: 50 });
    expect(await db.stagedInstance.count({ where: { retrievalId: moving.id } })).toBeLessThan(20);

    await cancelQuery(actor, query.id);
    const after = await db.retrieval.findMany({ where: { queryId: query.id } });
    expect(after.map((x) => x.state).sort(), 'every unfinished study is cancelled at once, the moving one too').toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);

    // The running move notices, sends C-CANCEL (Orthanc stops sending) and drops what it staged.
    await waitFor(async () => (slowLink.active === 0 && (await db.stagedInstance.count({ where: { retrievalId: moving.id } })) === 0) || null, {
      what: 'the move to stop and its staged instances to go',
      timeoutMs: 30_000,
    });
    const { queue } = await import('@/lib/jobs/queues');
    const job = await queue('move').getJob(`move-${moving.id}-0`);
    await waitFor(async () => ((await job?.getState()) === 'completed') || null, { what: 'the move job to end' });
    // What the move's pipeline de-identified before the cancel stays in the pool, counted exactly
    // (docs/architecture.md: the moving study keeps what was already de-identified); nothing else
    // of the cancelled studies reached it, and they stay cancelled.
    const kept = await db.retrieval.findUniqueOrThrow({ where: { id: moving.id } });
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(kept.stored);
    expect(await db.retrievalInstance.count({ where: { retrievalId: { in: after.filter((x) => x.id !== moving.id).map((x) => x.id) } } })).toBe(0);
    expect(await db.stagedInstance.count({ where: { retrievalId: { in: after.map((x) => x.id) } } })).toBe(0);
    const final = await db.retrieval.findMany({ where: { queryId: query.id } });
    expect(final.every((x) => x.state === 'CANCELLED')).toBe(true);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: 'query.cancel', targetId: query.id } });
    expect(audit.detail).toMatchObject({ studies: 3 });
  }, 120_000);
});
