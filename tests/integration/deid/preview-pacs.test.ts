/**
 * The rules preview's third sample source: ONE instance fetched from the connector's PACS (a real
 * Orthanc, C-GET) for a study this pool's own queries found, held in memory and never stored.
 * Attacks: other roles get 403, an owner cannot reach a study outside their pool's query results
 * (404), a C-MOVE connector is refused with a clear message, and nothing is left in staging or
 * the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { activeLeases } from '@/lib/jobs/leases';
import { stagingDir } from '@/lib/storage';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { call } from '../../helpers/api';
import { allFiles } from '../../helpers/files';
import { makeConnector, makePool, makeUser } from '../../helpers/fixtures';
import { startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

let orthanc: OrthancHandle;
let corpus: Corpus;
let cget: Awaited<ReturnType<typeof makeConnector>>;
let cmove: Awaited<ReturnType<typeof makeConnector>>;
let poolId: string;
let otherPoolId: string;
const tokens: Record<string, string> = {};

/** A query of `poolId` through `connectorId` that found `studyInstanceUid` (rows as the find step writes them). */
async function foundStudy(pool: string, connectorId: string, patientId: string, studyInstanceUid: string, researchId = 'RID-PACS-1') {
  const query = await db.query.create({ data: { poolId: pool, connectorId, status: 'DONE', items: { create: { rowNumber: 1, patientId, researchId, status: 'DONE', resultCount: 1 } } }, include: { items: true } });
  return db.queryResult.create({ data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid, patientId, studyDate: '20240102', modalities: 'CT', numInstances: 4 } });
}

beforeAll(async () => {
  corpus = generateCorpus({ seed: 513, patients: 2, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 4, rows: 32, columns: 32 });
  orthanc = await startOrthanc({ aet: 'PV_PACS', modalities: { Q: ['PV_Q', '127.0.0.1', 9], R: ['PV_R', '127.0.0.1', 9] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  cget = await makeConnector({ pacsAe: 'PV_PACS', port: orthanc.dicomPort, queryAe: 'PV_Q', receiveAe: 'PV_R', retrieveMethod: 'CGET' });
  cmove = await makeConnector({ pacsAe: 'PV_PACS', port: orthanc.dicomPort, retrieveMethod: 'CMOVE' });
  const owner = await makeUser('RESEARCHER');
  const coordinator = await makeUser('COORDINATOR');
  const researcher = await makeUser('RESEARCHER');
  const admin = await makeUser('ADMIN');
  const otherOwner = await makeUser('RESEARCHER');
  poolId = (await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: coordinator.id, role: 'COORDINATOR' }, { userId: researcher.id, role: 'RESEARCHER' }] })).id;
  otherPoolId = (await makePool({ members: [{ userId: otherOwner.id, role: 'OWNER' }] })).id;
  for (const [k, u] of Object.entries({ owner, coordinator, researcher, admin, otherOwner })) tokens[k] = (await createApiToken({ userId: u.id, name: 'p' })).token;
}, 120_000);

afterAll(async () => {
  await orthanc?.stop();
});

const form = (queryResultId: string) => {
  const f = new FormData();
  f.set('queryResultId', queryResultId);
  return f;
};

async function leftBehind() {
  const dirs = [stagingDir(poolId), stagingDir(otherPoolId), stagingDir(cget.receivingPool.id), stagingDir(cget.queryPool.id)];
  const files = (await Promise.all(dirs.map((d) => allFiles(d).catch(() => [] as string[])))).flat();
  const rows = await db.stagedInstance.count({ where: { OR: [{ receivingPoolId: { in: [poolId, otherPoolId, cget.receivingPool.id] } }, { retrieval: { poolId: { in: [poolId, otherPoolId] } } }] } });
  return { files, rows, retrievals: await db.retrieval.count({ where: { poolId: { in: [poolId, otherPoolId] } } }), instances: await db.instance.count({ where: { poolId } }), identities: await db.patientIdentity.count({ where: { poolId } }) };
}

