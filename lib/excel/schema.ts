/**
 * The query row: one PatientID with optional narrowing criteria. The single-MRN form, the JSON API,
 * the CLI and every spreadsheet row go through this one schema, so a value accepted in one place
 * is accepted everywhere and reaches C-FIND in the same normalized form.
 *
 * This module imports only zod: it is safe to use in the browser (import it directly, not through
 * `lib/excel/index.ts`, which pulls in exceljs).
 *
 * Error messages name the column, never the value: they can end up in logs, and the coordinator
 * sees the raw row beside them anyway.
 */
import { z } from 'zod';

/** Template columns, in template order. The names are what coordinators see in the spreadsheet. */
export const QUERY_COLUMNS = [
  'PatientID',
  'AccessionNumber',
  'Modality',
  'StudyDateFrom',
  'StudyDateTo',
  'StudyDescription',
  'ResearchID',
  'ResearchName',
] as const;
export type QueryColumn = (typeof QUERY_COLUMNS)[number];

/** Field of the row object (form, API body, database) for each spreadsheet column. */
export const COLUMN_FIELD = {
  PatientID: 'patientId',
  AccessionNumber: 'accessionNumber',
  Modality: 'modality',
  StudyDateFrom: 'studyDateFrom',
  StudyDateTo: 'studyDateTo',
  StudyDescription: 'studyDescription',
  ResearchID: 'researchId',
  ResearchName: 'researchName',
} as const satisfies Record<QueryColumn, string>;
export type QueryField = (typeof COLUMN_FIELD)[QueryColumn];

export const FIELD_COLUMN = Object.fromEntries(
  Object.entries(COLUMN_FIELD).map(([column, field]) => [field, column]),
) as Record<QueryField, QueryColumn>;

/** Maximum lengths: the DICOM VR of the attribute each column is matched against. */
export const MAX_LENGTH = {
  PatientID: 64, // LO
  AccessionNumber: 16, // SH
  StudyDescription: 64, // LO
  ResearchID: 64, // becomes the pool's PatientID (LO)
  ResearchName: 64, // becomes the pool's PatientName (PN component group)
} as const;

/**
 * DICOM modality defined terms (PS3.3 C.7.3.1.1.1 and PS3.16 CID 29/33), current and retired: a
 * PACS may still hold studies under retired codes. A code outside this list cannot match anything,
 * so it is refused rather than sent as a query that silently finds nothing.
 */
export const DICOM_MODALITIES: ReadonlySet<string> = new Set([
  'ANN', 'AR', 'ASMT', 'AU', 'BDUS', 'BI', 'BMD', 'CFM', 'CR', 'CT', 'CTPROTOCOL', 'DG', 'DMS', 'DOC', 'DX',
  'ECG', 'EEG', 'EMG', 'EOG', 'EPS', 'ES', 'FID', 'GM', 'HC', 'HD', 'IO', 'IOL', 'IVOCT', 'IVUS', 'KER', 'KO',
  'LEN', 'LS', 'M3D', 'MG', 'MR', 'NM', 'OAM', 'OCT', 'OP', 'OPM', 'OPT', 'OPTBSV', 'OPTENF', 'OPV', 'OSS', 'OT',
  'PA', 'PLAN', 'POS', 'PR', 'PT', 'PX', 'REG', 'RESP', 'RF', 'RG', 'RTDOSE', 'RTIMAGE', 'RTINTENT', 'RTPLAN',
  'RTRAD', 'RTRECORD', 'RTSEGANN', 'RTSTRUCT', 'RWV', 'SEG', 'SM', 'SMR', 'SR', 'SRF', 'STAIN', 'TEXTUREMAP',
  'TG', 'US', 'VA', 'XA', 'XAPROTOCOL', 'XC',
  // retired
  'AS', 'CD', 'CF', 'CP', 'CS', 'DD', 'DF', 'DM', 'DS', 'EC', 'FA', 'FS', 'LP', 'MA', 'MS', 'OPR', 'ST', 'VF',
]);

/** Words people write for a modality, with the DICOM code they mean. Safe to echo: they are constants. */
const MODALITY_HINTS: Record<string, string> = {
  MRI: 'MR',
  CAT: 'CT',
  XRAY: 'CR or DX',
  'X-RAY': 'CR or DX',
  PET: 'PT',
  'PET-CT': 'PT and CT',
  SPECT: 'NM',
  MAMMO: 'MG',
  MAMMOGRAPHY: 'MG',
  ULTRASOUND: 'US',
  ECHO: 'US',
  ANGIO: 'XA',
  FLUORO: 'RF',
};

// C0 and C1 control characters and DEL. DICOM LO/SH/PN allow ESC only for ISO 2022 code extensions,
// which a spreadsheet never needs; a line break or tab in a cell is a paste accident.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const WILDCARDS = /[*?]/;

type Issue = string;

