/**
 * Issue 10, item 4: a PACS that does not know our receiving AE. Orthanc's DicomModalities lists
 * the query AE only; a C-MOVE to the receiving AE is a configuration error. Both studies of the
 * query fail fast (one move each, no hour of retries) with a message that says exactly what the
 * PACS administrator must register (AE title, DICOM_ADVERTISED_HOST, DICOM_PORT), shown on the
 * connector once; registering the AE and retrying delivers the study and clears the connector's
 * message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { env } from '@/lib/env';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

let orthanc: OrthancHandle;
let corpus: Corpus;
let worker: { stop(): Promise<void> };
let scpPort: number;

beforeAll(async () => {
  scpPort = await freePort();
  corpus = generateCorpus({ seed: 97, patients: 2, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 2, rows: 64, columns: 64 });
  // The receiving AE (DEST_R) is not registered at the PACS.
  // Moves are allowed from any calling AE (as many PACS are set up), so the PACS answers the move itself.
  orthanc = await startOrthanc({ aet: 'DEST_PACS', modalities: { Q: ['DEST_Q', '127.0.0.1', scpPort] }, alwaysAllowFindMove: true });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await orthanc?.stop();
});

describe('C-MOVE to a destination the PACS does not know', () => {
  it('fails fast with what to register, on the study and once on the connector', async () => {
    const { connector } = await makeConnector({ pacsAe: 'DEST_PACS', port: orthanc.dicomPort, maxAssociations: 2, queryAe: 'DEST_Q', receiveAe: 'DEST_R' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval, retryRetrieval } = await import('@/lib/retrievals/request');
    const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, items: corpus.patients.map((p) => ({ patientId: p.patientId })) });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'query' });
    expect(found.results).toHaveLength(2);
    const started = Date.now();
    await requestRetrieval(actorOf(coordinator), query.id, found.results.map((r) => r.studyInstanceUid));
    const failed = await waitFor(async () => {
      const rs = await db.retrieval.findMany({ where: { queryId: query.id } });
      return rs.every((r) => r.state === 'FAILED') ? rs : null;
    }, { what: 'both studies to fail', timeoutMs: 30_000, intervalMs: 200 });
    // Fast: no backoff (the first retry alone would wait 5 s, the whole series about an hour).
    expect(Date.now() - started).toBeLessThan(20_000);
    const { DICOM_ADVERTISED_HOST, DICOM_PORT } = env();
    for (const r of failed) {
      expect(r.lastError).toContain('AE title DEST_R');
      expect(r.lastError).toContain(`host ${DICOM_ADVERTISED_HOST}`);
      expect(r.lastError).toContain(`port ${DICOM_PORT}`);
      expect(r.lastError).not.toMatch(/retrying/);
    }
    const c = await db.connector.findUniqueOrThrow({ where: { id: connector.id } });
    expect(c.moveProblem).toBe(`The PACS DEST_PACS cannot send studies to DEST_R. Ask the PACS administrator to register Tributary as a C-MOVE destination: AE title DEST_R, host ${DICOM_ADVERTISED_HOST}, port ${DICOM_PORT}.`);
    const firstAt = c.moveProblemAt;
    expect(firstAt).not.toBeNull();

    // The administrator registers the AE: Retry delivers and the connector's message goes.
    const put = await fetch(`${orthanc.httpUrl}/modalities/R`, { method: 'PUT', body: JSON.stringify({ AET: 'DEST_R', Host: '127.0.0.1', Port: scpPort }) });
    expect(put.status).toBe(200);
    await retryRetrieval(actorOf(coordinator), failed[0].id);
    const done = await waitFor(async () => {
      const x = await db.retrieval.findUniqueOrThrow({ where: { id: failed[0].id } });
      return ['DONE', 'PARTIAL', 'FAILED'].includes(x.state) && x.attempts === 1 ? x : null;
    }, { what: 'the retried study', timeoutMs: 60_000, intervalMs: 300 });
    expect(done.state, done.lastError ?? '').toBe('DONE');
    expect((await db.connector.findUniqueOrThrow({ where: { id: connector.id } })).moveProblem).toBeNull();

    // The other study is deleted at the PACS, then retried: zero sub-operations again, but a
    // series-level query finds nothing, so the study fails with that reason, and the connector
    // (which works) gets no destination message.
    const gone = failed[1];
    const lookup = await fetch(`${orthanc.httpUrl}/tools/lookup`, { method: 'POST', body: gone.studyInstanceUid });
    const [{ ID }] = (await lookup.json()) as { ID: string }[];
    expect((await fetch(`${orthanc.httpUrl}/studies/${ID}`, { method: 'DELETE' })).status).toBe(200);
    await retryRetrieval(actorOf(coordinator), gone.id);
    const failedAgain = await waitFor(async () => {
      const x = await db.retrieval.findUniqueOrThrow({ where: { id: gone.id } });
      return x.state === 'FAILED' && x.attempts === 1 ? x : null;
    }, { what: 'the deleted study to fail', timeoutMs: 30_000, intervalMs: 300 });
    expect(failedAgain.lastError).toMatch(/no longer has this study/);
    expect(failedAgain.lastError).not.toMatch(/register|retrying/);
    expect((await db.connector.findUniqueOrThrow({ where: { id: connector.id } })).moveProblem).toBeNull();
  }, 120_000);
});
