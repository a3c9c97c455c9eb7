/**
 * The whole path on real parts: a private Orthanc loaded with synthetic patients, the worker
 * (BullMQ on Redis, our SCP), PostgreSQL. Query by MRN as the query-pool AE, retrieve with
 * C-MOVE to the receiving-pool AE, de-identify into the research pool, purge staging.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, freePort, type OrthancHandle } from '../../helpers/orthanc';
import { allFiles } from '../../helpers/files';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { db } from '@/lib/db';

let orthanc: OrthancHandle;
let corpus: Corpus;
let worker: { stop(): Promise<void>; scpPort: number };
let storageRoot: string;

beforeAll(async () => {
  storageRoot = (await import('@/lib/storage')).storageRoot();
  const scpPort = await freePort();
  process.env.DICOM_PORT = String(scpPort);
  corpus = generateCorpus({ seed: 11, patients: 3, rows: 32, columns: 32, instancesPerSeries: 2 });
  orthanc = await startOrthanc({
    aet: 'PATH_PACS',
    modalities: { PQ: ['PATH_QUERY', '127.0.0.1', scpPort], PR: ['PATH_RECV', '127.0.0.1', scpPort] },
  });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await orthanc?.stop();
});

describe('query, retrieve, de-identify, browse', () => {
  it('brings a patient’s studies into the pool with no PHI and no staging left', async () => {
    const { connector } = await makeConnector({ pacsAe: 'PATH_PACS', port: orthanc.dicomPort, queryAe: 'PATH_QUERY', receiveAe: 'PATH_RECV' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const patient = corpus.patients[0];
    const expectedInstances = patient.studies.reduce((n, s) => n + s.numInstances, 0);

    const { createQuery } = await import('@/lib/queries/queries');
    const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, items: [{ patientId: patient.patientId }] });
    const found = await waitFor(async () => {
      const q = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true, items: true } });
      return q.status === 'DONE' || q.status === 'FAILED' ? q : null;
    }, { what: 'query to finish' });
    expect(found.status).toBe('DONE');
    expect(found.items[0].status).toBe('DONE');
    expect(found.results.map((r) => r.studyInstanceUid).sort()).toEqual(patient.studies.map((s) => s.studyInstanceUid).sort());
    expect(found.results[0].patientId).toBe(patient.patientId);

    const { requestRetrieval } = await import('@/lib/retrievals/request');
    await requestRetrieval(actorOf(coordinator), query.id, found.results.map((r) => r.studyInstanceUid));
    // Asking twice changes nothing.
    const again = await requestRetrieval(actorOf(coordinator), query.id, found.results.map((r) => r.studyInstanceUid));
    expect(again.queued).toBe(0);

    const done = await waitFor(async () => {
      const rs = await db.retrieval.findMany({ where: { queryId: query.id } });
      return rs.length === patient.studies.length && rs.every((r) => ['DONE', 'PARTIAL', 'FAILED'].includes(r.state)) ? rs : null;
    }, { what: 'retrievals to finish', timeoutMs: 90_000 });
    for (const r of done) {
      expect(r.state, r.lastError ?? '').toBe('DONE');
      expect(r.received).toBe(r.expected);
      expect(r.stored).toBe(r.expected);
    }

    const studies = await db.study.findMany({ where: { poolId: pool.id }, include: { series: { include: { instances: true } } } });
    expect(studies).toHaveLength(patient.studies.length);
    expect(studies.reduce((n, s) => n + s.numInstances, 0)).toBe(expectedInstances);
    const identity = await db.patientIdentity.findUniqueOrThrow({ where: { poolId_sourcePatientId: { poolId: pool.id, sourcePatientId: patient.patientId } } });
    for (const s of studies) {
      expect(s.patientId).toBe(identity.researchId);
      expect(s.patientId).not.toBe(patient.patientId);
      expect(patient.studies.map((x) => x.studyInstanceUid)).not.toContain(s.studyInstanceUid);
    }

    // Scan every byte of every pool file for the PHI that went in.
    const files = await allFiles(path.join(storageRoot, 'pools', pool.id));
    expect(files).toHaveLength(expectedInstances);
    // The named four, and every other PHI string the generator put into the corpus.
    const phi = [patient.patientId, patient.patientName, patient.birthDate, ...patient.studies.map((s) => s.accessionNumber), ...corpus.phiStrings];
    for (const f of files) {
      const bytes = (await fs.readFile(f)).toString('latin1');
      for (const p of phi) expect(bytes.includes(p), `${path.basename(f)} contains PHI`).toBe(false);
    }
    // Staging is empty: originals never linger.
    // (This connector's receiving pool only: other test files share the storage root.)
    expect(await allFiles(path.join(storageRoot, 'staging', connector.receivingPoolId))).toEqual([]);
    expect(await db.stagedInstance.count({ where: { retrievalId: { in: done.map((r) => r.id) } } })).toBe(0);
  });

  it('reports a PACS that is down as a clear query failure the coordinator can retry', async () => {
    const closed = await freePort();
    const { connector } = await makeConnector({ pacsAe: 'NOBODY', port: closed });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const { createQuery } = await import('@/lib/queries/queries');
    const q = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, items: [{ patientId: '123' }] });
    const row = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: q.id } });
      return x.error ? x : null;
    }, { what: 'the first failure to be recorded' });
    expect(row.error).toMatch(/refused|connect/i);
  });
});
