/**
 * The identity promise, through the real retrieval step (runAnonymize: research identity from the
 * database, the engine in worker threads, storage and index): the same MRN retrieved twice, months
 * apart, gets the same research ID and date offset, and its studies' references still link; a
 * different pool gets unrelated identities and UIDs. Plus where a new identity comes from (query
 * row, lookup table, pseudonym), the refusal of a research ID that belongs to someone else, and the
 * pool's named lookup tables reaching the engine.
 */
import fs from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { closeDeidPool } from '@/lib/receive/ingest';
import { pseudonymFor } from '@/lib/pools/identity';
import { runAnonymize } from '@/lib/retrievals/run-anonymize';
import { absolute } from '@/lib/storage';
import { makePool, suffix } from '../../helpers/fixtures';
import { daysBetween, readOutput, sourceInstance, stagedRetrieval } from './helpers';

afterAll(async () => {
  await closeDeidPool();
});

const uid = (n: string) => `1.2.826.0.1.3680043.9.7777.${Date.now() % 1e9}.${n}`;

async function stored(poolId: string, sourceSop: string, retrievalId: string) {
  expect((await db.retrievalInstance.findUniqueOrThrow({ where: { retrievalId_sourceSopUid: { retrievalId, sourceSopUid: sourceSop } } })).outcome).toBe('stored');
  const instances = await db.instance.findMany({ where: { poolId }, include: { series: { include: { study: true } } } });
  return instances;
}

