/**
 * No PHI in logs, job state or audit rows, proven end to end.
 *
 * The whole path runs on real parts (a private Orthanc loaded with the synthetic PHI corpus, the
 * worker with BullMQ and our SCP, PostgreSQL), started by a spreadsheet upload through the API,
 * and is made to fail in every way we know of:
 * - bad spreadsheet rows (a wildcard MRN, a wildcard accession number);
 * - a PACS that is down (a second connector pointing at a closed port);
 * - a move the PACS cannot serve (the study was deleted from the PACS after the query);
 * - a de-identification error (a staged instance truncated before the anonymize step);
 * - database errors that quote the value they choke on (PostgreSQL triggers that raise with the
 *   MRN being stored as a research identity, with the SOP Instance UID being staged, and with the
 *   name and birth date of a C-FIND answer being stored: what a cast or constraint error does,
 *   e.g. `invalid input syntax for type integer: "<value>"`).
 * Then every log line the logger wrote (at debug level), every key and value under the test's
 * Redis prefix (BullMQ job data, return values, failure reasons, stack traces, event streams) and
 * every audit row, and the error text on rows coordinators read (Retrieval.lastError, Query.error,
 * QueryItem.error) are scanned for every PHI string of the corpus. Zero hits.
 */
import fs from 'node:fs/promises';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { env } from '@/lib/env';
import { jobId } from '@/lib/jobs/catalogue';
import { queue } from '@/lib/jobs/queues';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { call } from '../../helpers/api';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { redisTexts } from '../../helpers/redis-dump';
import { freePort, orthancRest, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { phiStrings, scanForPhi as scan } from '../../helpers/phi';

let orthanc: OrthancHandle;
let corpus: Corpus;
let worker: { stop(): Promise<void>; scpPort: number } | undefined;
const logLines: string[] = [];
const realWrite = process.stderr.write.bind(process.stderr);
const savedLevel = process.env.LOG_LEVEL;

beforeAll(async () => {
  // Every line the logger writes (the worker, the SCP, the route handlers and the de-identification
  // threads all run in this process), at the most talkative level.
  process.env.LOG_LEVEL = 'debug';
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logLines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;

  // The de-identification error below is a staged original truncated between the move and the
  // anonymize step, so this file runs the sequential path: with the move's pipeline
  // (lib/retrievals/pipeline.ts) an instance is de-identified as soon as it lands, leaving no
  // moment to cut it. The pipelined path's logs are scanned for PHI by the chaos test
  // (tests/integration/ops/chaos.test.ts).
  process.env.RETRIEVE_PIPELINE = '0';
  (env() as { RETRIEVE_PIPELINE: boolean }).RETRIEVE_PIPELINE = false;

  const scpPort = await freePort();
  process.env.DICOM_PORT = String(scpPort);
  corpus = generateCorpus({ seed: 97, patients: 5, rows: 16, columns: 16, instancesPerSeries: 2 });
  orthanc = await startOrthanc({
    aet: 'PHI_PACS',
    modalities: { PQ: ['PHI_QUERY', '127.0.0.1', scpPort], PR: ['PHI_RECV', '127.0.0.1', scpPort] },
  });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  delete process.env.RETRIEVE_PIPELINE;
  (env() as { RETRIEVE_PIPELINE: boolean }).RETRIEVE_PIPELINE = true;
  await orthanc?.stop();
  await db.$executeRawUnsafe('DROP TRIGGER IF EXISTS phi_scan_identity ON "PatientIdentity"');
  await db.$executeRawUnsafe('DROP TRIGGER IF EXISTS phi_scan_staged ON "StagedInstance"');
  await db.$executeRawUnsafe('DROP TRIGGER IF EXISTS phi_scan_result ON "QueryResult"');
  for (const f of ['phi_scan_identity', 'phi_scan_staged', 'phi_scan_result']) await db.$executeRawUnsafe(`DROP FUNCTION IF EXISTS ${f}()`);
  process.stderr.write = realWrite as typeof process.stderr.write;
  if (savedLevel === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = savedLevel;
});

async function sheet(rows: (string | null)[][]) {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Query');
  for (const c of [1, 2]) ws.getColumn(c).numFmt = '@';
  ws.addRow(['PatientID', 'AccessionNumber']);
  for (const r of rows) ws.addRow(r);
  return new File([new Uint8Array(await wb.xlsx.writeBuffer())], 'cohort.xlsx');
}

function form(poolId: string, connectorId: string, file: File) {
  const f = new FormData();
  f.set('poolId', poolId);
  f.set('connectorId', connectorId);
  f.set('dryRun', 'false');
  f.set('file', file);
  return f;
}

async function jobOf(q: 'find' | 'move' | 'anonymize', id: string) {
  return queue(q).getJob(id);
}

describe('PHI never reaches logs, job state or audit rows', () => {
  it('runs the path with every failure and finds no PHI string of the corpus anywhere', async () => {
    const [p0, p1, p2, p3, p4] = corpus.patients;
    expect(p0.studies.length).toBe(2);
    expect(p2.studies.length).toBe(2);

    const { connector } = await makeConnector({ pacsAe: 'PHI_PACS', port: orthanc.dicomPort, queryAe: 'PHI_QUERY', receiveAe: 'PHI_RECV' });
    const down = await makeConnector({ pacsAe: 'PHI_DOWN', port: await freePort() });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const { token } = await createApiToken({ userId: coordinator.id, name: 'phi-scan' });

    // 1. A spreadsheet with four patients and two bad rows.
    const file = await sheet([
      [p0.patientId, null],
      [p1.patientId, null],
      [`${p0.patientId}*`, null],
      [p2.patientId, null],
      [p3.patientId, `${p3.studies[0].accessionNumber}?`],
      [p3.patientId, null],
    ]);
    const up = await call(api.uploadQuerySpreadsheet, {}, { token, form: form(pool.id, connector.id, file) });
    expect(up.status, up.text).toBe(201);
    const queryId = (up.json as { queryId: string }).queryId;
    const found = await waitFor(async () => {
      const q = await db.query.findUniqueOrThrow({ where: { id: queryId }, include: { results: true, items: true } });
      return q.status === 'DONE' || q.status === 'FAILED' ? q : null;
    }, { what: 'the spreadsheet query to finish' });
    expect(found.items.filter((i) => i.status === 'INVALID')).toHaveLength(2);
    const uidsOf = (p: typeof p0) => p.studies.map((s) => s.studyInstanceUid);
    expect(found.results.map((r) => r.studyInstanceUid).sort()).toEqual([p0, p1, p2, p3].flatMap(uidsOf).sort());

    // 2. The same cohort against a PACS that is down.
    const downUp = await call(api.uploadQuerySpreadsheet, {}, { token, form: form(pool.id, down.connector.id, file) });
    expect(downUp.status, downUp.text).toBe(201);
    const downQueryId = (downUp.json as { queryId: string }).queryId;

    // 3. Database errors that quote the value: storing P1's research identity, staging one
    //    instance of P2's second study.
    const stagedSop = corpus.instances.find((i) => i.studyInstanceUid === p2.studies[1].studyInstanceUid)!.sopInstanceUid;
    await db.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION phi_scan_identity() RETURNS trigger AS $$
      BEGIN IF NEW."sourcePatientId" = '${p1.patientId}' THEN RAISE EXCEPTION 'invalid input syntax for type integer: "%"', NEW."sourcePatientId"; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await db.$executeRawUnsafe('CREATE TRIGGER phi_scan_identity BEFORE INSERT ON "PatientIdentity" FOR EACH ROW EXECUTE FUNCTION phi_scan_identity()');
    await db.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION phi_scan_staged() RETURNS trigger AS $$
      BEGIN IF NEW."sopInstanceUid" = '${stagedSop}' THEN RAISE EXCEPTION 'value "%" violates check constraint', NEW."sopInstanceUid"; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await db.$executeRawUnsafe('CREATE TRIGGER phi_scan_staged BEFORE INSERT ON "StagedInstance" FOR EACH ROW EXECUTE FUNCTION phi_scan_staged()');

    // ...and storing the C-FIND answer for P4 (its own query).
    await db.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION phi_scan_result() RETURNS trigger AS $$
      BEGIN IF NEW."patientId" = '${p4.patientId}' THEN RAISE EXCEPTION 'value too long for "%" born %', NEW."patientName", NEW."patientBirthDate"; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await db.$executeRawUnsafe('CREATE TRIGGER phi_scan_result BEFORE INSERT ON "QueryResult" FOR EACH ROW EXECUTE FUNCTION phi_scan_result()');
    const { createQuery } = await import('@/lib/queries/queries');
    const q4 = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, items: [{ patientId: p4.patientId }] });

    // 4. A move the PACS cannot serve: P2's first study is gone from the PACS.
    const lookup = await orthancRest(`${orthanc.httpUrl}/tools/lookup`, 'POST', Buffer.from(p2.studies[0].studyInstanceUid));
    const [{ ID: orthancStudy }] = JSON.parse(lookup.body.toString('utf8')) as { ID: string }[];
    expect((await orthancRest(`${orthanc.httpUrl}/studies/${orthancStudy}`, 'DELETE')).status).toBe(200);

    // 5. A de-identification error: one staged instance of P3 truncated before the anonymize step.
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const anonymizeQueue = queue('anonymize');
    await anonymizeQueue.pause();
    await requestRetrieval(actorOf(coordinator), queryId, uidsOf(p3));
    const r3 = await waitFor(async () => {
      const r = await db.retrieval.findFirst({ where: { queryId, studyInstanceUid: p3.studies[0].studyInstanceUid }, include: { staged: true } });
      return r && r.state === 'ANONYMIZING' && r.staged.length === p3.studies[0].numInstances ? r : null;
    }, { what: 'P3 staged', timeoutMs: 60_000 });
    const victim = r3.staged[0].path;
    const bytes = await fs.readFile(victim);
    // Cut inside the last element (Pixel Data): a cut that happened to fall between two elements
    // would leave a shorter but well-formed dataset.
    await fs.writeFile(victim, bytes.subarray(0, bytes.length - 64));
    await anonymizeQueue.resume();

    // 6. Everything else.
    await requestRetrieval(actorOf(coordinator), queryId, [p0, p1, p2].flatMap(uidsOf));

    // Wait until every failure has happened (and been retried at least once where it retries).
    const byStudy = async (uid: string) => db.retrieval.findFirstOrThrow({ where: { queryId, studyInstanceUid: uid } });
    await waitFor(async () => {
      const rs = await Promise.all(uidsOf(p0).map(byStudy));
      return rs.every((r) => r.state === 'DONE');
    }, { what: 'P0 retrieved', timeoutMs: 90_000 });
    await waitFor(async () => (await byStudy(p3.studies[0].studyInstanceUid)).state === 'PARTIAL', { what: 'P3 partial' });
    const r1 = await byStudy(p1.studies[0].studyInstanceUid);
    await waitFor(async () => ((await jobOf('anonymize', jobId.anonymize(r1.id, 0)))?.attemptsMade ?? 0) >= 1, { what: 'P1 identity failure' });
    const r2a = await byStudy(p2.studies[0].studyInstanceUid);
    const r2b = await byStudy(p2.studies[1].studyInstanceUid);
    await waitFor(async () => ((await jobOf('move', jobId.move(r2a.id, 0)))?.attemptsMade ?? 0) >= 1, { what: 'P2 refused move' });
    await waitFor(async () => ((await jobOf('move', jobId.move(r2b.id, 0)))?.attemptsMade ?? 0) >= 1, { what: 'P2 staging failure' });
    await waitFor(async () => (await db.query.findUniqueOrThrow({ where: { id: downQueryId } })).error, { what: 'PACS down' });
    await waitFor(async () => (await db.query.findUniqueOrThrow({ where: { id: q4.id } })).error, { what: 'P4 result not stored' });
    await waitFor(async () => {
      const jobs = await queue('find').getJobs(['delayed', 'failed', 'wait', 'active', 'completed']);
      return jobs.some((j) => j?.data?.queryId === downQueryId && j.attemptsMade >= 1);
    }, { what: 'the down PACS find job to fail once' });

    // The failures did happen (the scan below would otherwise prove nothing).
    expect((await byStudy(p3.studies[0].studyInstanceUid)).failed).toBeGreaterThan(0);
    expect((await byStudy(p1.studies[0].studyInstanceUid)).state).not.toBe('DONE');
    expect((await byStudy(p2.studies[0].studyInstanceUid)).lastError).toBeTruthy();
    expect(logLines.some((l) => l.includes('"level":"error"') || l.includes('"level":"warn"'))).toBe(true);

    // The scan.
    const phi = phiStrings(corpus);
    expect(phi.length).toBeGreaterThan(50);
    const audits = await db.auditEvent.findMany();
    expect(audits.length).toBeGreaterThan(0);
    const redisAll = await redisTexts();
    expect(redisAll.some((t) => t.includes('failedReason'))).toBe(true);
    // The error text on rows shown to coordinators: ours, with no value in it either.
    const shown = [
      ...(await db.retrieval.findMany({ select: { id: true, lastError: true } })).map((r) => `retrieval ${r.id}: ${r.lastError ?? ''}`),
      ...(await db.query.findMany({ select: { id: true, error: true } })).map((q) => `query ${q.id}: ${q.error ?? ''}`),
      ...(await db.queryItem.findMany({ select: { id: true, error: true } })).map((i) => `row ${i.id}: ${i.error ?? ''}`),
    ];
    expect(shown.some((t) => /wildcard/i.test(t))).toBe(true);
    // Study provenance (what researchers download with a study): written for every study stored.
    const provenance = (await db.studyProvenance.findMany()).map((p) => JSON.stringify(p));
    expect(provenance.length).toBeGreaterThan(0);
    // Every study this run's retrievals stored has its entry (other test files share the database:
    // only this test's pools are counted).
    const ownPools = [...new Set((await db.retrieval.findMany({ where: { query: { poolId: pool.id } }, select: { poolId: true } })).map((r) => r.poolId))];
    const ownStudies = await db.study.findMany({ where: { poolId: { in: ownPools } }, select: { id: true } });
    expect(ownStudies.length).toBeGreaterThan(0);
    const withProvenance = await db.studyProvenance.findMany({ where: { studyId: { in: ownStudies.map((x) => x.id) } }, select: { studyId: true } });
    expect(new Set(withProvenance.map((x) => x.studyId)).size).toBe(ownStudies.length);
    const hits = [
      ...scan('provenance', provenance, phi),
      ...scan('shown error', shown, phi),
      ...scan('log', logLines, phi),
      ...scan('redis', redisAll, phi),
      ...scan('audit', audits.map((a) => JSON.stringify(a)), phi),
    ];
    expect(hits).toEqual([]);
  }, 240_000);
});
