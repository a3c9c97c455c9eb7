/**
 * Database cohort sources against this machine's PostgreSQL and MariaDB (a scratch "RIS" database
 * each), through the REST API: the admin saves and tests a source, a coordinator fills its
 * parameters, the rows become a query found and retrieved through a DICOM connector against a
 * private Orthanc. Then every bad input and the attacks: SQL in a parameter, a coordinator
 * editing a source, statements that write, a write hidden in a function.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { encryptSecret } from '@/lib/secrets';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { call } from '../../helpers/api';
import { makeConnector, makePool, makeUser, suffix, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { makeRis, type Exam, type FakeRis } from '../../helpers/ris';

let orthanc: OrthancHandle;
let corpus: Corpus;
let worker: { stop(): Promise<void> } | undefined;
let adminToken: string;
let coordToken: string;
let poolId: string;
let connectorId: string;
const dbs: FakeRis[] = [];

const iso = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;

beforeAll(async () => {
  const scpPort = await freePort();
  process.env.DICOM_PORT = String(scpPort);
  corpus = generateCorpus({ seed: 41, patients: 3, rows: 16, columns: 16, instancesPerSeries: 1 });
  orthanc = await startOrthanc({ aet: 'COH_PACS', modalities: { PQ: ['COH_QUERY', '127.0.0.1', scpPort], PR: ['COH_RECV', '127.0.0.1', scpPort] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
  connectorId = (await makeConnector({ pacsAe: 'COH_PACS', port: orthanc.dicomPort, queryAe: 'COH_QUERY', receiveAe: 'COH_RECV' })).connector.id;
  const admin = await makeUser('ADMIN');
  const coord = await makeUser('COORDINATOR');
  poolId = (await makePool({ members: [{ userId: coord.id, role: 'COORDINATOR' }] })).id;
  adminToken = (await createApiToken({ userId: admin.id, name: 't' })).token;
  coordToken = (await createApiToken({ userId: coord.id, name: 't' })).token;
});

afterAll(async () => {
  await worker?.stop();
  await orthanc?.stop();
  for (const d of dbs) await d.drop().catch(() => undefined);
});

/** The RIS rows: the corpus's studies (C34 for patients 0 and 1, I21 for patient 2), a duplicate, a bad modality. */
function exams(): Exam[] {
  const rows: Exam[] = corpus.patients.flatMap((p, i) =>
    p.studies.map((s) => ({ mrn: p.patientId, accession: s.accessionNumber, studyUid: s.studyInstanceUid, modality: s.modality, examDate: iso(s.studyDate), icd10: i < 2 ? 'C34' : 'I21' })),
  );
  const first = rows[0];
  rows.push({ ...first }); // the RIS lists the exam twice: merged
  rows.push({ mrn: 'BADMOD1', accession: null, studyUid: null, modality: 'MRI', examDate: first.examDate, icd10: 'C34' });
  return rows;
}

const SQL = `SELECT e.mrn, e.accession AS acc, e.study_uid, e.modality, e.exam_date
FROM exams e
WHERE e.exam_date >= :from AND e.exam_date <= :to AND icd10 = :code -- the coordinator's diagnosis code
ORDER BY e.mrn, e.exam_date`;

const PARAMETERS = [
  { name: 'from', label: 'Exams from', type: 'date' },
  { name: 'to', label: 'Exams until', type: 'date' },
  { name: 'code', label: 'ICD-10 code', type: 'text' },
];

function sourceBody(ris: FakeRis, over: Record<string, unknown> = {}) {
  return {
    name: `RIS ${ris.driver} ${suffix()}`,
    driver: ris.driver,
    host: ris.host,
    port: ris.port,
    database: ris.database,
    user: ris.user,
    password: ris.password,
    sql: SQL,
    parameters: PARAMETERS,
    mapping: { patientId: 'mrn', accessionNumber: 'acc', studyInstanceUid: 'study_uid', modality: 'modality', studyDate: 'exam_date' },
    rowCap: 100,
    timeoutSeconds: 5,
    connectorId,
    ...over,
  };
}

type Verdict = { verdict: { rows: number; validRows: number; duplicatesMerged: number; invalid: { rowNumber: number; errors: string[] }[] }; queryId?: string };
type ErrorBody = { error: { code: string; message: string; fields?: Record<string, string[]> } };
const allDates = { from: '1900-01-01', to: '2100-12-31' };