describe('same patient, two retrievals months apart', () => {
  it('keeps the research ID, the date offset and the links between studies; another pool gets other ones', async () => {
    const s = suffix();
    const mrn = `MRN-LINK-${s}`;
    const [poolA, poolB] = [await makePool(), await makePool()];
    const u = { study1: uid('1'), series1: uid('2'), sop1: uid('3'), for: uid('4'), study2: uid('5'), series2: uid('6'), sop2: uid('7') };

    // January: a CT.
    const first = sourceInstance({ mrn, name: `Linkage^Patient${s}`, study: u.study1, series: u.series1, sop: u.sop1, date: '20200115', extra: [{ tag: 0x00200052, vr: 'UI', value: u.for }] });
    // July: a follow-up that references an image of the January study (Referenced Image and Source
    // Image Sequences, X/Z/U*: kept, UIDs remapped), in the same frame of reference. (Referenced Study
    // Sequence is X/Z in Table E.1-1: emptied, so it cannot carry the link.)
    const second = sourceInstance({
      mrn,
      name: `Linkage^Patient${s}`,
      study: u.study2,
      series: u.series2,
      sop: u.sop2,
      date: '20200720',
      extra: [
        { tag: 0x00200052, vr: 'UI', value: u.for },
        { tag: 0x00082112, vr: 'SQ', value: [[{ tag: 0x00081150, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' }, { tag: 0x00081155, vr: 'UI', value: u.sop1 }]] },
        { tag: 0x00081140, vr: 'SQ', value: [[{ tag: 0x00081150, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' }, { tag: 0x00081155, vr: 'UI', value: u.sop1 }]] },
      ],
    });

    // The January query row named the research subject; July's row does not: the identity stored
    // in January must be read back (a re-derived pseudonym would not match).
    const r1 = await stagedRetrieval(poolA.id, { mrn, researchId: `SUBJ-${s}`, researchName: `SUBJECT^${s}`, instances: [first] });
    await runAnonymize(r1.retrieval.id, 0);
    const identityAfterFirst = await db.patientIdentity.findUniqueOrThrow({ where: { poolId_sourcePatientId: { poolId: poolA.id, sourcePatientId: mrn } } });
    // "Months later": the identity row is old by then; it is read back, not re-derived.
    await db.patientIdentity.update({ where: { id: identityAfterFirst.id }, data: { createdAt: new Date('2020-01-20T00:00:00Z') } });
    const r2 = await stagedRetrieval(poolA.id, { mrn, instances: [second] });
    await runAnonymize(r2.retrieval.id, 0);

    for (const r of [r1, r2]) {
      const done = await db.retrieval.findUniqueOrThrow({ where: { id: r.retrieval.id } });
      expect(done.state, done.lastError ?? '').toBe('DONE');
      expect(await db.stagedInstance.count({ where: { retrievalId: r.retrieval.id } })).toBe(0);
    }
    await stored(poolA.id, u.sop1, r1.retrieval.id);
    const inA = await stored(poolA.id, u.sop2, r2.retrieval.id);
    expect(inA).toHaveLength(2);
    expect(await db.patientIdentity.count({ where: { poolId: poolA.id } })).toBe(1);
    const identity = await db.patientIdentity.findUniqueOrThrow({ where: { poolId_sourcePatientId: { poolId: poolA.id, sourcePatientId: mrn } } });
    expect(identity.researchId).toBe(`SUBJ-${s}`);
    expect(identity.researchId).not.toBe(pseudonymFor(poolA.secret, mrn));

    const byStudy = new Map(inA.map((i) => [i.series.study.studyDate, i]));
    const [a1, a2] = [byStudy.get(daysShift('20200115', identity.dateOffsetDays))!, byStudy.get(daysShift('20200720', identity.dateOffsetDays))!];
    expect(a1, 'first study stored with the shifted date').toBeDefined();
    expect(a2, 'second study stored with the shifted date').toBeDefined();
    const out1 = await readOutput(absolute(a1.path));
    const out2 = await readOutput(absolute(a2.path));

    // Same research identity in both studies, and the index says so too.
    expect(out1.get('PatientID')).toBe(identity.researchId);
    expect(out2.get('PatientID')).toBe(identity.researchId);
    expect(out2.get('PatientName')).toBe(`SUBJECT^${s}`);
    expect(a1.series.study.patientId).toBe(identity.researchId);
    expect(a2.series.study.patientId).toBe(identity.researchId);
    // Intervals survive: 187 days then, 187 days now; the shift is the patient's offset.
    expect(daysBetween(out1.get('StudyDate')!, out2.get('StudyDate')!)).toBe(daysBetween('20200115', '20200720'));
    expect(daysBetween('20200115', out1.get('StudyDate')!)).toBe(identity.dateOffsetDays);
    // References still link, under research UIDs.
    expect(out2.get('ReferencedImageSequence[0]/ReferencedSOPInstanceUID')).toBe(out1.get('SOPInstanceUID'));
    expect(out2.get('SourceImageSequence[0]/ReferencedSOPInstanceUID')).toBe(out1.get('SOPInstanceUID'));
    expect(out2.get('FrameOfReferenceUID')).toBe(out1.get('FrameOfReferenceUID'));
    expect(out1.get('StudyInstanceUID')).not.toBe(u.study1);
    // The identity map knows both studies.
    const studies = await db.studyIdentity.findMany({ where: { poolId: poolA.id, sourcePatientId: mrn }, orderBy: { sourceStudyUid: 'asc' } });
    expect(studies.map((x) => x.researchStudyUid).sort()).toEqual([out1.get('StudyInstanceUID'), out2.get('StudyInstanceUID')].sort());

    // The same two studies into another pool: another research ID, other UIDs.
    const rb1 = await stagedRetrieval(poolB.id, { mrn, instances: [first] });
    await runAnonymize(rb1.retrieval.id, 0);
    const rb2 = await stagedRetrieval(poolB.id, { mrn, instances: [second] });
    await runAnonymize(rb2.retrieval.id, 0);
    const identityB = await db.patientIdentity.findUniqueOrThrow({ where: { poolId_sourcePatientId: { poolId: poolB.id, sourcePatientId: mrn } } });
    expect(identityB.researchId).toBe(pseudonymFor(poolB.secret, mrn));
    expect(identityB.researchId).not.toBe(identity.researchId);
    const inB = await db.instance.findMany({ where: { poolId: poolB.id } });
    expect(inB).toHaveLength(2);
    const outsB = await Promise.all(inB.map((i) => readOutput(absolute(i.path))));
    const uidsA = new Set([...[out1, out2].flatMap((o) => [o.get('StudyInstanceUID'), o.get('SeriesInstanceUID'), o.get('SOPInstanceUID'), o.get('FrameOfReferenceUID')])]);
    for (const o of outsB) {
      expect(o.get('PatientID')).toBe(identityB.researchId);
      for (const k of ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'FrameOfReferenceUID']) expect(uidsA.has(o.get(k)), k).toBe(false);
    }
    // Still linked inside pool B.
    const [b1, b2] = outsB[0].get('ReferencedImageSequence[0]/ReferencedSOPInstanceUID') ? [outsB[1], outsB[0]] : outsB;
    expect(b2.get('ReferencedImageSequence[0]/ReferencedSOPInstanceUID')).toBe(b1.get('SOPInstanceUID'));
    expect(b2.get('FrameOfReferenceUID')).toBe(b1.get('FrameOfReferenceUID'));
  });
});

function daysShift(date: string, days: number): string {
  const t = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8))) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10).replaceAll('-', '');
}

describe('where a new research identity comes from', () => {
  it('takes the query row first, then the lookup table, else the pseudonym; an existing identity never changes', async () => {
    const s = suffix();
    const pool = await makePool();
    const [m1, m2, m3] = [`MRN-ROW-${s}`, `MRN-TABLE-${s}`, `MRN-NONE-${s}`];
    await db.lookupEntry.createMany({
      data: [
        { poolId: pool.id, table: 'research-id', key: m1, value: `TABLE-LOSES-${s}` },
        { poolId: pool.id, table: 'research-id', key: m2, value: `TABLE-${s}` },
        { poolId: pool.id, table: 'research-name', key: m2, value: `TABLE^NAME${s}` },
      ],
    });
    const run = async (mrn: string, row: { researchId?: string; researchName?: string } = {}) => {
      const n = uid(`${Math.floor(Math.random() * 1e6)}`);
      const r = await stagedRetrieval(pool.id, { mrn, ...row, instances: [sourceInstance({ mrn, study: `${n}.1`, series: `${n}.2`, sop: `${n}.3` })] });
      await runAnonymize(r.retrieval.id, 0);
      return db.retrieval.findUniqueOrThrow({ where: { id: r.retrieval.id } });
    };
    expect((await run(m1, { researchId: `ROW-${s}`, researchName: `ROW^NAME${s}` })).state).toBe('DONE');
    expect((await run(m2)).state).toBe('DONE');
    expect((await run(m3)).state).toBe('DONE');
    const ids = await db.patientIdentity.findMany({ where: { poolId: pool.id } });
    const by = new Map(ids.map((i) => [i.sourcePatientId, i]));
    expect([by.get(m1)?.researchId, by.get(m1)?.researchName]).toEqual([`ROW-${s}`, `ROW^NAME${s}`]);
    expect([by.get(m2)?.researchId, by.get(m2)?.researchName]).toEqual([`TABLE-${s}`, `TABLE^NAME${s}`]);
    expect(by.get(m3)?.researchId).toBe(pseudonymFor(pool.secret, m3));
    // Later rows cannot change an identity.
    expect((await run(m1, { researchId: `OTHER-${s}` })).state).toBe('DONE');
    expect((await db.patientIdentity.findUniqueOrThrow({ where: { id: by.get(m1)!.id } })).researchId).toBe(`ROW-${s}`);
  });

  it('refuses a research ID that belongs to another patient: the study fails with the reason, nothing is stored or merged', async () => {
    const s = suffix();
    const pool = await makePool();
    const n1 = uid('81');
    const first = await stagedRetrieval(pool.id, { mrn: `MRN-A-${s}`, researchId: `SHARED-${s}`, instances: [sourceInstance({ mrn: `MRN-A-${s}`, study: `${n1}.1`, series: `${n1}.2`, sop: `${n1}.3` })] });
    await runAnonymize(first.retrieval.id, 0);
    const n2 = uid('82');
    const second = await stagedRetrieval(pool.id, { mrn: `MRN-B-${s}`, researchId: `SHARED-${s}`, instances: [sourceInstance({ mrn: `MRN-B-${s}`, study: `${n2}.1`, series: `${n2}.2`, sop: `${n2}.3` })] });
    await runAnonymize(second.retrieval.id, 0);
    const r = await db.retrieval.findUniqueOrThrow({ where: { id: second.retrieval.id } });
    expect(r.state).toBe('FAILED');
    expect(r.lastError).toMatch(/already assigned to another patient/);
    expect(r.failed).toBe(1);
    expect(await db.stagedInstance.count({ where: { retrievalId: r.id } })).toBe(0);
    await expect(fs.stat(second.staged[0].path)).rejects.toThrow();
    expect(await db.patientIdentity.count({ where: { poolId: pool.id } })).toBe(1);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(1);
  });

  it('gives the engine the lookup tables the rules name', async () => {
    const s = suffix();
    const pool = await makePool({
      rules: { profile: 'basic', options: ['retainLongitudinalModifiedDates'], overrides: [{ selector: 'InstitutionName', action: 'lookup', value: 'sites' }], quarantineBurnedIn: true },
    });
    await db.lookupEntry.create({ data: { poolId: pool.id, table: 'sites', key: 'St Elsewhere Hospital', value: `SITE-${s}` } });
    const n = uid('91');
    const r = await stagedRetrieval(pool.id, { mrn: `MRN-L-${s}`, instances: [sourceInstance({ mrn: `MRN-L-${s}`, study: `${n}.1`, series: `${n}.2`, sop: `${n}.3` })] });
    await runAnonymize(r.retrieval.id, 0);
    const inst = await db.instance.findFirstOrThrow({ where: { poolId: pool.id } });
    expect((await readOutput(absolute(inst.path))).get('InstitutionName')).toBe(`SITE-${s}`);
    expect(inst.ruleVersion).toBe(1);
  });
});
