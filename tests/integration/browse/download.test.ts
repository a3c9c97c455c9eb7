/**
 * Zip downloads through the real route handlers: a study, a selection (POST and the GET link),
 * the documented layout, every file parsed by dcmjs and byte-identical to the stored one,
 * audit events with ids and counts, and nothing of another pool.
 */
import fs from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- dcmjs has no type declarations.
import dcmjs from 'dcmjs';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { PROVENANCE_ENTRY, planStudiesZip, safeName } from '@/lib/exports/download';
import { absolute } from '@/lib/storage';
import { generateCorpus } from '@/lib/synthetic';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';
import { seedPool, type Seeded } from './seed';
import { unzip } from './unzip';

const LAYOUT = /^(TRB-[A-Za-z0-9]+)\/(\d{8})_([A-Za-z0-9._-]+)\/(\d{4})_(CT|MR)_([A-Za-z0-9._-]+)\/(\d{5})_([0-9.]+)\.dcm$/;

let token: string;
let poolA: { id: string; name: string };
let poolB: { id: string };
let seededA: Seeded;
let seededB: Seeded;

beforeAll(async () => {
  const researcher = await makeUser('RESEARCHER');
  poolA = await makePool({ members: [{ userId: researcher.id, role: 'RESEARCHER' }] });
  await db.pool.update({ where: { id: poolA.id }, data: { name: `Cardiac / cohort ${poolA.id.slice(-4)}` } });
  poolA = await db.pool.findUniqueOrThrow({ where: { id: poolA.id } });
  poolB = await makePool();
  token = (await createApiToken({ userId: researcher.id, name: 'zip' })).token;
  // Patient 0: two studies (CT, MR); patient 1: one CT. Two series of three instances each.
  seededA = await seedPool(poolA.id, generateCorpus({ seed: 5, patients: 2, seriesPerStudy: 2, instancesPerSeries: 3, rows: 32, columns: 32 }).instances.map((i) => i.buffer));
  seededB = await seedPool(poolB.id, generateCorpus({ seed: 6, patients: 1, seriesPerStudy: 1, instancesPerSeries: 2, rows: 32, columns: 32 }).instances.map((i) => i.buffer));
});

function parseDicom(buf: Buffer): Record<string, unknown> {
  const d = (dcmjs as { data: { DicomMessage: { readFile(b: ArrayBuffer): { dict: Record<string, unknown> } }; DicomMetaDictionary: { naturalizeDataset(d: unknown): Record<string, unknown> } } }).data;
  return d.DicomMetaDictionary.naturalizeDataset(d.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer).dict);
}

async function checkZip(res: { status: number; text: string; headers: Headers }, studyIds: string[]) {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/zip');
  const body = Buffer.from(res.text, 'latin1');
  expect(Number(res.headers.get('content-length'))).toBe(body.length);
  const { entries: all } = await unzip(body);
  // The studies' provenance first, at the root (tests/integration/closeout/provenance.test.ts checks its content).
  expect(all[0].name).toBe(PROVENANCE_ENTRY);
  const provenance = JSON.parse(all[0].data.toString('utf8')) as { studies: { study: { id: string } }[] };
  expect(provenance.studies.map((s) => s.study.id).sort()).toEqual([...studyIds].sort());
  const entries = all.slice(1);
  const instances = await db.instance.findMany({ where: { poolId: poolA.id, series: { studyId: { in: studyIds } } }, include: { series: { include: { study: true } } } });
  expect(entries).toHaveLength(instances.length);
  const bySop = new Map(instances.map((i) => [i.sopInstanceUid, i]));
  for (const e of entries) {
    const m = LAYOUT.exec(e.name);
    expect(m, e.name).not.toBeNull();
    const [, researchId, date, , seriesNumber, modality, , instanceNumber, sop] = m!;
    const inst = bySop.get(sop)!;
    expect(inst, sop).toBeDefined();
    expect(researchId).toBe(inst.series.study.patientId);
    expect(date).toBe(inst.series.study.studyDate);
    expect(Number(seriesNumber)).toBe(inst.series.seriesNumber);
    expect(modality).toBe(inst.series.modality);
    expect(Number(instanceNumber)).toBe(inst.instanceNumber);
    // Byte-identical to the stored file, and a DICOM file dcmjs reads.
    expect(e.data.equals(await fs.readFile(absolute(inst.path)))).toBe(true);
    const ds = parseDicom(e.data);
    expect(ds.SOPInstanceUID).toBe(sop);
    expect(ds.Modality).toBe(modality);
  }
  return entries;
}

describe('GET /pools/{id}/studies/{studyId}/download', () => {
  it('streams the study as a zip in the documented layout, and audits it', async () => {
    const study = await db.study.findFirstOrThrow({ where: { id: seededA.studyIds[0] } });
    const res = await call(api.downloadStudy, { id: poolA.id, studyId: study.id }, { token });
    const entries = await checkZip(res, [study.id]);
    expect(entries).toHaveLength(study.numInstances);
    expect(new Set(entries.map((e) => e.name.split('/').slice(0, 2).join('/'))).size).toBe(1);
    const cd = res.headers.get('content-disposition')!;
    expect(cd).toMatch(/^attachment; filename="TRB-[A-Za-z0-9]+_\d{8}_[A-Za-z0-9._-]+\.zip"; filename\*=UTF-8''/);
    expect(cd).toContain(study.patientId);
    const ev = await db.auditEvent.findFirstOrThrow({ where: { action: 'study.download', targetId: study.id }, orderBy: { at: 'desc' } });
    expect(ev.poolId).toBe(poolA.id);
    expect(ev.detail).toMatchObject({ format: 'zip', instances: study.numInstances, selection: 1 });
  });

  it('answers 404 for a study of another pool, even through this pool’s path', async () => {
    const res = await call(api.downloadStudy, { id: poolA.id, studyId: seededB.studyIds[0] }, { token });
    expect(res.status).toBe(404);
    expect(res.text).not.toContain('PK');
    const other = await call(api.downloadStudy, { id: poolB.id, studyId: seededB.studyIds[0] }, { token });
    expect(other.status).toBe(404);
  });
});

