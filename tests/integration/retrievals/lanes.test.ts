/**
 * Two lanes: a coordinator's single-MRN query and its retrieval are not stuck behind a running
 * spreadsheet batch on the same connector; the batch keeps the rest of the connector's capacity.
 * With a cap of one, the batch's C-FIND gives its slot back between chunks and a waiting single
 * query gets it first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

let orthanc: OrthancHandle;
let slowLink: TcpProxy;
let corpus: Corpus;
let worker: { stop(): Promise<void> };

beforeAll(async () => {
  const scpPort = await freePort();
  // Patient 0: a batch of 8 big-ish studies; patient 1: one small study for the coordinator.
  corpus = generateCorpus({ seed: 61, patients: 2, studiesPerPatient: 8, seriesPerStudy: 1, instancesPerSeries: 10, rows: 96, columns: 96 });
  slowLink = await startTcpProxy({ targetPort: scpPort, bytesPerSecond: 400_000 });
  orthanc = await startOrthanc({ aet: 'LANE_PACS', modalities: { Q: ['LANE_Q', '127.0.0.1', scpPort], R: ['LANE_R', '127.0.0.1', slowLink.port] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await slowLink?.close();
  await orthanc?.stop();
});

/** The query and receiving AEs registered at the PACS, shared by the connectors here. */
let infra: { q: { id: string }; r: { id: string } } | null = null;
async function infraPools() {
  if (!infra) {
    const q = await makePool({ kind: 'INFRASTRUCTURE', aeTitle: 'LANE_Q' });
    const r = await makePool({ kind: 'INFRASTRUCTURE', aeTitle: 'LANE_R' });
    infra = { q, r };
  }
  return infra;
}

