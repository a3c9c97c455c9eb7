/**
 * QIDO-RS for one pool (PS3.18 10.6), answered from the pool index in PostgreSQL: the values are
 * the de-identified ones the index holds. Matching:
 *
 * - UID attributes: single value or list (comma or backslash separated, or the key repeated).
 * - Text attributes: literal, or wildcard with `*` and `?`; PersonName (PN) case-insensitive
 *   (PS3.4 C.2.2.2.1 allows it for PN), everything else case-sensitive.
 * - Dates: `YYYYMMDD`, `A-B`, `-B`, `A-`; times likewise (compared on HHMMSS).
 * - ModalitiesInStudy / Modality: any of the listed values.
 * - `fuzzymatching=true` is not supported: literal matching, with the standard Warning.
 * - Attributes not listed here are not matched on (a Warning names them).
 *
 * Every answer carries each level's required attributes plus everything else the index has;
 * `includefield` matters at instance level, where attributes outside the index are read from the
 * file headers (`includefield=all`, or named tags).
 */
import { tagForKeyword } from '../anonymize/dictionary';
import { db, Prisma } from '../db';
import { absolute } from '../storage';
import { requireJson } from './accept';
import { auditOnce } from './audit';
import { instanceJson } from './dataset';
import { badRequest, notFoundDw } from './errors';
import { type DicomJson, jsonResponse, num, pn, sorted, str, strs, TAGS } from './json';
import type { DicomwebContext, PoolScope } from './route';
import { checkUid } from './wado';
import { mapLimited } from './map-limited';

const { sql, join, raw } = Prisma;
type Sql = Prisma.Sql;

export type Level = 'study' | 'series' | 'instance';
const RANK: Record<Level, number> = { study: 0, series: 1, instance: 2 };

/** The most results one answer holds; more need limit/offset. */
export const MAX_RESULTS = 10_000;

type Kind = 'uid' | 'text' | 'pn' | 'date' | 'time' | 'int' | 'anyOf' | 'modalities' | 'alwaysEmpty';

interface Matchable {
  keyword: string;
  tag: string;
  level: Level;
  col: string;
  kind: Kind;
}

const MATCHABLE: Matchable[] = [
  { keyword: 'StudyInstanceUID', tag: TAGS.StudyInstanceUID, level: 'study', col: 'st."studyInstanceUid"', kind: 'uid' },
  { keyword: 'PatientID', tag: TAGS.PatientID, level: 'study', col: 'st."patientId"', kind: 'text' },
  { keyword: 'PatientName', tag: TAGS.PatientName, level: 'study', col: 'st."patientName"', kind: 'pn' },
  { keyword: 'PatientBirthDate', tag: TAGS.PatientBirthDate, level: 'study', col: 'st."patientBirthDate"', kind: 'date' },
  { keyword: 'PatientSex', tag: TAGS.PatientSex, level: 'study', col: 'st."patientSex"', kind: 'text' },
  { keyword: 'StudyDate', tag: TAGS.StudyDate, level: 'study', col: 'st."studyDate"', kind: 'date' },
  { keyword: 'StudyTime', tag: TAGS.StudyTime, level: 'study', col: 'st."studyTime"', kind: 'time' },
  { keyword: 'AccessionNumber', tag: TAGS.AccessionNumber, level: 'study', col: 'st."accessionNumber"', kind: 'text' },
  { keyword: 'StudyID', tag: TAGS.StudyID, level: 'study', col: 'st."studyId"', kind: 'text' },
  { keyword: 'StudyDescription', tag: TAGS.StudyDescription, level: 'study', col: 'st."studyDescription"', kind: 'text' },
  { keyword: 'ModalitiesInStudy', tag: TAGS.ModalitiesInStudy, level: 'study', col: 'st."modalities"', kind: 'modalities' },
  // Removed by de-identification: always empty in a pool, so only a universal key matches.
  { keyword: 'ReferringPhysicianName', tag: TAGS.ReferringPhysicianName, level: 'study', col: "''", kind: 'alwaysEmpty' },
  { keyword: 'SeriesInstanceUID', tag: TAGS.SeriesInstanceUID, level: 'series', col: 'se."seriesInstanceUid"', kind: 'uid' },
  { keyword: 'Modality', tag: TAGS.Modality, level: 'series', col: 'se."modality"', kind: 'anyOf' },
  { keyword: 'SeriesNumber', tag: TAGS.SeriesNumber, level: 'series', col: 'se."seriesNumber"', kind: 'int' },
  { keyword: 'SeriesDescription', tag: TAGS.SeriesDescription, level: 'series', col: 'se."seriesDescription"', kind: 'text' },
  { keyword: 'BodyPartExamined', tag: TAGS.BodyPartExamined, level: 'series', col: 'se."bodyPartExamined"', kind: 'text' },
  { keyword: 'SOPInstanceUID', tag: TAGS.SOPInstanceUID, level: 'instance', col: 'i."sopInstanceUid"', kind: 'uid' },
  { keyword: 'SOPClassUID', tag: TAGS.SOPClassUID, level: 'instance', col: 'i."sopClassUid"', kind: 'uid' },
  { keyword: 'InstanceNumber', tag: TAGS.InstanceNumber, level: 'instance', col: 'i."instanceNumber"', kind: 'int' },
];
const BY_KEY = new Map<string, Matchable>();
for (const m of MATCHABLE) {
  BY_KEY.set(m.keyword.toLowerCase(), m);
  BY_KEY.set(m.tag.toLowerCase(), m);
}