describe('selection downloads', () => {
  it('POST { studyIds } zips every selected study; two studies of one patient share its folder', async () => {
    const res = await call(api.downloadStudies, { id: poolA.id }, { token, body: { studyIds: seededA.studyIds } });
    const entries = await checkZip(res, seededA.studyIds);
    const patients = new Set(entries.map((e) => e.name.split('/')[0]));
    const studies = new Set(entries.map((e) => e.name.split('/').slice(0, 2).join('/')));
    expect(patients.size).toBe(2);
    expect(studies.size).toBe(3);
    // In order: research ID, then study date, series number, instance number.
    const names = entries.map((e) => e.name);
    expect([...names].sort()).toEqual(names);
    const cd = res.headers.get('content-disposition')!;
    expect(cd).toContain(`filename="${safeName(poolA.name, 60)}_3-studies_`);
    expect(cd).not.toMatch(/filename="[^"]*[/\\]/);
    const events = await db.auditEvent.findMany({ where: { action: 'study.download', poolId: poolA.id, targetId: { in: seededA.studyIds } } });
    expect(events.filter((e) => (e.detail as { selection?: number }).selection === 3)).toHaveLength(3);
  });

  it('the GET link gives the same archive as POST', async () => {
    const post = await call(api.downloadStudies, { id: poolA.id }, { token, body: { studyIds: seededA.studyIds } });
    const get = await call(api.downloadStudiesLink, { id: poolA.id }, { token, query: { studyIds: seededA.studyIds.join(',') } });
    expect(get.status).toBe(200);
    const a = (await unzip(Buffer.from(post.text, 'latin1'))).entries;
    const b = (await unzip(Buffer.from(get.text, 'latin1'))).entries;
    expect(b.map((e) => e.name)).toEqual(a.map((e) => e.name));
  });

  it('refuses a selection that reaches into another pool, without a byte of it', async () => {
    const res = await call(api.downloadStudies, { id: poolA.id }, { token, body: { studyIds: [seededA.studyIds[0], seededB.studyIds[0]] } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    const link = await call(api.downloadStudiesLink, { id: poolA.id }, { token, query: { studyIds: seededB.studyIds[0] } });
    expect(link.status).toBe(404);
  });

  it('validates the selection: empty, too many, malformed', async () => {
    expect((await call(api.downloadStudies, { id: poolA.id }, { token, body: { studyIds: [] } })).status).toBe(422);
    expect((await call(api.downloadStudies, { id: poolA.id }, { token, body: { studyIds: Array.from({ length: 501 }, (_, i) => `s${i}`) } })).status).toBe(422);
    expect((await call(api.downloadStudies, { id: poolA.id }, { token, body: {} })).status).toBe(422);
    expect((await call(api.downloadStudiesLink, { id: poolA.id }, { token })).status).toBe(422);
    expect((await call(api.downloadStudiesLink, { id: poolA.id }, { token, query: { studyIds: ',,' } })).status).toBe(422);
    expect((await call(api.downloadStudiesLink, { id: poolA.id }, { token, query: { studyIds: Array.from({ length: 201 }, (_, i) => `s${i}`).join(',') } })).status).toBe(422);
  });
});

describe('layout names', () => {
  it('are sanitised ASCII and never collide: equal folder names get _2', async () => {
    expect(safeName('CT Thorax / Abdomen (Kontrast) ÄÖÜ ..')).toBe('CT_Thorax_Abdomen_Kontrast_AOU');
    expect(safeName('../../etc/passwd')).toBe('etc_passwd');
    expect(safeName('')).toBe('');
    // Make patient 0's two studies look alike (same date and description).
    const [s1, s2] = await db.study.findMany({ where: { poolId: poolA.id }, orderBy: { studyDate: 'asc' }, take: 3 }).then(async (all) => {
      const byPatient = new Map<string, typeof all>();
      for (const s of all) byPatient.set(s.patientId, [...(byPatient.get(s.patientId) ?? []), s]);
      return [...byPatient.values()].find((l) => l.length === 2)!;
    });
    const saved = { date: s2.studyDate, desc: s2.studyDescription };
    await db.study.update({ where: { id: s2.id }, data: { studyDate: s1.studyDate, studyDescription: s1.studyDescription } });
    try {
      const plan = await planStudiesZip(poolA.id, [s1.id, s2.id]);
      const folders = [...new Set(plan.entries.filter((e) => e.name !== PROVENANCE_ENTRY).map((e) => e.name.split('/').slice(0, 2).join('/')))];
      expect(folders).toHaveLength(2);
      expect(folders[1]).toBe(`${folders[0]}_2`);
    } finally {
      await db.study.update({ where: { id: s2.id }, data: { studyDate: saved.date, studyDescription: saved.desc } });
    }
  });
});
