/**
 * QIDO-RS (PS3.18 10.6) against a DICOMweb source: studies of a patient (study level), a
 * study's series (for instance counts) and a series' instances (for partial retries). Same
 * query rules as our C-FIND (lib/dicom/scu.ts studyQueryKeys: an exact PatientID, no wildcards)
 * and the same result shapes, so the query path does not care which kind of source answered.
 *
 * Paging: `limit`/`offset` until a page comes back short; a server that ignores `limit` (answers
 * more than asked) is taken as complete, one that ignores `offset` (repeats a page) is stopped.
 * The server's Warning header (PS3.18 8.3.4: e.g. "fuzzymatching not supported", "too many
 * matches") is collected and returned to the caller; its text is the server's, never logged.
 */
import { DicomQueryError, studyQueryKeys, type InstanceMatch, type SeriesMatch, type StudyMatch, type StudyQuery } from '../../dicom/scu';
import { HttpError, httpRequest, isHtml, readBody, type HttpResponse } from '../../http/client';
import type { DicomwebSource } from './peer';

/** Results per QIDO page. */
export const QIDO_PAGE = 100;
/** A runaway server (one that ignores offset in a subtler way) stops here. */
const MAX_PAGES = 200;

const T = {
  PatientName: '00100010',
  PatientID: '00100020',
  PatientBirthDate: '00100030',
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  ModalitiesInStudy: '00080061',
  StudyDescription: '00081030',
  StudyInstanceUID: '0020000D',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  SeriesInstanceUID: '0020000E',
  Modality: '00080060',
  SeriesNumber: '00200011',
  SeriesDescription: '0008103E',
  NumberOfSeriesRelatedInstances: '00201209',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  InstanceNumber: '00200013',
} as const;

export const STUDY_INCLUDE = [
  T.PatientName,
  T.PatientBirthDate,
  T.StudyTime,
  T.StudyDescription,
  T.ModalitiesInStudy,
  T.NumberOfStudyRelatedSeries,
  T.NumberOfStudyRelatedInstances,
];
const SERIES_INCLUDE = [T.SeriesDescription, T.NumberOfSeriesRelatedInstances];

type DicomJson = Record<string, { vr?: string; Value?: unknown[] }>;

function values(o: DicomJson, tag: string): unknown[] {
  const v = o[tag]?.Value;
  return Array.isArray(v) ? v : [];
}

function text(o: DicomJson, tag: string): string {
  const v = values(o, tag)[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') {
    // PN: {"Alphabetic": "DOE^JOHN"}
    const pn = v as { Alphabetic?: unknown };
    return typeof pn.Alphabetic === 'string' ? pn.Alphabetic : '';
  }
  return String(v).trim();
}

