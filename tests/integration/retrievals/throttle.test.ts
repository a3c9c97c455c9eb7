/**
 * Jobs that behave: a connector's association cap is never exceeded (counted at the PACS side,
 * through a TCP proxy in front of Orthanc), and its schedule window holds every association:
 * single-MRN and batch C-FINDs and C-MOVEs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

let orthanc: OrthancHandle;
let proxy: TcpProxy;
let corpus: Corpus;
let worker: { stop(): Promise<void> };
const AE = { q: 'THR_QUERY', r: 'THR_RECV' };

beforeAll(async () => {
  const scpPort = await freePort();
  corpus = generateCorpus({ seed: 23, patients: 2, studiesPerPatient: 5, seriesPerStudy: 2, instancesPerSeries: 4, rows: 32, columns: 32 });
  orthanc = await startOrthanc({ aet: 'THR_PACS', modalities: { Q: [AE.q, '127.0.0.1', scpPort], R: [AE.r, '127.0.0.1', scpPort] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  proxy = await startTcpProxy({ targetPort: orthanc.dicomPort });
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await orthanc?.stop();
});

let infra: { queryPoolId: string; receivingPoolId: string; deviceId: string } | null = null;

/** One query AE and one receiving AE (as registered at the PACS) serve every connector here. */
async function setup(opts: { maxAssociations: number; schedule?: string | null }) {
  if (!infra) {
    const q = await makePool({ kind: 'INFRASTRUCTURE' });
    const r = await makePool({ kind: 'INFRASTRUCTURE' });
    await db.pool.update({ where: { id: q.id }, data: { aeTitle: AE.q } });
    await db.pool.update({ where: { id: r.id }, data: { aeTitle: AE.r } });
    const device = await db.device.create({ data: { name: `THR PACS ${q.id}`, aeTitle: 'THR_PACS', host: '127.0.0.1', port: proxy.port } });
    infra = { queryPoolId: q.id, receivingPoolId: r.id, deviceId: device.id };
  }
  const connector = await db.connector.create({
    data: { name: `THR ${Date.now()}`, deviceId: infra.deviceId, queryPoolId: infra.queryPoolId, receivingPoolId: infra.receivingPoolId, maxAssociations: opts.maxAssociations, schedule: opts.schedule ?? null },
  });
  const coordinator = await makeUser('COORDINATOR');
  const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
  return { connector, pool, actor: actorOf(coordinator) };
}

async function findAll(queryId: string) {
  return waitFor(async () => {
    const q = await db.query.findUniqueOrThrow({ where: { id: queryId }, include: { results: true } });
    return q.status === 'DONE' ? q : null;
  }, { what: 'query to finish' });
}

describe('association cap and schedule', () => {
  it('never opens more associations to the PACS than the connector allows, and does use them', async () => {
    const { connector, pool, actor } = await setup({ maxAssociations: 2 });
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const q = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: corpus.patients.map((p) => ({ patientId: p.patientId })) });
    const found = await findAll(q.id);
    expect(found.results).toHaveLength(10);
    const before = proxy.maxConcurrent;
    await requestRetrieval(actor, q.id, found.results.map((r) => r.studyInstanceUid));
    const done = await waitFor(async () => {
      const rs = await db.retrieval.findMany({ where: { queryId: q.id } });
      return rs.length === 10 && rs.every((r) => r.state === 'DONE') ? rs : null;
    }, { what: 'ten studies', timeoutMs: 120_000 });
    expect(done.reduce((n, r) => n + r.stored, 0)).toBe(10 * 8);
    expect(proxy.maxConcurrent, 'associations open at once at the PACS').toBeLessThanOrEqual(2);
    // Ten moves were queued at once: the cap, not a serial worker, is what held them to two.
    expect(Math.max(before, proxy.maxConcurrent)).toBe(2);
  }, 150_000);

  it('holds every association outside the schedule window (single-MRN and batch finds, moves) and says until when', async () => {
    const now = new Date();
    const start = (now.getHours() + 2) % 24;
    const schedule = `hour=${start}-${(start + 1) % 24} dayOfWeek=*`;
    const { connector, pool, actor } = await setup({ maxAssociations: 2, schedule });
    const { createQuery, getQueryDetail } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const associationsBefore = proxy.total;
    // A single MRN waits for the window too: the PACS tolerates associations only then.
    const single = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: [{ patientId: corpus.patients[0].patientId }] });
    // And a spreadsheet (batch) query.
    const batch = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, source: 'SPREADSHEET', fileName: 'x.csv', items: [{ patientId: corpus.patients[1].patientId }] });
    const { queue } = await import('@/lib/jobs/queues');
    const delayedFinds = await waitFor(async () => {
      const ids = new Set((await queue('find').getDelayed()).map((j) => (j.data as { queryId: string }).queryId));
      return ids.has(single.id) && ids.has(batch.id) ? ids : null;
    }, { what: 'both find jobs to wait as delayed jobs', timeoutMs: 20_000 });
    expect(delayedFinds.size).toBeGreaterThanOrEqual(2);
    for (const id of [single.id, batch.id]) {
      const q = await getQueryDetail(id);
      expect(q.status).toBe('PENDING');
      expect(q.scheduledFor?.getHours(), 'the query says until when').toBe(start);
    }

    // A study found earlier (recorded as this query's result): its move waits for the window.
    const study = corpus.patients[0].studies[0];
    const item = await db.queryItem.findFirstOrThrow({ where: { queryId: single.id } });
    await db.queryResult.create({ data: { queryId: single.id, itemId: item.id, studyInstanceUid: study.studyInstanceUid, patientId: corpus.patients[0].patientId, numInstances: 8 } });
    await requestRetrieval(actor, single.id, [study.studyInstanceUid]);
    const held = await waitFor(async () => {
      const r = await db.retrieval.findFirst({ where: { queryId: single.id } });
      return r?.state === 'SCHEDULED' ? r : null;
    }, { what: 'the move to be scheduled' });
    expect(held.scheduledFor?.getHours()).toBe(start);
    expect(held.scheduledFor!.getTime()).toBeGreaterThan(Date.now());
    const delayed = await queue('move').getDelayed();
    const job = delayed.find((j) => (j.data as { retrievalId: string }).retrievalId === held.id);
    expect(job, 'the move job waits as a delayed job').toBeDefined();

    expect(proxy.total, 'no association was opened to the PACS outside its window').toBe(associationsBefore);
    expect(await db.queryResult.count({ where: { queryId: batch.id } })).toBe(0);
    expect(await db.stagedInstance.count({ where: { retrievalId: held.id } })).toBe(0);
  });
});
