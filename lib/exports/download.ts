/**
 * Downloading studies of a pool as one zip of their de-identified DICOM files, streamed.
 *
 * Layout (no DICOMDIR; every name comes from de-identified index values, sanitised):
 *   <ResearchID>/<StudyDate>_<StudyDescription or StudyInstanceUID>/<SeriesNumber>_<Modality>_<SeriesDescription>/<InstanceNumber>_<SOPInstanceUID>.dcm
 * e.g. TRB-4Q7X2K/20190314_CT_CHEST_WITH_CONTRAST/0002_CT_Axial_5mm/00017_2.25.1234.dcm
 * Series numbers are padded to 4 digits and instance numbers to 5 so names sort in order; a
 * folder name shared by two different studies (or series) gets the next free "_2", "_3"...
 * PROVENANCE.json at the root: where each study came from (lib/pools/provenance.ts; no source
 * identifiers).
 *
 * Every lookup is scoped by the authorized poolId. Limits: MAX_SELECTION_STUDIES per request,
 * MAX_ZIP_INSTANCES per archive (ZIP64 is written when needed, so bytes are not limited).
 */
import { createReadStream } from 'node:fs';
import { db } from '../db';
import { AppError } from '../errors';
import { provenanceFile } from '../pools/provenance';
import { absolute } from '../storage';
import { zipLength, type ZipSource } from './zip';

export const MAX_SELECTION_STUDIES = 500;
/** Studies per GET link (the ids travel in the URL). */
export const MAX_LINK_STUDIES = 200;
export const MAX_ZIP_INSTANCES = 100_000;
const READ_CHUNK = 256 * 1024;

/** File-name-safe ASCII: letters, digits, '.', '-', '_'; accents dropped; at most `max` characters. */
export function safeName(value: string | null | undefined, max = 40): string {
  const s = (value ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9.-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, max)
    .replace(/[._-]+$/g, '');
  return s;
}

const pad = (n: number | null | undefined, width: number) => String(Math.max(0, n ?? 0)).padStart(width, '0');

export interface ZipPlanEntry {
  name: string;
  size: number;
  /** A stored file (relative to the storage root), or `content` written as is. */
  path: string;
  content?: Buffer;
}

export const PROVENANCE_ENTRY = 'PROVENANCE.json';

export interface ZipPlan {
  entries: ZipPlanEntry[];
  studies: { id: string; patientId: string; studyDate: string; studyDescription: string; instances: number; bytes: number }[];
  instances: number;
  bytes: number;
  /** Exact length of the zip. */
  length: number;
}

/** Gives each distinct key a distinct name under one parent: the second "X" becomes "X_2". */
class Names {
  private byName = new Map<string, string>();
  private byKey = new Map<string, string>();
  take(parent: string, wanted: string, key: string): string {
    const k = `${parent}\u0000${key}`;
    const known = this.byKey.get(k);
    if (known) return known;
    let name = wanted;
    for (let i = 2; this.byName.has(`${parent}\u0000${name}`); i++) name = `${wanted}_${i}`;
    this.byName.set(`${parent}\u0000${name}`, k);
    this.byKey.set(k, name);
    return name;
  }
}

/**
 * What goes into the zip for these studies of the pool, in order (research ID, study date,
 * series number, instance number). Throws NOT_FOUND if any study is not in the pool.
 */
