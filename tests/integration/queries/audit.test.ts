/**
 * Audit events of the query path — query submitted, rows failed, studies retrieved — name the
 * query/retrieval by id and carry counts; never an MRN, a patient name, an accession number or
 * a source UID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

let orthanc: OrthancHandle;
let corpus: Corpus;
let worker: { stop(): Promise<void> };

beforeAll(async () => {
  const scpPort = await freePort();
  corpus = generateCorpus({ seed: 101, patients: 2, studiesPerPatient: 2, seriesPerStudy: 1, instancesPerSeries: 3, rows: 16, columns: 16 });
  orthanc = await startOrthanc({ aet: 'AUD_PACS', modalities: { Q: ['AUD_Q', '127.0.0.1', scpPort], R: ['AUD_R', '127.0.0.1', scpPort] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await orthanc?.stop();
});

/** Every identifying string of the corpus and of the rows we typed. */
function phiStrings(extra: string[]): string[] {
  const out = new Set<string>(extra);
  for (const p of corpus.patients) {
    out.add(p.patientId);
    for (const part of p.patientName.split(/[\^= ]/)) if (part.length >= 3) out.add(part);
    for (const s of p.studies) {
      out.add(s.studyInstanceUid);
      if (s.accessionNumber) out.add(s.accessionNumber);
    }
  }
  for (const i of corpus.instances) out.add(i.sopInstanceUid);
  return [...out];
}

function expectNoPhi(events: unknown[], phi: string[]) {
  const text = JSON.stringify(events);
  for (const s of phi) expect(text, 'audit events carry no PHI').not.toContain(s);
}

describe('audit events of queries and retrievals', () => {
  it('rows failed and studies retrieved carry ids and counts, never PHI', async () => {
    const { connector } = await makeConnector({ pacsAe: 'AUD_PACS', port: orthanc.dicomPort, queryAe: 'AUD_Q', receiveAe: 'AUD_R' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const actor = actorOf(coordinator);
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const patient = corpus.patients[0];
    const badMrn = 'MRN-TYPO-4471*';

    // A sheet with one good row and one invalid row (reported, never queried).
    const query = await createQuery(actor, {
      poolId: pool.id,
      connectorId: connector.id,
      source: 'SPREADSHEET',
      fileName: 'cohort.xlsx',
      items: [{ patientId: patient.patientId, accessionNumber: patient.studies[0].accessionNumber }],
      invalid: [{ rowNumber: 3, patientId: badMrn, errors: ['PatientID must not contain wildcards'] }],
    });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'query' });
    expect(found.results).toHaveLength(1);
    await requestRetrieval(actor, query.id, found.results.map((r) => r.studyInstanceUid));
    const retrieval = await waitFor(async () => {
      const r = await db.retrieval.findFirst({ where: { queryId: query.id } });
      return r?.state === 'DONE' ? r : null;
    }, { what: 'the study', timeoutMs: 60_000 });

    const rowsFailed = await db.auditEvent.findMany({ where: { action: 'query.rows-failed', targetId: query.id } });
    expect(rowsFailed).toHaveLength(1);
    expect(rowsFailed[0]).toMatchObject({ targetType: 'query', poolId: pool.id, userId: coordinator.id, detail: { failed: 0, invalid: 1 } });
    const done = await db.auditEvent.findMany({ where: { action: 'retrieval.done', targetId: retrieval.id } });
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ targetType: 'retrieval', poolId: pool.id, detail: { stored: 3, failed: 0, expected: 3, complete: true } });
    const submit = await db.auditEvent.findFirstOrThrow({ where: { action: 'query.submit', targetId: query.id } });
    expect(submit.detail).toMatchObject({ rows: 1, invalidRows: 1, connectorId: connector.id });

    // A query whose rows the PACS never answered (it stayed down to the last attempt).
    const { connector: dead } = await makeConnector({ pacsAe: 'AUD_PACS', port: await freePort() });
    const other = corpus.patients[1];
    const failedQuery = await createQuery(actor, { poolId: pool.id, connectorId: dead.id, items: [{ patientId: other.patientId }, { patientId: `${other.patientId}-2` }] });
    // The worker's first attempt fails and backs off; we run its last attempt now rather than
    // wait an hour of backoff.
    await waitFor(async () => (await db.query.findUniqueOrThrow({ where: { id: failedQuery.id } })).error?.endsWith('(retrying)') || null, { what: 'a first failed attempt' });
    const { runFind } = await import('@/lib/queries/run-find');
    const { jobId } = await import('@/lib/jobs/catalogue');
    await runFind(failedQuery.id, jobId.find(failedQuery.id, 0, 0), { isFinalAttempt: true });
    const failedRows = await db.auditEvent.findMany({ where: { action: 'query.rows-failed', targetId: failedQuery.id } });
    expect(failedRows).toHaveLength(1);
    expect(failedRows[0]).toMatchObject({ targetType: 'query', detail: { failed: 2, invalid: 0 } });

    const all = await db.auditEvent.findMany({ where: { targetId: { in: [query.id, failedQuery.id, retrieval.id] } } });
    expect(all.map((e) => e.action).sort()).toEqual(['query.rows-failed', 'query.rows-failed', 'query.submit', 'query.submit', 'retrieval.done', 'retrieval.request'].sort());
    expectNoPhi(all, phiStrings([badMrn, `${other.patientId}-2`, 'cohort.xlsx']));
  });
});