describe('preview sample from the PACS', () => {
  it('fetches one instance of a study the pool found, previews it with the row’s research ID, keeps nothing, audits without values', async () => {
    const patient = corpus.patients[0];
    const study = patient.studies[0];
    const result = await foundStudy(poolId, cget.connector.id, patient.patientId, study.studyInstanceUid);

    const samples = await call(api.listPreviewSamples, { id: poolId }, { token: tokens.owner });
    expect(samples.status, samples.text).toBe(200);
    const listed = (samples.json as { pacsStudies: { id: string; fetchable: boolean; researchId: string | null }[] }).pacsStudies;
    expect(listed.find((s) => s.id === result.id)).toMatchObject({ fetchable: true, researchId: 'RID-PACS-1' });
    // Found again by a later query of the pool: listed once, as the newest result.
    const again = await foundStudy(poolId, cget.connector.id, patient.patientId, study.studyInstanceUid);
    const relisted = ((await call(api.listPreviewSamples, { id: poolId }, { token: tokens.owner })).json as { pacsStudies: { id: string; researchId: string | null }[] }).pacsStudies;
    expect(relisted.filter((s) => s.researchId === 'RID-PACS-1').map((s) => s.id)).toEqual([again.id]);

    const res = await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(result.id) });
    expect(res.status, res.text).toBe(200);
    const body = res.json as { source: string; identitySource: string; rows: { keyword?: string; before?: string; after?: string; action: string }[] };
    expect(body.source).toBe('pacs');
    expect(body.identitySource).toBe('query-row');
    const studyUid = body.rows.find((r) => r.keyword === 'StudyInstanceUID');
    expect(studyUid?.before).toBe(study.studyInstanceUid);
    expect(studyUid?.after).not.toBe(study.studyInstanceUid);
    const pid = body.rows.find((r) => r.keyword === 'PatientID');
    expect(pid?.before).toBe(patient.patientId);
    expect(pid?.after).toBe('RID-PACS-1');
    // The one instance is one the PACS holds for that study.
    const sop = body.rows.find((r) => r.keyword === 'SOPInstanceUID')?.before;
    expect(corpus.instances.filter((i) => i.studyInstanceUid === study.studyInstanceUid).map((i) => i.sopInstanceUid)).toContain(sop);

    expect(await leftBehind()).toEqual({ files: [], rows: 0, retrievals: 0, instances: 0, identities: 0 });
    expect(await activeLeases(`connector:${cget.connector.id}`)).toBe(0);

    const audit = await db.auditEvent.findFirstOrThrow({ where: { poolId, action: 'pool.rules-preview', targetId: result.id } });
    expect(audit.targetType).toBe('query-result');
    expect(audit.detail).toMatchObject({ source: 'pacs', connectorId: cget.connector.id });
    const text = JSON.stringify(audit);
    for (const v of [patient.patientId, study.studyInstanceUid, sop!]) expect(text).not.toContain(v);
  }, 60_000);

  it('refuses every other role (403) and a study outside the pool’s query results (404), fetching nothing', async () => {
    const patient = corpus.patients[1];
    const study = patient.studies[0];
    const mine = await foundStudy(poolId, cget.connector.id, patient.patientId, study.studyInstanceUid, 'RID-PACS-2');
    const theirs = await foundStudy(otherPoolId, cget.connector.id, patient.patientId, study.studyInstanceUid, 'RID-OTHER');
    const before = await db.auditEvent.count({ where: { action: 'pool.rules-preview', targetId: { in: [mine.id, theirs.id] } } });

    for (const who of ['coordinator', 'researcher', 'admin', 'otherOwner']) {
      const res = await call(api.previewRules, { id: poolId }, { token: tokens[who], form: form(mine.id) });
      expect([403, 404], `${who}: ${res.text}`).toContain(res.status);
      const list = await call(api.listPreviewSamples, { id: poolId }, { token: tokens[who] });
      expect([403, 404], who).toContain(list.status);
    }
    // The owner names another pool's query result, or a made-up id: not found.
    for (const id of [theirs.id, 'no-such-result']) {
      const res = await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(id) });
      expect(res.status, res.text).toBe(404);
      expect(res.text).not.toContain(patient.patientId);
    }
    // Two samples at once: a validation error.
    const both = form(mine.id);
    both.set('stagedInstanceId', 'x');
    expect((await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: both })).status).toBe(422);

    expect(await db.auditEvent.count({ where: { action: 'pool.rules-preview', targetId: { in: [mine.id, theirs.id] } } })).toBe(before);
    expect(await leftBehind()).toEqual({ files: [], rows: 0, retrievals: 0, instances: 0, identities: 0 });
  }, 60_000);

  it('a C-MOVE connector offers staged samples only: listed as not fetchable, refused with a clear message', async () => {
    const patient = corpus.patients[0];
    const result = await foundStudy(poolId, cmove.connector.id, patient.patientId, patient.studies[0].studyInstanceUid, 'RID-MOVE');
    const samples = await call(api.listPreviewSamples, { id: poolId }, { token: tokens.owner });
    const listed = (samples.json as { pacsStudies: { id: string; fetchable: boolean }[] }).pacsStudies;
    expect(listed.find((s) => s.id === result.id)?.fetchable).toBe(false);
    const res = await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(result.id) });
    expect(res.status).toBe(409);
    expect(res.text).toMatch(/C-MOVE.*staged samples only/);
  }, 30_000);
});
