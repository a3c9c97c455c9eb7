/**
 * Header recognition. Coordinators rarely start from our template: they paste MRNs into the
 * spreadsheet the study already keeps, whose headers say "MRN" or "Patient ID". Headers are
 * compared after normalization (case, spaces, punctuation and accents ignored), against the
 * template name and a short list of aliases.
 */
import { QUERY_COLUMNS, type QueryColumn } from './schema';

/**
 * A header a sheet may carry: a template column, or "StudyDate", a convenience for sheets that
 * already have one date per row (it sets StudyDateFrom and StudyDateTo to that day).
 */
export type HeaderColumn = QueryColumn | 'StudyDate';

/**
 * Aliases per column, written as people write them; normalized when the table is built. Generic
 * words ("Date", "From", "Start Date") are left out on purpose: a study's spreadsheet often has a
 * consent or enrolment date, and reading it as a study date would silently narrow the query.
 * Unrecognized columns are reported as ignored, so a missing alias is visible, never silent.
 */
export const HEADER_ALIASES: Record<HeaderColumn, readonly string[]> = {
  PatientID: ['Patient ID', 'MRN', 'Patient MRN', 'MRN Number', 'Medical Record Number', 'Medical Record No', 'Patient Number', 'PID', 'Hospital Number'],
  AccessionNumber: ['Accession', 'Accession No', 'Accession #', 'Acc No', 'Acc #', 'ACC'],
  Modality: ['Modalities', 'Modalities in Study'],
  StudyDateFrom: ['Date From', 'From Date', 'Study Date Start'],
  StudyDateTo: ['Date To', 'To Date', 'Study Date End'],
  StudyDescription: ['Description', 'Study Desc', 'Exam Description', 'Procedure Description'],
  ResearchID: ['Research Patient ID', 'Subject ID', 'Study Subject ID', 'Pseudonym ID', 'Pseudo ID'],
  ResearchName: ['Research Patient Name', 'Subject Name', 'Pseudonym'],
  StudyDate: ['Exam Date', 'Date of Study'],
};

/** "Patient ID", "patient_id", "PATIENT-ID ", "PatientID (required)" → "patientid". */
export function normalizeHeader(text: string): string {
  return text
    // Only these annotations are dropped: "Hospital number (old)" must not read as an MRN column.
    .replace(/[([]\s*(?:required|optional|mandatory)\s*[)\]]/gi, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

const LOOKUP: ReadonlyMap<string, HeaderColumn> = (() => {
  const map = new Map<string, HeaderColumn>();
  const all = [...QUERY_COLUMNS, 'StudyDate'] as HeaderColumn[];
  for (const column of all) {
    for (const name of [column, ...HEADER_ALIASES[column]]) {
      const key = normalizeHeader(name);
      const existing = map.get(key);
      if (existing && existing !== column) throw new Error(`Header alias "${name}" is claimed by ${existing} and ${column}`);
      map.set(key, column);
    }
  }
  return map;
})();

export function matchHeader(text: string): HeaderColumn | undefined {
  const key = normalizeHeader(text);
  return key ? LOOKUP.get(key) : undefined;
}

/** 1 → "A", 27 → "AA": column letters as Excel shows them. */
export function columnLetter(index1: number): string {
  let n = index1;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}