const RESERVED = new Set(['includefield', 'limit', 'offset', 'fuzzymatching', 'emptyvaluematching', 'multiplevaluematching', 'includedefaults', 'orderby']);

/** Attributes each level's answer takes from the index (so includefield needs no file read for them). */
const INDEX_TAGS: Record<Level, Set<string>> = {
  study: new Set<string>([
    TAGS.SpecificCharacterSet, TAGS.StudyDate, TAGS.StudyTime, TAGS.AccessionNumber, TAGS.InstanceAvailability, TAGS.ModalitiesInStudy,
    TAGS.ReferringPhysicianName, TAGS.StudyDescription, TAGS.RetrieveURL, TAGS.PatientName, TAGS.PatientID, TAGS.PatientBirthDate,
    TAGS.PatientSex, TAGS.StudyInstanceUID, TAGS.StudyID, TAGS.NumberOfStudyRelatedSeries, TAGS.NumberOfStudyRelatedInstances,
  ]),
  series: new Set<string>([
    TAGS.Modality, TAGS.SeriesDescription, TAGS.RetrieveURL, TAGS.SeriesInstanceUID, TAGS.SeriesNumber, TAGS.NumberOfSeriesRelatedInstances,
    TAGS.BodyPartExamined, TAGS.StudyInstanceUID,
  ]),
  instance: new Set<string>([
    TAGS.SOPClassUID, TAGS.SOPInstanceUID, TAGS.InstanceAvailability, TAGS.RetrieveURL, TAGS.InstanceNumber, TAGS.Rows, TAGS.Columns,
    TAGS.NumberOfFrames, TAGS.StudyInstanceUID, TAGS.SeriesInstanceUID, TAGS.Modality,
  ]),
};

export interface QidoQuery {
  conditions: Sql[];
  include: { all: boolean; tags: Set<string> };
  limit: number;
  offset: number;
  warnings: string[];
}

function values(params: URLSearchParams, name: string): string[] {
  return params.getAll(name).flatMap((v) => v.split(/[\\,]/)).map((v) => v.trim()).filter(Boolean);
}

function textMatch(col: Sql, value: string, insensitive: boolean): Sql | null {
  if (value === '' || /^\*+$/.test(value)) return null; // universal match
  if (/[*?]/.test(value)) {
    const like = value.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, '%').replace(/\?/g, '_');
    return insensitive ? sql`${col} ILIKE ${like}` : sql`${col} LIKE ${like}`;
  }
  return insensitive ? sql`lower(${col}) = lower(${value})` : sql`${col} = ${value}`;
}