function textIssues(
  column: QueryColumn,
  value: string,
  opts: { max: number; wildcards: 'refuse' | 'allow'; why?: string },
): Issue[] {
  const issues: Issue[] = [];
  if (value.length > opts.max) issues.push(`${column} is longer than ${opts.max} characters.`);
  if (value.includes('\\')) issues.push(`${column} must not contain a backslash (\\): DICOM uses it to separate values.`);
  if (CONTROL_CHARS.test(value)) issues.push(`${column} must not contain line breaks, tabs or other control characters.`);
  if (opts.wildcards === 'refuse' && WILDCARDS.test(value)) {
    issues.push(`${column} must not contain * or ?: ${opts.why ?? 'values are matched exactly'}.`);
  }
  return issues;
}

/** Dates as YYYYMMDD (DICOM DA) or an explanation of why the text is not one. */
export type DateParse = { ok: true; value: string } | { ok: false; reason: 'format' | 'ambiguous' | 'calendar' | 'range' };

// Year-first dates are never ambiguous, whatever the separator; an optional time (from an ISO
// timestamp or a date-time cell exported as text) is ignored.
const YEAR_FIRST = /^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/;
// 03/04/2024, 3-4-24, 03.04.2024: day-first in Europe, month-first in the US. Refused, never guessed.
const DAY_OR_MONTH_FIRST = /^\d{1,2}[-/.]\d{1,2}[-/.](\d{2}|\d{4})$/;

export const MIN_STUDY_YEAR = 1900;

