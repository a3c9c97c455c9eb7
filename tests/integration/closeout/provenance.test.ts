/**
 * Study provenance: a retrieval writes one StudyProvenance row per study with the connector, the
 * query, the method, the times, the rule version and where the research identity came from;
 * the study's provenance.json (and the PROVENANCE.json of its zip) carries none of the source
 * identifiers (MRN, name, accession, source UIDs). Readable by pool members only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { PROVENANCE_ENTRY } from '@/lib/exports/download';
import { markRetrievalProvenanceFinished, markRetrievalProvenanceStored } from '@/lib/pools/provenance';
import { closeDeidPool } from '@/lib/receive/ingest';
import { runAnonymize } from '@/lib/retrievals/run-anonymize';
import { call } from '../../helpers/api';
import { makePool, makeUser, suffix } from '../../helpers/fixtures';
import { scanForPhi } from '../../helpers/phi';
import { unzip } from '../browse/unzip';
import { sourceInstance, stagedRetrieval } from '../deid/helpers';

let poolId: string;
const tokens: Record<string, string> = {};
const phi: string[] = [];
const studies: { retrievalId: string; queryId: string; sourceStudy: string }[] = [];

afterAll(async () => {
  await closeDeidPool();
});

beforeAll(async () => {
  const s = suffix();
  const owner = await makeUser('RESEARCHER');
  const researcher = await makeUser('RESEARCHER');
  const outsider = await makeUser('RESEARCHER');
  const pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: researcher.id, role: 'RESEARCHER' }] });
  poolId = pool.id;
  for (const [k, u] of Object.entries({ owner, researcher, outsider })) tokens[k] = (await createApiToken({ userId: u.id, name: 'p' })).token;
  const base = `1.2.826.0.1.3680043.9.7777.${Date.now() % 1e9}`;
  const mrnA = `MRNPROV${s}A`;
  const mrnB = `MRNPROV${s}B`;
  const accession = `ACCPROV${s}`;
  // Patient A twice (research ID from the query row, then the identity map); patient B: pseudonym.
  const plan = [
    { mrn: mrnA, researchId: `RID-${s}`, n: 1 },
    { mrn: mrnA, researchId: undefined, n: 2 },
    { mrn: mrnB, researchId: undefined, n: 3 },
  ];
  for (const p of plan) {
    const study = `${base}.${p.n}`;
    const inst = [1, 2].map((k) =>
      sourceInstance({ mrn: p.mrn, name: `Provenance^Patient${p.n}`, study, series: `${study}.7`, sop: `${study}.7.${k}`, extra: [{ tag: 0x00080050, vr: 'SH', value: accession }] }),
    );
    phi.push(p.mrn, `Provenance^Patient${p.n}`, `Patient${p.n} Provenance`, accession, study, `${study}.7`, ...inst.map((i) => i.sop));
    const r = await stagedRetrieval(pool.id, { mrn: p.mrn, researchId: p.researchId, instances: inst });
    await db.retrieval.update({ where: { id: r.retrieval.id }, data: { startedAt: new Date() } });
    await runAnonymize(r.retrieval.id, 0);
    studies.push({ retrievalId: r.retrieval.id, queryId: r.query.id, sourceStudy: study });
  }
});

describe('provenance', () => {
  it('a retrieval records connector, query, method, times, rule version and identity source', async () => {
    const rows = await db.studyProvenance.findMany({ where: { poolId }, orderBy: { firstStoredAt: 'asc' } });
    expect(rows).toHaveLength(3);
    const byRetrieval = new Map(rows.map((r) => [r.retrievalId, r]));
    const sources = studies.map((s) => byRetrieval.get(s.retrievalId)?.identitySource);
    expect(sources).toEqual(['query-row', 'existing', 'pseudonym']);
    for (const s of studies) {
      const row = byRetrieval.get(s.retrievalId)!;
      const retrieval = await db.retrieval.findUniqueOrThrow({ where: { id: s.retrievalId }, include: { connector: true } });
      expect(retrieval.state).toBe('DONE');
      expect(row).toMatchObject({
        eventKey: `retrieval:${s.retrievalId}`,
        sourceKind: 'MRN_LIST',
        method: 'CMOVE',
        connectorId: retrieval.connectorId,
        connectorName: retrieval.connector.name,
        queryId: s.queryId,
        ruleVersions: [1],
      });
      expect(row.requestedAt?.getTime()).toBe(retrieval.createdAt.getTime());
      expect(row.startedAt).not.toBeNull();
      expect(row.finishedAt?.getTime()).toBe(retrieval.finishedAt?.getTime());
      // Its study is the research study the retrieval stored (two instances, one event row).
      const study = await db.study.findUniqueOrThrow({ where: { id: row.studyId } });
      expect(study.numInstances).toBe(2);
      expect(study.studyInstanceUid).not.toBe(s.sourceStudy);
    }
  });

  it('finishing a retrieval moves lastStoredAt to its last new instance, never back', async () => {
    // Batched steps write a study's row once (at their first batch): the finish moves lastStoredAt.
    const { retrievalId } = studies[2];
    const row = await db.studyProvenance.findFirstOrThrow({ where: { retrievalId } });
    const last = await db.retrievalInstance.aggregate({ where: { retrievalId, outcome: 'stored' }, _max: { createdAt: true } });
    const early = new Date(last._max.createdAt!.getTime() - 60_000);
    await db.studyProvenance.update({ where: { id: row.id }, data: { lastStoredAt: early } });
    const finishedAt = new Date();
    await markRetrievalProvenanceFinished(retrievalId, finishedAt);
    const moved = await db.studyProvenance.findUniqueOrThrow({ where: { id: row.id } });
    expect(moved.lastStoredAt.getTime()).toBe(last._max.createdAt!.getTime());
    expect(moved.finishedAt?.getTime()).toBe(finishedAt.getTime());
    // Never back: a later time stays.
    const later = new Date(last._max.createdAt!.getTime() + 60_000);
    await db.studyProvenance.update({ where: { id: row.id }, data: { lastStoredAt: later } });
    await markRetrievalProvenanceFinished(retrievalId, finishedAt);
    expect((await db.studyProvenance.findUniqueOrThrow({ where: { id: row.id } })).lastStoredAt.getTime()).toBe(later.getTime());
    // The end of a step that does not finish the retrieval (the move's pipeline, a Cancel) moves it too.
    await db.studyProvenance.update({ where: { id: row.id }, data: { lastStoredAt: early } });
    await markRetrievalProvenanceStored(retrievalId);
    expect((await db.studyProvenance.findUniqueOrThrow({ where: { id: row.id } })).lastStoredAt.getTime()).toBe(last._max.createdAt!.getTime());
  });

  it('a resumed de-identification of the same retrieval adds no second row', async () => {
    const { retrievalId } = studies[0];
    await db.retrieval.update({ where: { id: retrievalId }, data: { state: 'ANONYMIZING' } });
    await runAnonymize(retrievalId, 0);
    expect(await db.studyProvenance.count({ where: { retrievalId } })).toBe(1);
  });

  it('provenance.json: pool members only, no source identifiers', async () => {
    const row = await db.studyProvenance.findFirstOrThrow({ where: { poolId, identitySource: 'query-row' } });
    const res = await call(api.getStudyProvenance, { id: poolId, studyId: row.studyId }, { token: tokens.researcher });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('provenance.json');
    const doc = res.json as { format: string; studies: { study: { id: string }; events: { method: string; identitySource: { kind: string }; connector: { name: string } }[] }[] };
    expect(doc.format).toBe('tributary-provenance/1');
    expect(doc.studies[0].study.id).toBe(row.studyId);
    expect(doc.studies[0].events[0]).toMatchObject({ method: 'CMOVE', identitySource: { kind: 'query-row' }, connector: { name: row.connectorName } });
    expect(scanForPhi('provenance.json', [res.text], phi)).toEqual([]);
    expect((await call(api.getStudyProvenance, { id: poolId, studyId: row.studyId }, { token: tokens.outsider })).status).toBe(404);
    expect((await call(api.getStudyProvenance, { id: poolId, studyId: 'nope' }, { token: tokens.owner })).status).toBe(404);
  });

  it('the study zip carries PROVENANCE.json at its root, without source identifiers', async () => {
    const all = await db.study.findMany({ where: { poolId }, select: { id: true } });
    const res = await call(api.downloadStudies, { id: poolId }, { token: tokens.researcher, body: { studyIds: all.map((s) => s.id) } });
    expect(res.status).toBe(200);
    const { entries } = await unzip(Buffer.from(res.text, 'latin1'));
    const prov = entries.find((e) => e.name === PROVENANCE_ENTRY);
    expect(prov).toBeDefined();
    expect(entries.filter((e) => e.name.endsWith('.dcm'))).toHaveLength(6);
    const doc = JSON.parse(prov!.data.toString('utf8')) as { studies: { study: { id: string }; events: unknown[] }[] };
    expect(doc.studies.map((s) => s.study.id).sort()).toEqual(all.map((s) => s.id).sort());
    expect(doc.studies.every((s) => s.events.length === 1)).toBe(true);
    expect(scanForPhi(PROVENANCE_ENTRY, [prov!.data.toString('utf8')], phi)).toEqual([]);
    // The control: the scan does find a source identifier where there is one.
    expect(scanForPhi('control', [`{"x":"${phi[0]}"}`], phi)).not.toEqual([]);
  });
});