function rangeMatch(col: Sql, value: string, what: 'date' | 'time'): Sql | null {
  if (value === '') return null;
  const part = what === 'date' ? '\\d{8}' : '\\d{2}(?:\\d{2}(?:\\d{2}(?:\\.\\d{1,6})?)?)?';
  const m = new RegExp(`^(${part})?(-)?(${part})?$`).exec(value);
  if (!m || (!m[1] && !m[3])) throw badRequest(`Invalid ${what} or ${what} range`);
  // Times compare on HHMMSS: bounds are padded so "-12" includes 12:59:59.
  const norm = (v: string, pad: string) => (what === 'date' ? v : v.split('.')[0].padEnd(6, pad));
  const c = what === 'date' ? col : sql`substr(${col}, 1, 6)`;
  if (!m[2]) return what === 'date' ? sql`${col} = ${m[1]}` : sql`(${c} >= ${norm(m[1], '0')} AND ${c} <= ${norm(m[1], '9')})`;
  const conds: Sql[] = [sql`${col} <> ''`];
  if (m[1]) conds.push(sql`${c} >= ${norm(m[1], '0')}`);
  if (m[3]) conds.push(sql`${c} <= ${norm(m[3], '9')}`);
  return sql`(${join(conds, ' AND ')})`;
}

function conditionFor(m: Matchable, params: URLSearchParams, name: string): Sql | null {
  const col = raw(m.col);
  const last = params.getAll(name).at(-1) ?? '';
  switch (m.kind) {
    case 'uid': {
      const list = values(params, name);
      if (!list.length) return null;
      for (const u of list) checkUid(u, `${m.keyword} value`);
      return sql`${col} = ANY(${list}::text[])`;
    }
    case 'anyOf': {
      const list = values(params, name);
      if (!list.length || list.includes('*')) return null;
      return sql`${col} = ANY(${list}::text[])`;
    }
    case 'modalities': {
      const list = values(params, name);
      if (!list.length || list.includes('*')) return null;
      // The separator is a literal, not a parameter: the GIN index on this very expression
      // (Study_modalities_codes_idx) only matches it so.
      return sql`string_to_array(${col}, '\\') && ${list}::text[]`;
    }
    case 'text':
      return textMatch(col, last.trim(), false);
    case 'pn':
      return textMatch(col, last.trim(), true);
    case 'date':
      return rangeMatch(col, last.trim(), 'date');
    case 'time':
      return rangeMatch(col, last.trim(), 'time');
    case 'int': {
      const v = last.trim();
      if (v === '' || v === '*') return null;
      if (!/^-?\d{1,9}$/.test(v)) throw badRequest(`${m.keyword} must be an integer`);
      return sql`${col} = ${Number(v)}`;
    }
    case 'alwaysEmpty': {
      const v = last.trim();
      return v === '' || /^\*+$/.test(v) ? null : sql`FALSE`;
    }
  }
}

function nonNegative(v: string | null, what: string): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^\d{1,9}$/.test(v)) throw badRequest(`${what} must be a non-negative integer`);
  return Number(v);
}

/** Includefield values as 8-hex tags ("all" sets `all`). Unknown keywords are ignored. */
function parseInclude(params: URLSearchParams): { all: boolean; tags: Set<string> } {
  const tags = new Set<string>();
  let all = false;
  for (const v of values(params, 'includefield')) {
    if (v.toLowerCase() === 'all') all = true;
    else if (/^[0-9a-f]{8}$/i.test(v)) tags.add(v.toUpperCase());
    else {
      const t = tagForKeyword(v);
      if (t !== undefined) tags.add(t.toString(16).toUpperCase().padStart(8, '0'));
    }
  }
  return { all, tags };
}