export function parseStudyDate(text: string): DateParse {
  const value = text.trim();
  let parts: [string, string, string] | undefined;
  const yearFirst = YEAR_FIRST.exec(value);
  if (yearFirst) parts = [yearFirst[1], yearFirst[3], yearFirst[4]];
  const compact = COMPACT.exec(value);
  if (compact) parts = [compact[1], compact[2], compact[3]];
  if (!parts) return { ok: false, reason: DAY_OR_MONTH_FIRST.test(value) ? 'ambiguous' : 'format' };
  const [y, m, d] = parts.map(Number);
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return { ok: false, reason: 'calendar' };
  if (y < MIN_STUDY_YEAR) return { ok: false, reason: 'range' };
  return { ok: true, value: `${parts[0]}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}` };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dateIssue(column: QueryColumn, reason: Exclude<DateParse, { ok: true }>['reason']): Issue {
  switch (reason) {
    case 'ambiguous':
      return `${column}: a date like 03/04/2024 is ambiguous (day or month first?). Write it as YYYY-MM-DD, e.g. 2024-04-03, or use a date cell.`;
    case 'calendar':
      return `${column} is not a real calendar date.`;
    case 'range':
      return `${column} is before ${MIN_STUDY_YEAR}.`;
    case 'format':
      return `${column} is not a date: use YYYY-MM-DD (e.g. 2024-04-03), YYYYMMDD, or a date cell.`;
  }
}

/** "ct, mr" → "CT\MR": DICOM's multi-value form, which C-FIND sends as a list of modalities. */
const MODALITY_SEPARATORS = /[\\,;/\s]+/;

function modalityResult(value: string): { value?: string; issues: Issue[] } {
  const codes = [...new Set(value.split(MODALITY_SEPARATORS).filter(Boolean).map((c) => c.toUpperCase()))];
  if (codes.length === 0) return { issues: [] };
  const issues: Issue[] = [];
  for (const code of codes) {
    if (DICOM_MODALITIES.has(code)) continue;
    const hint = MODALITY_HINTS[code];
    issues.push(
      hint
        ? `Modality: write ${hint} instead of ${code} (DICOM modality codes).`
        : 'Modality must be DICOM modality codes such as CT, MR, US, CR, DX, MG, PT, NM or XA; separate several with commas.',
    );
  }
  return issues.length ? { issues: [...new Set(issues)] } : { value: codes.join('\\'), issues: [] };
}

// A research name becomes the pool's PatientName (PN): ^ separates name components (at most five)
// and = separates alphabetic/ideographic/phonetic groups, which a pseudonym never needs.
function researchNameIssues(value: string): Issue[] {
  const issues = textIssues('ResearchName', value, {
    max: MAX_LENGTH.ResearchName,
    wildcards: 'refuse',
    why: 'a pseudonym is written as is',
  });
  if (value.includes('=')) issues.push('ResearchName must not contain "=".');
  if ((value.match(/\^/g) ?? []).length > 4) issues.push('ResearchName has more than five ^-separated name parts.');
  return issues;
}

/** Text as typed or read from a cell: blank means "not given". */
const optionalText = z
  .string()
  .nullish()
  .transform((v) => {
    const t = (v ?? '').trim();
    return t === '' ? undefined : t;
  });

const fieldInputs = {
  patientId: optionalText,
  accessionNumber: optionalText,
  modality: optionalText,
  studyDateFrom: optionalText,
  studyDateTo: optionalText,
  studyDescription: optionalText,
  researchId: optionalText,
  researchName: optionalText,
};

/** The normalized row: exactly what the query job needs. Dates are YYYYMMDD, modalities "CT\MR". */
export interface QueryRow {
  patientId: string;
  accessionNumber?: string;
  modality?: string;
  studyDateFrom?: string;
  studyDateTo?: string;
  studyDescription?: string;
  researchId?: string;
  researchName?: string;
}

/**
 * Form, API body and spreadsheet rows: strings (blank, null or missing = not given) in; a
 * normalized `QueryRow` out. All fields are checked in one pass so every problem of a row is
 * reported at once; each issue's `path` is the field it belongs to.
 */
export const queryRowSchema = z.object(fieldInputs).transform((input, ctx): QueryRow => {
  const fail = (field: QueryField, message: string) => ctx.issues.push({ code: 'custom', message, path: [field], input });
  const out: QueryRow = { patientId: '' };

  if (input.patientId === undefined) fail('patientId', 'PatientID is required.');
  else {
    const why = 'a wildcard would match many patients';
    textIssues('PatientID', input.patientId, { max: MAX_LENGTH.PatientID, wildcards: 'refuse', why }).forEach((m) => fail('patientId', m));
    out.patientId = input.patientId;
  }

  if (input.accessionNumber !== undefined) {
    textIssues('AccessionNumber', input.accessionNumber, { max: MAX_LENGTH.AccessionNumber, wildcards: 'refuse' }).forEach((m) =>
      fail('accessionNumber', m),
    );
    out.accessionNumber = input.accessionNumber;
  }

  if (input.modality !== undefined) {
    const modality = modalityResult(input.modality);
    modality.issues.forEach((m) => fail('modality', m));
    out.modality = modality.value;
  }

  for (const field of ['studyDateFrom', 'studyDateTo'] as const) {
    const text = input[field];
    if (text === undefined) continue;
    const date = parseStudyDate(text);
    if (date.ok) out[field] = date.value;
    else fail(field, dateIssue(FIELD_COLUMN[field], date.reason));
  }
  if (out.studyDateFrom && out.studyDateTo && out.studyDateFrom > out.studyDateTo) {
    fail('studyDateTo', 'StudyDateFrom is after StudyDateTo.');
  }

  // The description is matched as "contains" by the query job. * and ? are allowed: they are DICOM
  // wildcards inside one patient's studies, and radiology descriptions use "?" ("CT HEAD ?BLEED").
  if (input.studyDescription !== undefined) {
    textIssues('StudyDescription', input.studyDescription, { max: MAX_LENGTH.StudyDescription, wildcards: 'allow' }).forEach((m) =>
      fail('studyDescription', m),
    );
    out.studyDescription = input.studyDescription;
  }

  if (input.researchId !== undefined) {
    const why = 'it becomes the patient ID in the pool';
    textIssues('ResearchID', input.researchId, { max: MAX_LENGTH.ResearchID, wildcards: 'refuse', why }).forEach((m) =>
      fail('researchId', m),
    );
    out.researchId = input.researchId;
  }

  if (input.researchName !== undefined) {
    researchNameIssues(input.researchName).forEach((m) => fail('researchName', m));
    out.researchName = input.researchName;
  }

  // Optional keys that were not given stay absent, so rows compare and serialize predictably.
  for (const key of Object.keys(out) as (keyof QueryRow)[]) if (out[key] === undefined) delete out[key];
  return out;
});

/** What the form and the API accept (all strings, all optional at the type level). */
export type QueryRowInput = z.input<typeof queryRowSchema>;

export type QueryRowValidation =
  | { ok: true; row: QueryRow }
  | { ok: false; errors: string[]; fieldErrors: Partial<Record<QueryField, string[]>> };

/**
 * Validate one row and flatten zod's issues into messages (for a list) and per-field messages
 * (for a form, or `AppError('VALIDATION', message, fieldErrors)` in a route handler).
 */
export function validateQueryRow(input: unknown): QueryRowValidation {
  const parsed = queryRowSchema.safeParse(input);
  if (parsed.success) return { ok: true, row: parsed.data };
  const errors: string[] = [];
  const fieldErrors: Partial<Record<QueryField, string[]>> = {};
  for (const issue of parsed.error.issues) {
    const key = issue.path[0];
    const field = typeof key === 'string' && key in FIELD_COLUMN ? (key as QueryField) : undefined;
    // Non-custom issues are structural (a JSON client sent a number, or not an object at all).
    const message =
      issue.code === 'custom' ? issue.message : field ? `${FIELD_COLUMN[field]} must be text.` : 'A query row must be an object with a PatientID.';
    errors.push(message);
    if (field) (fieldErrors[field] ??= []).push(message);
  }
  return { ok: false, errors, fieldErrors };
}