describe.each(['POSTGRES', 'MYSQL'] as const)('database cohort source on %s', (driver) => {
  let ris: FakeRis;
  let sourceId: string;

  beforeAll(async () => {
    ris = await makeRis(driver, exams(), `pw-${suffix()}`);
    dbs.push(ris);
  });

  it('is saved by an admin after a zero-row dry run, tested, and never shows its password', async () => {
    const created = await call(api.createCohortSource, {}, { token: adminToken, body: sourceBody(ris) });
    expect(created.status, created.text).toBe(201);
    const s = created.json as { id: string; password: string };
    sourceId = s.id;
    expect(s.password).toBe('set');
    expect(created.text).not.toContain(ris.password);
    const stored = await db.cohortSource.findUniqueOrThrow({ where: { id: sourceId } });
    expect(stored.password).not.toContain(ris.password);
    expect(stored.password).toMatch(/^v1:/);

    const test = await call(api.testCohortSource, { id: sourceId }, { token: adminToken });
    expect(test.status).toBe(200);
    const t = test.json as { ok: boolean; columns: string[]; mapped: { field: string; found: boolean }[] };
    expect(t.ok).toBe(true);
    expect(t.columns).toEqual(['mrn', 'acc', 'study_uid', 'modality', 'exam_date']);
    expect(t.mapped.every((m) => m.found)).toBe(true);

    const list = await call(api.listCohortSources, {}, { token: coordToken });
    const mine = (list.json as Record<string, unknown>[]).find((x) => x.id === sourceId)!;
    expect(Object.keys(mine).sort()).toEqual(['connector', 'description', 'id', 'name', 'parameters', 'rowCap']);
  });

  it('turns the coordinator’s parameters into a query found and retrieved through the connector', async () => {
    const dry = await call(api.runCohortSource, { id: sourceId }, { token: coordToken, body: { poolId, parameters: { ...allDates, code: 'C34' }, dryRun: true } });
    expect(dry.status, dry.text).toBe(200);
    const v = (dry.json as Verdict).verdict;
    const c34 = corpus.patients.slice(0, 2).flatMap((p) => p.studies);
    expect(v.rows).toBe(c34.length + 2);
    expect(v.validRows).toBe(c34.length);
    expect(v.duplicatesMerged).toBe(1);
    expect(v.invalid).toHaveLength(1);
    expect(v.invalid[0].errors.join()).toMatch(/write MR instead of MRI/);
    expect((dry.json as Verdict).queryId).toBeUndefined();

    const run = await call(api.runCohortSource, { id: sourceId }, { token: coordToken, body: { poolId, parameters: { ...allDates, code: 'C34' } } });
    expect(run.status, run.text).toBe(201);
    const queryId = (run.json as Verdict).queryId!;
    const q = await db.query.findUniqueOrThrow({ where: { id: queryId } });
    expect(q).toMatchObject({ source: 'DB', cohortSourceId: sourceId, connectorId, poolId });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: queryId }, include: { results: true, items: true } });
      return x.status === 'DONE' || x.status === 'FAILED' ? x : null;
    }, { what: 'the query to finish' });
    expect(found.items.filter((i) => i.status === 'INVALID')).toHaveLength(1);
    expect(found.items.filter((i) => i.status === 'DONE')).toHaveLength(c34.length);
    // Each row named its study: exactly those studies, not every study of the patients.
    expect(found.results.map((r) => r.studyInstanceUid).sort()).toEqual(c34.map((s) => s.studyInstanceUid).sort());

    const audits = await db.auditEvent.findMany({ where: { action: 'cohort.run', targetId: sourceId }, orderBy: { at: 'asc' } });
    expect(audits.map((a) => a.detail)).toEqual([
      expect.objectContaining({ dryRun: true, rows: c34.length + 2, parameters: 'from,to,code' }),
      expect.objectContaining({ queryId, parameters: 'from,to,code', 'param.from': allDates.from, validRows: c34.length }),
    ]);
    // Text values (a diagnosis code here) are not audited, nor any row value.
    expect(JSON.stringify(audits)).not.toContain('C34');
    expect(dry.text).not.toContain(corpus.patients[0].patientId);

    const retrieve = await call(api.retrieveQuery, { id: queryId }, { token: coordToken, body: { studyInstanceUids: found.results.map((r) => r.studyInstanceUid) } });
    expect(retrieve.status, retrieve.text).toBe(202);
    const done = await waitFor(async () => {
      const rs = await db.retrieval.findMany({ where: { queryId } });
      return rs.length === c34.length && rs.every((r) => ['DONE', 'PARTIAL', 'FAILED'].includes(r.state)) ? rs : null;
    }, { what: 'retrievals to finish', timeoutMs: 90_000 });
    for (const r of done) expect(r.state, r.lastError ?? '').toBe('DONE');
  });

  it('maps ResearchID like a spreadsheet column: one per patient, merged; a patient given two is refused on every row', async () => {
    const p2 = corpus.patients[2];
    expect(p2.studies.length).toBe(2);
    const make = async (rid: string) =>
      db.cohortSource.create({
        data: {
          ...sourceBody(ris, { sql: `SELECT mrn, ${rid} AS rid FROM exams WHERE icd10 = :code`, parameters: [{ name: 'code', label: 'Code', type: 'text', required: true }], mapping: { patientId: 'mrn', researchId: 'rid' } }),
          password: encryptSecret(ris.password),
        },
      });
    const one = await make("CONCAT('R', mrn)");
    const ok = await call(api.runCohortSource, { id: one.id }, { token: coordToken, body: { poolId, parameters: { code: 'I21' } } });
    expect(ok.status, ok.text).toBe(201);
    const items = await db.queryItem.findMany({ where: { queryId: (ok.json as Verdict).queryId } });
    expect(items.map((i) => [i.patientId, i.researchId, i.mergedRowNumbers.length])).toEqual([[p2.patientId, `R${p2.patientId}`, 1]]);
    // The worker runs beside the test and may already have claimed or answered the row.
    expect(['PENDING', 'RUNNING', 'DONE']).toContain(items[0].status);

    const two = await make("CONCAT('R', accession)");
    const bad = await call(api.runCohortSource, { id: two.id }, { token: coordToken, body: { poolId, parameters: { code: 'I21' }, dryRun: true } });
    const v = (bad.json as Verdict).verdict;
    expect(v.validRows).toBe(0);
    expect(v.invalid.map((r) => r.errors.join())).toEqual([expect.stringMatching(/different ResearchIDs/), expect.stringMatching(/different ResearchIDs/)]);
  });

  it('binds parameters: SQL typed into a parameter is a value that matches nothing', async () => {
    const before = await db.query.count({ where: { poolId } });
    for (const code of ["C34' OR '1'='1", "C34'; DELETE FROM exams; --", 'C34) OR (1=1']) {
      const r = await call(api.runCohortSource, { id: sourceId }, { token: coordToken, body: { poolId, parameters: { ...allDates, code } } });
      expect(r.status).toBe(422);
      expect((r.json as ErrorBody).error.message).toBe('The database returned no rows for these parameters');
    }
    expect(await db.query.count({ where: { poolId } })).toBe(before);
  });

  it('refuses a parameter of the wrong type, a missing one and an undeclared one, naming the parameter', async () => {
    const r = await call(api.runCohortSource, { id: sourceId }, { token: coordToken, body: { poolId, parameters: { from: 'last week', code: 'C34', extra: '1' } } });
    expect(r.status).toBe(422);
    const f = (r.json as ErrorBody).error.fields!;
    expect(f.from).toEqual(['Exams from must be a date as YYYY-MM-DD']);
    expect(f.to).toEqual(['Exams until is required']);
    expect(f.extra).toEqual(['extra is not a parameter of this source']);
  });

  it('says "more than N rows" instead of cutting the cohort short', async () => {
    await db.cohortSource.update({ where: { id: sourceId }, data: { rowCap: 2 } });
    try {
      const r = await call(api.runCohortSource, { id: sourceId }, { token: coordToken, body: { poolId, parameters: { ...allDates, code: 'C34' } } });
      expect(r.status).toBe(422);
      expect((r.json as ErrorBody).error.message).toMatch(/^More than 2 rows: narrow the parameters/);
    } finally {
      await db.cohortSource.update({ where: { id: sourceId }, data: { rowCap: 100 } });
    }
  });

  it('lets only admins create, edit, test or delete a source', async () => {
    expect((await call(api.createCohortSource, {}, { token: coordToken, body: sourceBody(ris) })).status).toBe(403);
    expect((await call(api.updateCohortSource, { id: sourceId }, { token: coordToken, body: sourceBody(ris, { sql: 'SELECT mrn FROM exams' , parameters: [] }) })).status).toBe(403);
    expect((await call(api.testCohortSource, { id: sourceId }, { token: coordToken })).status).toBe(403);
    expect((await call(api.getCohortSource, { id: sourceId }, { token: coordToken })).status).toBe(403);
    expect((await call(api.deleteCohortSource, { id: sourceId }, { token: coordToken })).status).toBe(403);
    // And a coordinator runs it only in a pool they coordinate (another pool is not even confirmed to exist).
    const other = await makePool();
    expect((await call(api.runCohortSource, { id: sourceId }, { token: coordToken, body: { poolId: other.id, parameters: { ...allDates, code: 'C34' } } })).status).toBe(404);
    expect(await db.query.count({ where: { poolId: other.id } })).toBe(0);
  });

  it('refuses at save time what is not one SELECT, or lacks the mapped PatientID column', async () => {
    const saved = await db.cohortSource.count({ where: { database: ris.database } });
    for (const sql of ['UPDATE exams SET mrn = mrn', 'DELETE FROM exams', 'SELECT mrn FROM exams; DELETE FROM exams', 'SELECT mrn INTO x FROM exams']) {
      const r = await call(api.createCohortSource, {}, { token: adminToken, body: sourceBody(ris, { sql, parameters: [] }) });
      expect(r.status, sql).toBe(422);
      expect((r.json as ErrorBody).error.fields?.sql?.length, sql).toBeGreaterThan(0);
    }
    const noPid = await call(api.createCohortSource, {}, { token: adminToken, body: sourceBody(ris, { mapping: { patientId: 'patient_number' } }) });
    expect(noPid.status).toBe(422);
    expect((noPid.json as ErrorBody).error.message).toMatch(/does not return the mapped column PatientID \(column "patient_number"\). It returns: mrn, acc, study_uid, modality, exam_date/);
    const broken = await call(api.createCohortSource, {}, { token: adminToken, body: sourceBody(ris, { sql: 'SELECT mrn FROM no_such_table', parameters: [] }) });
    expect(broken.status).toBe(422);
    expect((broken.json as ErrorBody).error.message).toMatch(/^Not saved: The database could not run the source's statement/);
    expect(await db.cohortSource.count({ where: { database: ris.database } })).toBe(saved);
  });

  it('stops a write hidden in a function: the statement runs in a read-only transaction', async () => {
    // Saved directly, as if the save-time checks had missed it: the transaction is what stops it.
    const s = await db.cohortSource.create({
      data: { ...sourceBody(ris, { sql: 'SELECT mrn, audit_read() AS n FROM exams', parameters: [], mapping: { patientId: 'mrn' } }), password: encryptSecret(ris.password) },
    });
    const r = await call(api.runCohortSource, { id: s.id }, { token: coordToken, body: { poolId, parameters: {} } });
    expect(r.status).toBe(422);
    expect((r.json as ErrorBody).error.message).toMatch(/tried to change the database.*read-only transaction/);
    expect(await ris.accessLogCount()).toBe(0);
  });

  it('stops a statement at the timeout with a clear message', async () => {
    const sleep = driver === 'POSTGRES' ? 'pg_sleep(3)' : 'SLEEP(3)';
    const s = await db.cohortSource.create({
      data: { ...sourceBody(ris, { sql: `SELECT mrn FROM exams WHERE ${sleep} IS NOT NULL`, parameters: [], mapping: { patientId: 'mrn' }, timeoutSeconds: 1 }), password: encryptSecret(ris.password) },
    });
    const r = await call(api.runCohortSource, { id: s.id }, { token: coordToken, body: { poolId, parameters: {} } });
    expect((r.json as ErrorBody).error?.message).toMatch(/took longer than the source's limit of 1 s/);
    expect(r.status).toBe(503);
  });

  it('says when the database is down or refuses the account, and stores nothing', async () => {
    const saved = await db.cohortSource.count({ where: { database: ris.database } });
    const closed = await freePort();
    const down = await call(api.createCohortSource, {}, { token: adminToken, body: sourceBody(ris, { port: closed }) });
    expect(down.status).toBe(503);
    expect((down.json as ErrorBody).error.message).toMatch(/did not answer.*try again later/);

    // PostgreSQL here trusts local connections whatever the password: an unknown account shows the same refusal.
    const refused = await call(api.createCohortSource, {}, {
      token: adminToken,
      body: sourceBody(ris, driver === 'MYSQL' ? { password: 'wrong-password' } : { user: `nobody_${suffix().toLowerCase()}` }),
    });
    expect(refused.status).toBe(409);
    expect((refused.json as ErrorBody).error.message).toMatch(/refused the source's user name or password/);
    expect(refused.text).not.toContain(ris.password);
    expect(await db.cohortSource.count({ where: { database: ris.database } })).toBe(saved);

    // A saved source whose database goes away: the coordinator is told, nothing is stored.
    await db.cohortSource.update({ where: { id: sourceId }, data: { port: closed } });
    const before = await db.query.count({ where: { poolId } });
    const r = await call(api.runCohortSource, { id: sourceId }, { token: coordToken, body: { poolId, parameters: { ...allDates, code: 'C34' } } });
    expect(r.status).toBe(503);
    expect(await db.query.count({ where: { poolId } })).toBe(before);
    const t = await call(api.testCohortSource, { id: sourceId }, { token: adminToken });
    expect(t.json).toMatchObject({ ok: false });
    await db.cohortSource.update({ where: { id: sourceId }, data: { port: ris.port } });
  });
});