export function parseQido(params: URLSearchParams, level: Level, service: string): QidoQuery {
  const conditions: Sql[] = [];
  const warnings: string[] = [];
  const unsupported: string[] = [];
  for (const name of new Set(params.keys())) {
    const lower = name.toLowerCase();
    if (RESERVED.has(lower)) continue;
    const m = BY_KEY.get(lower);
    if (!m || RANK[m.level] > RANK[level]) {
      unsupported.push(name.replace(/[^A-Za-z0-9.]/g, '').slice(0, 64));
      continue;
    }
    const c = conditionFor(m, params, name);
    if (c) conditions.push(c);
  }
  if ((params.get('fuzzymatching') ?? '').toLowerCase() === 'true') {
    warnings.push(`299 ${service}: The fuzzymatching parameter is not supported. Only literal matching has been performed.`);
  }
  if (unsupported.length) warnings.push(`299 ${service}: The following attributes are not supported for matching and were ignored: ${unsupported.join(', ')}`);
  const limit = nonNegative(params.get('limit'), 'limit');
  const offset = nonNegative(params.get('offset'), 'offset') ?? 0;
  return { conditions, include: parseInclude(params), limit: Math.min(limit ?? MAX_RESULTS, MAX_RESULTS), offset, warnings };
}

// ---------------------------------------------------------------------------------------------
// SQL

interface Row {
  st_id: string;
  st_uid: string;
  st_pid: string;
  st_pname: string;
  st_psex: string;
  st_pbd: string;
  st_date: string;
  st_time: string;
  st_desc: string;
  st_acc: string;
  st_sid: string;
  st_mods: string;
  st_nse: number;
  st_nin: number;
  se_id?: string;
  se_uid?: string;
  se_mod?: string;
  se_num?: number | null;
  se_desc?: string;
  se_body?: string;
  se_nin?: number;
  i_id?: string;
  i_uid?: string;
  i_class?: string;
  i_num?: number | null;
  i_rows?: number | null;
  i_cols?: number | null;
  i_frames?: number | null;
  i_path?: string;
}

const STUDY_COLS = raw(
  `st.id AS st_id, st."studyInstanceUid" AS st_uid, st."patientId" AS st_pid, st."patientName" AS st_pname, st."patientSex" AS st_psex,
   st."patientBirthDate" AS st_pbd, st."studyDate" AS st_date, st."studyTime" AS st_time, st."studyDescription" AS st_desc,
   st."accessionNumber" AS st_acc, st."studyId" AS st_sid, st."modalities" AS st_mods, st."numSeries" AS st_nse, st."numInstances" AS st_nin`,
);
const SERIES_COLS = raw(
  `se.id AS se_id, se."seriesInstanceUid" AS se_uid, se."modality" AS se_mod, se."seriesNumber" AS se_num, se."seriesDescription" AS se_desc,
   se."bodyPartExamined" AS se_body, se."numInstances" AS se_nin`,
);
const INSTANCE_COLS = raw(
  `i.id AS i_id, i."sopInstanceUid" AS i_uid, i."sopClassUid" AS i_class, i."instanceNumber" AS i_num, i."rows" AS i_rows,
   i."columns" AS i_cols, i."numberOfFrames" AS i_frames, i."path" AS i_path`,
);