export async function planStudiesZip(poolId: string, studyIds: string[]): Promise<ZipPlan> {
  const ids = [...new Set(studyIds)];
  if (ids.length === 0) throw new AppError('VALIDATION', 'Select at least one study', { studyIds: ['Select at least one study'] });
  if (ids.length > MAX_SELECTION_STUDIES) {
    throw new AppError('VALIDATION', `At most ${MAX_SELECTION_STUDIES} studies per download`, { studyIds: [`At most ${MAX_SELECTION_STUDIES} studies per download`] });
  }
  const studies = await db.study.findMany({
    where: { poolId, id: { in: ids } },
    orderBy: [{ patientId: 'asc' }, { studyDate: 'asc' }, { studyInstanceUid: 'asc' }],
    select: { id: true, patientId: true, studyDate: true, studyDescription: true, studyInstanceUid: true },
  });
  if (studies.length !== ids.length) throw new AppError('NOT_FOUND', ids.length === 1 ? 'Study not found' : 'One or more of the selected studies were not found in this pool');
  const count = await db.instance.count({ where: { poolId, series: { studyId: { in: ids } } } });
  if (count > MAX_ZIP_INSTANCES) {
    throw new AppError('VALIDATION', `This selection holds ${count} instances; one zip holds at most ${MAX_ZIP_INSTANCES}. Select fewer studies.`, {
      studyIds: [`At most ${MAX_ZIP_INSTANCES} instances per zip`],
    });
  }
  const series = await db.series.findMany({
    where: { poolId, studyId: { in: ids } },
    orderBy: [{ seriesNumber: 'asc' }, { seriesInstanceUid: 'asc' }],
    select: { id: true, studyId: true, seriesNumber: true, modality: true, seriesDescription: true, seriesInstanceUid: true },
  });
  const instances = await db.instance.findMany({
    where: { poolId, series: { studyId: { in: ids } } },
    orderBy: [{ instanceNumber: 'asc' }, { sopInstanceUid: 'asc' }],
    select: { seriesId: true, sopInstanceUid: true, instanceNumber: true, path: true, size: true },
  });
  const bySeries = new Map<string, typeof instances>();
  for (const i of instances) {
    let list = bySeries.get(i.seriesId);
    if (!list) bySeries.set(i.seriesId, (list = []));
    list.push(i);
  }
  const seriesByStudy = new Map<string, typeof series>();
  for (const s of series) {
    let list = seriesByStudy.get(s.studyId);
    if (!list) seriesByStudy.set(s.studyId, (list = []));
    list.push(s);
  }

  const names = new Names();
  // The studies' provenance first, at the root; its name is taken, so a research ID folder spelled alike gets "_2".
  names.take('', PROVENANCE_ENTRY, '\u0000provenance');
  const provenance = Buffer.from(`${JSON.stringify(await provenanceFile(poolId, studies.map((s) => s.id)), null, 2)}\n`, 'utf8');
  const entries: ZipPlanEntry[] = [{ name: PROVENANCE_ENTRY, size: provenance.length, path: '', content: provenance }];
  const summary: ZipPlan['studies'] = [];
  for (const st of studies) {
    const patient = names.take('', safeName(st.patientId, 32) || 'UNKNOWN', st.patientId);
    const studyFolder = names.take(patient, `${/^\d{8}$/.test(st.studyDate) ? st.studyDate : 'NODATE'}_${safeName(st.studyDescription, 32) || safeName(st.studyInstanceUid, 64)}`, st.id);
    let nInst = 0;
    let nBytes = 0;
    for (const se of seriesByStudy.get(st.id) ?? []) {
      const parts = [pad(se.seriesNumber, 4), safeName(se.modality, 8) || 'OT', safeName(se.seriesDescription, 32)].filter(Boolean);
      const seriesFolder = names.take(`${patient}/${studyFolder}`, parts.join('_'), se.id);
      for (const inst of bySeries.get(se.id) ?? []) {
        entries.push({ name: `${patient}/${studyFolder}/${seriesFolder}/${pad(inst.instanceNumber, 5)}_${safeName(inst.sopInstanceUid, 64)}.dcm`, size: inst.size, path: inst.path });
        nInst++;
        nBytes += inst.size;
      }
    }
    summary.push({ id: st.id, patientId: st.patientId, studyDate: st.studyDate, studyDescription: st.studyDescription, instances: nInst, bytes: nBytes });
  }
  return {
    entries,
    studies: summary,
    instances: entries.length - 1,
    bytes: summary.reduce((s, x) => s + x.bytes, 0),
    length: zipLength(entries),
  };
}

/** The zip's entries, opening each stored file only when the writer reaches it. */
export function zipSources(plan: ZipPlan): ZipSource[] {
  return plan.entries.map((e) => {
    const content = e.content;
    return {
      name: e.name,
      size: e.size,
      open: content ? async function* () { yield new Uint8Array(content); } : () => createReadStream(absolute(e.path), { highWaterMark: READ_CHUNK }),
    };
  });
}

/** Content-Disposition for an attachment, with an ASCII-only sanitised file name. */
export function attachment(fileName: string): string {
  const safe = safeName(fileName.replace(/\.zip$/i, ''), 120) || 'download';
  return `attachment; filename="${safe}.zip"; filename*=UTF-8''${encodeURIComponent(`${safe}.zip`)}`;
}

export function studyZipName(s: { patientId: string; studyDate: string; studyDescription: string }): string {
  return [safeName(s.patientId, 32), /^\d{8}$/.test(s.studyDate) ? s.studyDate : '', safeName(s.studyDescription, 40)].filter(Boolean).join('_') || 'study';
}

export function selectionZipName(poolName: string, studies: number, now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `${safeName(poolName, 60) || 'pool'}_${studies}-studies_${day}`;
}

/** `?studyIds=a,b,c` of the GET selection link, validated after access was checked. */
export function parseStudyIdsLink(raw: string | undefined): string[] {
  const ids = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = (msg: string) => new AppError('VALIDATION', msg, { studyIds: [msg] });
  if (ids.length === 0) throw bad('Select at least one study');
  if (ids.length > MAX_LINK_STUDIES) throw bad(`At most ${MAX_LINK_STUDIES} studies per download link; use POST /pools/{id}/download for up to ${MAX_SELECTION_STUDIES}`);
  if (ids.some((id) => id.length > 64)) throw bad('Invalid study id');
  return ids;
}
