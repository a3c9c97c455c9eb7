/**
 * A batch find job keeps its association (and its connector lease) from chunk to chunk: one
 * association for all its chunks, counted at a TCP proxy in front of the PACS. When an
 * interactive query waits for the connector, the batch gives the slot back after the chunk it
 * is asking (closing its association first: never more associations than the cap), and goes
 * on, on a new association, once the slot is free. A kept association the PACS closed while
 * idle is replaced without the rows noticing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { FIND_CHUNK } from '@/lib/queries/run-find';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

let orthanc: OrthancHandle;
let corpus: Corpus;
let worker: { stop(): Promise<void> };
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  const scpPort = await freePort();
  corpus = generateCorpus({ seed: 83, patients: 40, studiesPerPatient: undefined, seriesPerStudy: 1, instancesPerSeries: 1, rows: 8, columns: 8 });
  orthanc = await startOrthanc({ aet: 'BA_PACS', modalities: { Q: ['BA_Q', '127.0.0.1', scpPort], R: ['BA_R', '127.0.0.1', scpPort] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  for (const p of proxies) await p.close();
  await orthanc?.stop();
});

async function proxy(bytesPerSecond?: number) {
  const p = await startTcpProxy({ targetPort: orthanc.dicomPort, bytesPerSecond });
  proxies.push(p);
  return p;
}

/** The corpus's patients, then unknown MRNs, `n` rows in all. */
function rows(n: number, tag: string) {
  return Array.from({ length: n }, (_, i) => ({ patientId: i < corpus.patients.length ? corpus.patients[i].patientId : `${tag}-${String(i).padStart(4, '0')}` }));
}

/** The query and receiving AEs registered at the PACS (unique AE titles), shared by the connectors here. */
let infra: { queryPoolId: string; receivingPoolId: string } | null = null;

async function submitBatch(port: number, maxAssociations: number, n: number, tag: string) {
  let connector;
  if (!infra) {
    ({ connector } = await makeConnector({ pacsAe: 'BA_PACS', port, maxAssociations, queryAe: 'BA_Q', receiveAe: 'BA_R' }));
    infra = { queryPoolId: connector.queryPoolId, receivingPoolId: connector.receivingPoolId };
  } else {
    const device = await db.device.create({ data: { name: `BA ${tag}`, aeTitle: 'BA_PACS', host: '127.0.0.1', port } });
    connector = await db.connector.create({ data: { name: `BA ${tag}`, deviceId: device.id, ...infra, maxAssociations } });
  }
  const coordinator = await makeUser('COORDINATOR');
  const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
  const { createQuery } = await import('@/lib/queries/queries');
  const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, source: 'SPREADSHEET', fileName: 'cohort.xlsx', items: rows(n, tag) });
  return { connector, query };
}

async function finished(queryId: string) {
  return waitFor(async () => {
    const q = await db.query.findUniqueOrThrow({ where: { id: queryId }, include: { items: true, results: true } });
    return q.status === 'DONE' || q.status === 'FAILED' ? q : null;
  }, { what: 'the batch', timeoutMs: 120_000, intervalMs: 100 });
}

/** Every row DONE with exactly its patient's studies, once. */
function expectExact(q: Awaited<ReturnType<typeof finished>>) {
  expect(q.status).toBe('DONE');
  expect(q.error).toBeNull();
  expect(q.items.filter((i) => i.status !== 'DONE')).toEqual([]);
  const expected = new Map(corpus.patients.map((p) => [p.patientId, new Set(p.studies.map((s) => s.studyInstanceUid))]));
  for (const item of q.items) {
    const got = q.results.filter((r) => r.itemId === item.id).map((r) => r.studyInstanceUid);
    expect(new Set(got), `row ${item.rowNumber}`).toEqual(expected.get(item.patientId) ?? new Set());
    expect(item.resultCount).toBe(got.length);
  }
  expect(q.results).toHaveLength(corpus.patients.reduce((n, p) => n + p.studies.length, 0));
}

describe('a batch find job and its association', () => {
  it('asks all its chunks on one association', async () => {
    const link = await proxy();
    // Cap 2: the batch lane gets one slot, so one find job asks every chunk.
    const n = FIND_CHUNK * 3 + 20;
    const { query } = await submitBatch(link.port, 2, n, 'BA1');
    const q = await finished(query.id);
    expectExact(q);
    expect(q.items).toHaveLength(n);
    expect(link.total, `one association for ${Math.ceil(n / FIND_CHUNK)} chunks`).toBe(1);
  }, 150_000);

  it('gives its slot and association back to a waiting interactive query, then goes on', async () => {
    // ~100 C-FINDs a second through the slow link: a chunk takes a second or so.
    const link = await proxy(25_000);
    const { connector, query } = await submitBatch(link.port, 1, FIND_CHUNK * 4, 'BA2');
    const { acquireAssociation, activeLeases } = await import('@/lib/jobs/leases');
    await waitFor(async () => (await db.queryItem.count({ where: { queryId: query.id, status: 'DONE' } })) > 0 || null, { what: 'the batch to be answering', intervalMs: 50 });
    expect(link.active, 'the batch holds its association between chunks').toBe(1);
    // An interactive query's tries, as its job makes them: the first registers it as waiting.
    const single = await waitFor(() => acquireAssociation(connector.id, 1, 'interactive', { waiter: 'single-ba2' }), { what: 'the slot for the interactive query', timeoutMs: 30_000, intervalMs: 50 });
    try {
      expect(await activeLeases(`connector:${connector.id}`)).toBe(1);
      expect(link.active, 'the batch closed its association before giving the slot back').toBe(0);
      const open = await db.queryItem.count({ where: { queryId: query.id, status: { in: ['PENDING', 'RUNNING'] } } });
      expect(open, 'the interactive query got in before the batch ended').toBeGreaterThan(0);
    } finally {
      await single.release();
    }
    const q = await finished(query.id);
    expectExact(q);
    expect(link.maxConcurrent, 'never more associations than the cap').toBe(1);
    expect(link.total, 'one association before the interactive query, one after').toBe(2);
  }, 150_000);
});

describe('StudyFindSession', () => {
  it('reuses its association across finds and replaces one the PACS closed while idle', async () => {
    const link = await proxy();
    const { StudyFindSession } = await import('@/lib/dicom/scu');
    const session = new StudyFindSession({ aeTitle: 'BA_PACS', host: '127.0.0.1', port: link.port }, 'BA_Q');
    const patients = corpus.patients.slice(0, 6);
    const ask = async (ps: typeof patients) => {
      const answers = await session.find(ps.map((p) => ({ patientId: p.patientId })));
      return answers.map((a) => (a instanceof Error ? a : new Set(a.map((m) => m.studyInstanceUid))));
    };
    const want = (ps: typeof patients) => ps.map((p) => new Set(p.studies.map((s) => s.studyInstanceUid)));
    try {
      expect(await ask(patients.slice(0, 3))).toEqual(want(patients.slice(0, 3)));
      expect(await ask(patients.slice(3))).toEqual(want(patients.slice(3)));
      expect(session.associationsOpened).toBe(1);
      expect(link.total).toBe(1);
      // The PACS closes the idle association: the next find opens another and answers in full.
      link.dropActive();
      await waitFor(async () => link.active === 0 || null, { what: 'the connection to close' });
      expect(await ask(patients)).toEqual(want(patients));
      expect(session.associationsOpened).toBe(2);
    } finally {
      await session.close();
    }
    await waitFor(async () => link.active === 0 || null, { what: 'the association to be released' });
  }, 60_000);
});