function int(o: DicomJson, tag: string): number | undefined {
  const v = values(o, tag)[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export interface QidoAnswer<T> {
  matches: T[];
  /** The server's Warning header values (its own text: show to admins, never log). */
  warnings: string[];
  /** Pages asked. */
  pages: number;
}

/** Warning header values (RFC 7234 5.5: `299 agent "text"` or PS3.18's `299 agent: text`). */
export function parseWarnings(header: string | string[] | undefined): string[] {
  if (!header) return [];
  const all = Array.isArray(header) ? header : [header];
  const out: string[] = [];
  for (const h of all) {
    for (const m of h.matchAll(/(\d{3})\s+(\S+)\s*:?\s*("([^"]*)"|[^,]*)/g)) out.push((m[4] ?? m[3] ?? '').trim().replace(/[^\x20-\x7e]/g, ' ').slice(0, 200));
  }
  return out.filter(Boolean);
}

async function readJson(res: HttpResponse, host: string): Promise<DicomJson[]> {
  if (res.status === 204) {
    res.discard();
    return [];
  }
  if (isHtml(res.headers)) {
    res.discard();
    throw new HttpError('html', `${host} answered the QIDO-RS query with an HTML page, not DICOM JSON: check the QIDO-RS root and the authentication (a login page?)`, false, res.status);
  }
  const body = await readBody(res);
  if (body.length === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError('protocol', `${host} answered the QIDO-RS query with something that is not JSON`, false, res.status);
  }
  if (!Array.isArray(parsed)) throw new HttpError('protocol', `${host} answered the QIDO-RS query with JSON that is not a list of datasets`, false, res.status);
  return parsed as DicomJson[];
}

/** Every page of one QIDO-RS query. `params` without limit/offset. */
export async function qidoAll(src: DicomwebSource, path: string, params: URLSearchParams, opts: { signal?: AbortSignal; key?: string } = {}): Promise<QidoAnswer<DicomJson>> {
  const out: DicomJson[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  const key = opts.key;
  for (let page = 0; page < MAX_PAGES; page++) {
    const p = new URLSearchParams(params);
    p.set('limit', String(QIDO_PAGE));
    if (page > 0) p.set('offset', String(out.length));
    const url = new URL(`${path}?${p.toString()}`, src.qidoRoot);
    const res = await httpRequest(url, src.http, { headers: { accept: 'application/dicom+json, application/json' }, signal: opts.signal });
    for (const w of parseWarnings(res.headers.warning)) if (!warnings.includes(w)) warnings.push(w);
    const items = await readJson(res, url.host);
    let fresh = 0;
    for (const it of items) {
      const k = key ? text(it, key) : '';
      if (k && seen.has(k)) continue;
      if (k) seen.add(k);
      out.push(it);
      fresh++;
    }
    // Short page: done. More than asked: the server ignores limit and sent everything. Nothing
    // new: the server ignores offset.
    if (items.length < QIDO_PAGE || items.length > QIDO_PAGE || fresh === 0) return { matches: out, warnings, pages: page + 1 };
  }
  return { matches: out, warnings, pages: MAX_PAGES };
}

function toStudy(o: DicomJson): StudyMatch {
  const mods = values(o, T.ModalitiesInStudy).map((v) => String(v).trim()).filter(Boolean);
  return {
    studyInstanceUid: text(o, T.StudyInstanceUID),
    patientId: text(o, T.PatientID),
    patientName: text(o, T.PatientName),
    patientBirthDate: text(o, T.PatientBirthDate),
    studyDate: text(o, T.StudyDate),
    studyTime: text(o, T.StudyTime),
    studyDescription: text(o, T.StudyDescription),
    accessionNumber: text(o, T.AccessionNumber),
    modalitiesInStudy: mods,
    numberOfStudyRelatedSeries: int(o, T.NumberOfStudyRelatedSeries),
    numberOfStudyRelatedInstances: int(o, T.NumberOfStudyRelatedInstances),
  };
}

/** Study-level query for one row: exact PatientID, the row's other keys, paged until complete. */
export async function qidoStudies(src: DicomwebSource, q: StudyQuery, opts: { signal?: AbortSignal } = {}): Promise<QidoAnswer<StudyMatch>> {
  const keys = studyQueryKeys(q);
  const p = new URLSearchParams();
  p.set('PatientID', keys.PatientID);
  if (keys.AccessionNumber) p.set('AccessionNumber', keys.AccessionNumber);
  // QIDO-RS lists several values with commas where C-FIND uses backslashes.
  if (keys.ModalitiesInStudy) p.set('ModalitiesInStudy', keys.ModalitiesInStudy.split('\\').join(','));
  if (keys.StudyDate) p.set('StudyDate', keys.StudyDate);
  if (keys.StudyDescription) p.set('StudyDescription', keys.StudyDescription);
  if (src.includeField) p.set('includefield', STUDY_INCLUDE.join(','));
  if (src.fuzzyMatching) p.set('fuzzymatching', 'true');
  const a = await qidoAll(src, 'studies', p, { ...opts, key: T.StudyInstanceUID });
  const modality = keys.ModalitiesInStudy ? keys.ModalitiesInStudy.split('\\') : [];
  // As for C-FIND: never another patient's study (a server may match loosely), honour the modality.
  const matches = a.matches
    .map(toStudy)
    .filter((m) => m.studyInstanceUid && m.patientId === keys.PatientID)
    .filter((m) => !modality.length || !m.modalitiesInStudy.length || m.modalitiesInStudy.some((x) => modality.includes(x)));
  return { ...a, matches };
}

function requireUid(uid: string, what: string) {
  if (!uid || !/^[0-9.]{1,64}$/.test(uid)) throw new DicomQueryError(`A single ${what} is required`);
}

export async function qidoSeries(src: DicomwebSource, studyUid: string, opts: { signal?: AbortSignal } = {}): Promise<SeriesMatch[]> {
  requireUid(studyUid, 'StudyInstanceUID');
  const p = new URLSearchParams();
  if (src.includeField) p.set('includefield', SERIES_INCLUDE.join(','));
  const a = await qidoAll(src, `studies/${studyUid}/series`, p, { ...opts, key: T.SeriesInstanceUID });
  return a.matches
    .map((o) => ({
      seriesInstanceUid: text(o, T.SeriesInstanceUID),
      modality: text(o, T.Modality),
      seriesNumber: int(o, T.SeriesNumber),
      seriesDescription: text(o, T.SeriesDescription),
      numberOfSeriesRelatedInstances: int(o, T.NumberOfSeriesRelatedInstances),
    }))
    .filter((s) => s.seriesInstanceUid);
}

export async function qidoInstances(src: DicomwebSource, studyUid: string, seriesUid: string, opts: { signal?: AbortSignal } = {}): Promise<InstanceMatch[]> {
  requireUid(studyUid, 'StudyInstanceUID');
  requireUid(seriesUid, 'SeriesInstanceUID');
  const a = await qidoAll(src, `studies/${studyUid}/series/${seriesUid}/instances`, new URLSearchParams(), { ...opts, key: T.SOPInstanceUID });
  return a.matches
    .map((o) => ({ sopInstanceUid: text(o, T.SOPInstanceUID), sopClassUid: text(o, T.SOPClassUID), instanceNumber: int(o, T.InstanceNumber) }))
    .filter((i) => i.sopInstanceUid);
}

/** The raw first page of a study query, for the capability check (which keys came back). */
export async function qidoProbe(src: DicomwebSource, path: string, params: URLSearchParams): Promise<{ items: DicomJson[]; warnings: string[] }> {
  const url = new URL(`${path}?${params.toString()}`, src.qidoRoot);
  const res = await httpRequest(url, src.http, { headers: { accept: 'application/dicom+json, application/json' } });
  const warnings = parseWarnings(res.headers.warning);
  return { items: await readJson(res, url.host), warnings };
}

export { T as QIDO_TAGS };
export type { DicomJson };