describe('interactive and batch lanes', () => {
  it('lets a single-MRN retrieval finish while a batch is still moving', async () => {
    const { q, r } = await infraPools();
    const device = await db.device.create({ data: { name: `LANE ${q.id}`, aeTitle: 'LANE_PACS', host: '127.0.0.1', port: orthanc.dicomPort } });
    const connector = await db.connector.create({ data: { name: `LANE ${q.id}`, deviceId: device.id, queryPoolId: q.id, receivingPoolId: r.id, maxAssociations: 2 } });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const actor = actorOf(coordinator);
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const done = async (queryId: string) =>
      waitFor(async () => {
        const x = await db.query.findUniqueOrThrow({ where: { id: queryId }, include: { results: true } });
        return x.status === 'DONE' ? x : null;
      }, { what: 'query' });

    const batch = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, source: 'SPREADSHEET', fileName: 'big.xlsx', items: [{ patientId: corpus.patients[0].patientId }] });
    const batchFound = await done(batch.id);
    await requestRetrieval(actor, batch.id, batchFound.results.map((x) => x.studyInstanceUid));
    // Sample how many of the batch's studies move at once, for the whole run.
    let maxBatchMoving = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxBatchMoving = Math.max(maxBatchMoving, await db.retrieval.count({ where: { queryId: batch.id, state: 'MOVING' } }));
        await new Promise((res) => setTimeout(res, 25));
      }
    })();
    await waitFor(async () => (await db.retrieval.count({ where: { queryId: batch.id, state: 'MOVING' } })) > 0 || null, { what: 'the batch to be moving', intervalMs: 50 });

    const single = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: [{ patientId: corpus.patients[1].patientId }] });
    const singleFound = await done(single.id);
    await requestRetrieval(actor, single.id, [singleFound.results[0].studyInstanceUid]);
    await waitFor(async () => {
      const x = await db.retrieval.findFirst({ where: { queryId: single.id } });
      return x?.state === 'DONE' ? x : null;
    }, { what: 'the single study', timeoutMs: 60_000 });
    const batchStates = await db.retrieval.findMany({ where: { queryId: batch.id }, select: { state: true } });
    expect(batchStates.filter((b) => b.state === 'DONE').length, 'the batch is still running').toBeLessThan(8);
    await waitFor(async () => ((await db.retrieval.count({ where: { queryId: batch.id, state: 'DONE' } })) === 8) || null, { what: 'the batch', timeoutMs: 120_000, intervalMs: 500 });
    sampling = false;
    await sampler;
    // Batch lane: at most cap - 1 = 1 move at a time; the other slot stays free for coordinators.
    expect(maxBatchMoving).toBe(1);
  }, 200_000);

  it('with a cap of one, lets a single-MRN query in between the chunks of a batch C-FIND', async () => {
    // Requests to the PACS go through a slow link (~100 C-FINDs a second): a 1,000-row batch
    // takes ~10 s or more, a chunk of rows a second or two.
    const slowPacs = await startTcpProxy({ targetPort: orthanc.dicomPort, bytesPerSecond: 25_000 });
    try {
      const { q, r } = await infraPools();
      const device = await db.device.create({ data: { name: `LANE1 ${q.id}`, aeTitle: 'LANE_PACS', host: '127.0.0.1', port: slowPacs.port } });
      const connector = await db.connector.create({ data: { name: `LANE1 ${q.id}`, deviceId: device.id, queryPoolId: q.id, receivingPoolId: r.id, maxAssociations: 1 } });
      const coordinator = await makeUser('COORDINATOR');
      const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
      const actor = actorOf(coordinator);
      const { createQuery } = await import('@/lib/queries/queries');
      const rows = Array.from({ length: 1000 }, (_, i) => ({ patientId: `LANE1-${String(i).padStart(4, '0')}` }));
      const batch = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, source: 'SPREADSHEET', fileName: 'big.csv', items: rows });
      await waitFor(async () => (await db.queryItem.count({ where: { queryId: batch.id, status: 'RUNNING' } })) > 0 || null, { what: 'the batch to be asking', intervalMs: 50 });

      const single = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: [{ patientId: corpus.patients[1].patientId }] });
      const singleDone = await waitFor(async () => {
        const x = await db.query.findUniqueOrThrow({ where: { id: single.id }, include: { results: true } });
        return x.status === 'DONE' ? x : null;
      }, { what: 'the single query', timeoutMs: 60_000, intervalMs: 50 });
      const batchOpen = await db.queryItem.count({ where: { queryId: batch.id, status: { in: ['PENDING', 'RUNNING'] } } });
      expect(singleDone.results).toHaveLength(8);
      expect(batchOpen, 'the single query did not wait for the whole batch').toBeGreaterThan(0);

      const batchDone = await waitFor(async () => {
        const x = await db.query.findUniqueOrThrow({ where: { id: batch.id } });
        return x.status === 'DONE' ? x : null;
      }, { what: 'the batch', timeoutMs: 90_000, intervalMs: 500 });
      expect(batchDone.error).toBeNull();
      expect(await db.queryItem.count({ where: { queryId: batch.id, status: 'DONE' } })).toBe(1000);
      expect(slowPacs.maxConcurrent, 'never more than one association at the PACS').toBe(1);
    } finally {
      await slowPacs.close();
    }
  }, 150_000);

  it('gives a freed slot to a waiting interactive request before the batch (leases)', async () => {
    const { acquireAssociation } = await import('@/lib/jobs/leases');
    const connectorId = `lease-test-${Date.now()}`;
    const batch = await acquireAssociation(connectorId, 1, 'batch');
    expect(batch, 'cap 1: the batch may use the only slot').not.toBeNull();
    expect(await acquireAssociation(connectorId, 1, 'interactive', { waiter: 'single-1' }), 'slot taken: the coordinator waits').toBeNull();
    await batch!.release();
    expect(await acquireAssociation(connectorId, 1, 'batch'), 'a coordinator is waiting: the batch does not get the slot back').toBeNull();
    const single = await acquireAssociation(connectorId, 1, 'interactive', { waiter: 'single-1' });
    expect(single).not.toBeNull();
    await single!.release();
    const again = await acquireAssociation(connectorId, 1, 'batch');
    expect(again, 'no one waiting any more: the batch goes on').not.toBeNull();
    await again!.release();
    // Cap 3: the batch never takes the last slot.
    const held = [await acquireAssociation(connectorId, 3, 'batch'), await acquireAssociation(connectorId, 3, 'batch')];
    expect(held.every(Boolean)).toBe(true);
    expect(await acquireAssociation(connectorId, 3, 'batch')).toBeNull();
    const last = await acquireAssociation(connectorId, 3, 'interactive', { waiter: 'single-2' });
    expect(last).not.toBeNull();
    for (const l of [...held, last]) await l!.release();
  });
});
