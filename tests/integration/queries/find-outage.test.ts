/**
 * A PACS that goes down during a batch C-FIND: the connection drops partway through a chunk's
 * answers on one association and new connections fail for a while. Rows already answered keep
 * their results; the rest wait (retrying with backoff, the reason shown on the query) and are
 * asked again when the PACS is back. No row fails, every row ends with exactly its studies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { DicomNetworkError, DicomQueryError } from '@/lib/dicom/scu';
import { FIND_CHUNK, isTransientFindError } from '@/lib/queries/run-find';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makeUser, makePool, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

let orthanc: OrthancHandle;
let proxy: TcpProxy;
let corpus: Corpus;
let worker: { stop(): Promise<void> };

beforeAll(async () => {
  const scpPort = await freePort();
  // 300 patients, each with one or two studies: several chunks of rows.
  corpus = generateCorpus({ seed: 77, patients: 300, studiesPerPatient: undefined, seriesPerStudy: 1, instancesPerSeries: 1, rows: 8, columns: 8 });
  orthanc = await startOrthanc({ aet: 'FO_PACS', modalities: { Q: ['FO_Q', '127.0.0.1', scpPort], R: ['FO_R', '127.0.0.1', scpPort] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  proxy = await startTcpProxy({ targetPort: orthanc.dicomPort });
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await orthanc?.stop();
});

describe('which C-FIND errors make a row wait', () => {
  it('network trouble and "out of resources" wait; a failure status or an invalid row fails', () => {
    expect(isTransientFindError(new DicomNetworkError('refused', 'Connection refused'))).toBe(true);
    expect(isTransientFindError(new DicomNetworkError('aborted', 'reset'))).toBe(true);
    expect(isTransientFindError(new DicomNetworkError('timeout', 'no answer'))).toBe(true);
    expect(isTransientFindError(new DicomNetworkError('association-rejected', 'busy'))).toBe(true);
    expect(isTransientFindError(new DicomNetworkError('status', 'out of resources', 0xa700))).toBe(true);
    expect(isTransientFindError(new DicomNetworkError('status', 'unable to process', 0xc000))).toBe(false);
    expect(isTransientFindError(new DicomNetworkError('status', 'identifier does not match SOP class', 0xa900))).toBe(false);
    expect(isTransientFindError(new DicomQueryError('A single MRN is required'))).toBe(false);
    expect(isTransientFindError(new Error('something else'))).toBe(false);
  });
});

describe('PACS outage during a batch C-FIND', () => {
  it('keeps the unanswered rows waiting and completes every row once the PACS is back', async () => {
    const pools = await makeConnector({ pacsAe: 'FO_PACS', port: proxy.port, maxAssociations: 2, queryAe: 'FO_Q', receiveAe: 'FO_R' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const { createQuery } = await import('@/lib/queries/queries');

    // The first association is cut once ~30 KB of answers came back (a few dozen of its rows),
    // and the PACS then refuses connections until we say it is back.
    proxy.cutAfter(30_000);
    const query = await createQuery(actorOf(coordinator), {
      poolId: pool.id,
      connectorId: pools.connector.id,
      source: 'SPREADSHEET',
      fileName: 'cohort.xlsx',
      items: corpus.patients.map((p) => ({ patientId: p.patientId })),
    });

    const retrying = await waitFor(async () => {
      const q = await db.query.findUniqueOrThrow({ where: { id: query.id } });
      return q.error?.endsWith('(retrying)') ? q : null;
    }, { what: 'the query to show it is retrying', timeoutMs: 60_000 });
    expect(retrying.status).toBe('RUNNING');
    // A retry met the PACS still down.
    await waitFor(async () => proxy.refused > 0 || null, { what: 'a retry during the outage', timeoutMs: 60_000 });
    const during = await db.queryItem.groupBy({ by: ['status'], where: { queryId: query.id }, _count: true });
    const count = (s: string) => during.find((g) => g.status === s)?._count ?? 0;
    expect(count('FAILED'), 'no row fails during the outage').toBe(0);
    expect(count('DONE'), 'rows answered before the cut kept their results').toBeGreaterThan(0);
    expect(count('DONE'), 'the cut came partway through the first chunk').toBeLessThan(FIND_CHUNK);

    proxy.up();
    const done = await waitFor(async () => {
      const q = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { items: true, results: true } });
      return q.status === 'DONE' || q.status === 'FAILED' ? q : null;
    }, { what: 'the query after the PACS came back', timeoutMs: 120_000, intervalMs: 500 });
    expect(done.status).toBe('DONE');
    expect(done.error).toBeNull();
    expect(done.items.filter((i) => i.status !== 'DONE')).toEqual([]);
    // Exactly each patient's studies, once.
    const expected = new Map(corpus.patients.map((p) => [p.patientId, new Set(p.studies.map((s) => s.studyInstanceUid))]));
    for (const item of done.items) {
      const got = done.results.filter((r) => r.itemId === item.id).map((r) => r.studyInstanceUid);
      expect(new Set(got), `row ${item.rowNumber}`).toEqual(expected.get(item.patientId));
      expect(item.resultCount).toBe(got.length);
    }
    expect(done.results).toHaveLength(corpus.patients.reduce((n, p) => n + p.studies.length, 0));
  }, 180_000);
});