async function queryRows(scope: PoolScope, level: Level, path: { studyUid?: string; seriesUid?: string }, q: QidoQuery, take: number): Promise<Row[]> {
  const pool = scope.poolId;
  const where: Sql[] = [sql`st."poolId" = ${pool}`, ...q.conditions];
  if (level !== 'study') where.push(sql`se."poolId" = ${pool}`);
  if (level === 'instance') where.push(sql`i."poolId" = ${pool}`);
  if (scope.studyUids !== null) where.push(sql`st."studyInstanceUid" = ANY(${scope.studyUids}::text[])`);
  if (path.studyUid) where.push(sql`st."studyInstanceUid" = ${path.studyUid}`);
  if (path.seriesUid) where.push(sql`se."seriesInstanceUid" = ${path.seriesUid}`);
  const whereSql = join(where, ' AND ');
  const studyOrder = raw(`st."studyDate" DESC, st."studyTime" DESC, st.id`);
  const seriesOrder = raw(`se."seriesNumber" ASC NULLS LAST, se."seriesInstanceUid"`);
  const instanceOrder = raw(`i."instanceNumber" ASC NULLS LAST, i."sopInstanceUid"`);
  if (level === 'study') {
    return db.$queryRaw<Row[]>(sql`SELECT ${STUDY_COLS} FROM "Study" st WHERE ${whereSql} ORDER BY ${studyOrder} LIMIT ${take} OFFSET ${q.offset}`);
  }
  if (level === 'series') {
    return db.$queryRaw<Row[]>(
      sql`SELECT ${STUDY_COLS}, ${SERIES_COLS} FROM "Series" se JOIN "Study" st ON st.id = se."studyId"
          WHERE ${whereSql} ORDER BY ${studyOrder}, ${seriesOrder} LIMIT ${take} OFFSET ${q.offset}`,
    );
  }
  return db.$queryRaw<Row[]>(
    sql`SELECT ${STUDY_COLS}, ${SERIES_COLS}, ${INSTANCE_COLS} FROM "Instance" i
        JOIN "Series" se ON se.id = i."seriesId" JOIN "Study" st ON st.id = se."studyId"
        WHERE ${whereSql} ORDER BY ${studyOrder}, ${seriesOrder}, ${instanceOrder} LIMIT ${take} OFFSET ${q.offset}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Answers

function studyAttrs(r: Row, root: string): DicomJson {
  return {
    [TAGS.SpecificCharacterSet]: str('CS', 'ISO_IR 192'),
    [TAGS.StudyDate]: str('DA', r.st_date),
    [TAGS.StudyTime]: str('TM', r.st_time),
    [TAGS.AccessionNumber]: str('SH', r.st_acc),
    [TAGS.InstanceAvailability]: str('CS', 'ONLINE'),
    [TAGS.ModalitiesInStudy]: strs('CS', r.st_mods.split('\\')),
    [TAGS.ReferringPhysicianName]: pn(''),
    [TAGS.StudyDescription]: str('LO', r.st_desc),
    [TAGS.RetrieveURL]: str('UR', `${root}/studies/${r.st_uid}`),
    [TAGS.PatientName]: pn(r.st_pname),
    [TAGS.PatientID]: str('LO', r.st_pid),
    [TAGS.PatientBirthDate]: str('DA', r.st_pbd),
    [TAGS.PatientSex]: str('CS', r.st_psex),
    [TAGS.StudyInstanceUID]: str('UI', r.st_uid),
    [TAGS.StudyID]: str('SH', r.st_sid),
    [TAGS.NumberOfStudyRelatedSeries]: num('IS', r.st_nse),
    [TAGS.NumberOfStudyRelatedInstances]: num('IS', r.st_nin),
  };
}

function seriesAttrs(r: Row, root: string): DicomJson {
  return {
    [TAGS.Modality]: str('CS', r.se_mod),
    [TAGS.SeriesDescription]: str('LO', r.se_desc),
    [TAGS.RetrieveURL]: str('UR', `${root}/studies/${r.st_uid}/series/${r.se_uid}`),
    [TAGS.SeriesInstanceUID]: str('UI', r.se_uid),
    [TAGS.SeriesNumber]: num('IS', r.se_num),
    [TAGS.NumberOfSeriesRelatedInstances]: num('IS', r.se_nin),
    [TAGS.BodyPartExamined]: str('CS', r.se_body),
    [TAGS.StudyInstanceUID]: str('UI', r.st_uid),
  };
}

function instanceAttrs(r: Row, root: string): DicomJson {
  return {
    [TAGS.SOPClassUID]: str('UI', r.i_class),
    [TAGS.SOPInstanceUID]: str('UI', r.i_uid),
    [TAGS.InstanceAvailability]: str('CS', 'ONLINE'),
    [TAGS.RetrieveURL]: str('UR', `${root}/studies/${r.st_uid}/series/${r.se_uid}/instances/${r.i_uid}`),
    [TAGS.InstanceNumber]: num('IS', r.i_num),
    [TAGS.Rows]: num('US', r.i_rows),
    [TAGS.Columns]: num('US', r.i_cols),
    [TAGS.NumberOfFrames]: num('IS', r.i_frames),
    [TAGS.StudyInstanceUID]: str('UI', r.st_uid),
    [TAGS.SeriesInstanceUID]: str('UI', r.se_uid),
    [TAGS.Modality]: str('CS', r.se_mod),
  };
}

/** Adds file-header attributes an instance-level includefield asks for (beyond the index). */
async function withFileAttributes(r: Row, json: DicomJson, include: QidoQuery['include'], root: string): Promise<DicomJson> {
  const wanted = include.all ? null : [...include.tags].filter((t) => !INDEX_TAGS.instance.has(t));
  if (wanted && wanted.length === 0) return json;
  const url = `${root}/studies/${r.st_uid}/series/${r.se_uid}/instances/${r.i_uid}`;
  const file = await instanceJson(absolute(r.i_path!), { bulkUri: (p) => `${url}/bulkdata/${p}` }).catch(() => null);
  if (!file) return json;
  for (const [tag, attr] of Object.entries(file.json)) {
    if (tag in json) continue; // index values (and RetrieveURL) stay authoritative
    if (wanted === null || wanted.includes(tag)) json[tag] = attr;
  }
  return json;
}


/**
 * One QIDO-RS search. `level` is what is searched for; `path` narrows it to a study (and series)
 * given in the URL, which must exist in the caller's scope (404 otherwise).
 */
export async function search(c: DicomwebContext<Record<string, string | undefined>>, level: Level): Promise<Response> {
  requireJson(c.req.headers.get('accept'));
  const path = {
    studyUid: c.params.study !== undefined ? checkUid(c.params.study, 'Study Instance UID') : undefined,
    seriesUid: c.params.series !== undefined ? checkUid(c.params.series, 'Series Instance UID') : undefined,
  };
  if (path.studyUid) {
    const inScope = c.scope.studyUids === null || c.scope.studyUids.includes(path.studyUid);
    const study = inScope ? await db.study.findUnique({ where: { poolId_studyInstanceUid: { poolId: c.pool.id, studyInstanceUid: path.studyUid } }, select: { id: true } }) : null;
    if (!study) throw notFoundDw('Study not found');
    if (path.seriesUid) {
      const series = await db.series.findFirst({ where: { poolId: c.pool.id, studyId: study.id, seriesInstanceUid: path.seriesUid }, select: { id: true } });
      if (!series) throw notFoundDw('Series not found');
    }
  }
  const q = parseQido(c.url.searchParams, level, c.root);
  // One row more than asked tells whether the server cap cut the answer short.
  const rows = await queryRows(c.scope, level, path, q, q.limit + 1);
  const truncated = rows.length > q.limit;
  if (truncated) rows.length = q.limit;
  const wide = !path.studyUid; // pool-wide /series and /instances also describe their study
  const answers = await mapLimited(rows, 8, async (r) => {
    let json: DicomJson;
    if (level === 'study') json = studyAttrs(r, c.root);
    else if (level === 'series') json = { ...(wide ? studyAttrs(r, c.root) : {}), ...seriesAttrs(r, c.root) };
    else {
      json = { ...(wide ? studyAttrs(r, c.root) : {}), ...(path.seriesUid ? {} : seriesAttrs(r, c.root)), ...instanceAttrs(r, c.root) };
      json = await withFileAttributes(r, json, q.include, c.root);
    }
    return sorted(json);
  });
  await auditOnce({ userId: c.actor.userId, poolId: c.pool.id, action: 'pool.view', kind: 'qido', targetType: 'pool', targetId: c.pool.id });
  const warnings = [...q.warnings];
  const userLimit = c.url.searchParams.get('limit');
  if (truncated && (userLimit === null || Number(userLimit) > MAX_RESULTS)) {
    warnings.push(`299 ${c.root}: The number of results exceeded the maximum supported by the server (${MAX_RESULTS}). Additional results can be requested with offset.`);
  }
  const res = jsonResponse(answers);
  for (const w of warnings) res.headers.append('Warning', w);
  return res;
}
