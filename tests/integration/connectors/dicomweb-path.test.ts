/**
 * The coordinator path through a DICOMweb connector with HTTP basic auth, on real parts:
 * Orthanc's DICOMweb plugin (behind a recording proxy), the worker (BullMQ on Redis),
 * PostgreSQL. Query by MRN and by spreadsheet (QIDO-RS), retrieve (WADO-RS into staging, then
 * de-identified into the pool), a cut answer retried for only what is missing, cancel, and wrong
 * credentials reported on the row without retries.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startHttpProxy, type HttpProxy } from '../../helpers/http-proxy';
import { allFiles } from '../../helpers/files';
import { actorOf, makePool, makeUser, makeWebConnector, waitFor } from '../../helpers/fixtures';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { db } from '@/lib/db';

let orthanc: OrthancHandle;
let proxy: HttpProxy;
let corpus: Corpus;
let worker: { stop(): Promise<void> };
let storageRoot: string;
const auth = { username: 'research', password: 'Pacs-Web-Pass-7' };

beforeAll(async () => {
  storageRoot = (await import('@/lib/storage')).storageRoot();
  const scpPort = await freePort();
  process.env.DICOM_PORT = String(scpPort);
  corpus = generateCorpus({ seed: 23, patients: 4, rows: 32, columns: 32, instancesPerSeries: 3 });
  orthanc = await startOrthanc({ aet: 'WEBPATH', dicomWeb: true, basicAuth: auth });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  proxy = await startHttpProxy({ targetPort: orthanc.httpPort });
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await orthanc?.stop();
});

async function setup(password = auth.password) {
  const { connector } = await makeWebConnector({ baseUrl: `${proxy.url}/dicom-web`, auth: { type: 'BASIC', username: auth.username, password } });
  const coordinator = await makeUser('COORDINATOR');
  const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
  return { connector, coordinator, pool, actor: actorOf(coordinator) };
}

async function queryDone(queryId: string) {
  return waitFor(async () => {
    const q = await db.query.findUniqueOrThrow({ where: { id: queryId }, include: { results: true, items: { orderBy: { rowNumber: 'asc' } } } });
    return q.status === 'DONE' || q.status === 'FAILED' ? q : null;
  }, { what: 'query to finish' });
}

async function retrievalsDone(queryId: string, n: number) {
  return waitFor(async () => {
    const rs = await db.retrieval.findMany({ where: { queryId } });
    return rs.length === n && rs.every((r) => ['DONE', 'PARTIAL', 'FAILED', 'CANCELLED'].includes(r.state)) ? rs : null;
  }, { what: 'retrievals to finish', timeoutMs: 90_000 });
}

describe('DICOMweb connector with basic auth', () => {
  it('queries by MRN, retrieves with WADO-RS and de-identifies into the pool, leaving no staging and no PHI', async () => {
    const { connector, pool, actor } = await setup();
    const patient = corpus.patients[0];
    const expectedInstances = patient.studies.reduce((n, s) => n + s.numInstances, 0);
    const { createQuery } = await import('@/lib/queries/queries');
    const query = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: [{ patientId: patient.patientId }] });
    const found = await queryDone(query.id);
    expect(found.status, found.error ?? '').toBe('DONE');
    expect(found.results.map((r) => r.studyInstanceUid).sort()).toEqual(patient.studies.map((s) => s.studyInstanceUid).sort());
    for (const r of found.results) expect(r.numInstances).toBe(patient.studies.find((s) => s.studyInstanceUid === r.studyInstanceUid)!.numInstances);
    // includefield went out, and limit (paging).
    expect(proxy.paths.some((p) => /\/studies\?.*includefield=/.test(p) && /limit=/.test(p))).toBe(true);

    const { requestRetrieval } = await import('@/lib/retrievals/request');
    await requestRetrieval(actor, query.id, found.results.map((r) => r.studyInstanceUid));
    const done = await retrievalsDone(query.id, patient.studies.length);
    for (const r of done) {
      expect(r.state, r.lastError ?? '').toBe('DONE');
      expect(r.received).toBe(r.expected);
      expect(r.stored).toBe(r.expected);
    }
    const studies = await db.study.findMany({ where: { poolId: pool.id } });
    expect(studies.reduce((n, s) => n + s.numInstances, 0)).toBe(expectedInstances);
    const files = await allFiles(path.join(storageRoot, 'pools', pool.id));
    expect(files).toHaveLength(expectedInstances);
    const phi = [patient.patientId, patient.patientName, patient.birthDate, ...patient.studies.map((s) => s.accessionNumber)];
    for (const f of files) {
      const bytes = (await fs.readFile(f)).toString('latin1');
      for (const p of phi) expect(bytes.includes(p), 'pool file contains PHI').toBe(false);
    }
    expect(await allFiles(path.join(storageRoot, 'staging', connector.receivingPoolId))).toEqual([]);
  });

  it('runs a spreadsheet: rows answered, unknown MRNs with zero results, bad rows reported', async () => {
    const { connector, pool, actor } = await setup();
    const [a, b] = corpus.patients;
    const csv = `PatientID,Modality\n${a.patientId},\n${b.patientId},\nNOPE-404,\n${a.patientId}*,\n`;
    const { submitSpreadsheet } = await import('@/lib/queries/spreadsheet');
    const out = await submitSpreadsheet(actor, { poolId: pool.id, connectorId: connector.id, file: new File([csv], 'cohort.csv', { type: 'text/csv' }), dryRun: false });
    expect(out.verdict.invalid.length).toBe(1);
    const q = await queryDone(out.queryId!);
    expect(q.status).toBe('DONE');
    const rows = q.items.filter((i) => i.status !== 'INVALID');
    expect(rows.map((i) => i.status)).toEqual(['DONE', 'DONE', 'DONE']);
    expect(rows.map((i) => i.resultCount)).toEqual([a.studies.length, b.studies.length, 0]);
  });

  it('asks only for what is missing after a cut answer, and ends complete', async () => {
    const { connector, pool, actor } = await setup();
    const patient = corpus.patients[2];
    const study = patient.studies.reduce((x, s) => (s.numInstances > x.numInstances ? s : x));
    const { createQuery } = await import('@/lib/queries/queries');
    const query = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: [{ patientId: patient.patientId }] });
    await queryDone(query.id);
    const before = proxy.paths.length;
    proxy.truncateNext(new RegExp(`/studies/${study.studyInstanceUid.replace(/\./g, '\\.')}$`), 0.5);
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    await requestRetrieval(actor, query.id, [study.studyInstanceUid]);
    const [r] = await retrievalsDone(query.id, 1);
    expect(r.state, r.lastError ?? '').toBe('DONE');
    expect(r.stored).toBe(study.numInstances);
    const asked = proxy.paths.slice(before).filter((p) => p.includes(study.studyInstanceUid) && !p.includes('?'));
    // The whole study once (cut), then series or single instances: never the whole study again.
    expect(asked.filter((p) => p.endsWith(`/studies/${study.studyInstanceUid}`))).toHaveLength(1);
    expect(asked.some((p) => /\/series\/[0-9.]+(\/instances\/[0-9.]+)?$/.test(p))).toBe(true);
    expect(await db.study.count({ where: { poolId: pool.id } })).toBe(1);
  });

  it('cancels a running retrieve: nothing stays staged', async () => {
    const { connector, pool, actor } = await setup();
    const patient = corpus.patients[3];
    const study = patient.studies[0];
    const { createQuery } = await import('@/lib/queries/queries');
    const query = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: [{ patientId: patient.patientId }] });
    await queryDone(query.id);
    proxy.slow(400);
    try {
      const { requestRetrieval, cancelRetrieval } = await import('@/lib/retrievals/request');
      await requestRetrieval(actor, query.id, [study.studyInstanceUid]);
      const moving = await waitFor(() => db.retrieval.findFirst({ where: { queryId: query.id, state: 'MOVING' } }), { what: 'the retrieve to start' });
      await cancelRetrieval(actor, moving.id);
      await waitFor(async () => (await db.stagedInstance.count({ where: { retrievalId: moving.id } })) === 0 && (await allFiles(path.join(storageRoot, 'staging', connector.receivingPoolId))).length === 0, {
        what: 'staging to be emptied',
        timeoutMs: 20_000,
      });
      // Let the job notice; the study stays cancelled and nothing more reaches the pool: only what
      // the move's pipeline had de-identified before the cancel, counted exactly.
      await new Promise((res) => setTimeout(res, 1500));
      const cancelled = await db.retrieval.findUniqueOrThrow({ where: { id: moving.id } });
      expect(cancelled.state).toBe('CANCELLED');
      expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(cancelled.stored);
    } finally {
      proxy.slow(0);
    }
  });

  it('reports a wrong password on the rows at once, without retrying', async () => {
    const { connector, pool, actor } = await setup('not-the-password');
    const { createQuery } = await import('@/lib/queries/queries');
    const q = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: [{ patientId: corpus.patients[0].patientId }] });
    const done = await queryDone(q.id);
    expect(done.items[0].status).toBe('FAILED');
    expect(done.items[0].error).toMatch(/refused the user name or password \(HTTP 401\)/);
    expect(done.items[0].error).not.toContain('not-the-password');
  });
});
