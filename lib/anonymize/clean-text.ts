/**
 * The C ("clean") action on text: what Tributary removes from a descriptor it keeps.
 *
 * PS3.15 asks to "replace with values of similar meaning not containing identifying information".
 * Tributary cannot understand free text, so cleaning removes what can be recognised
 * (docs/deidentification.md, "Cleaning text"):
 * 1. every identifying value of this instance, found anywhere in it (sequences included): person
 *    names and their family / given / middle components, IDs (patient, other, accession, study,
 *    request, procedure step, admission, trial subject, device serials), institution, department,
 *    station and address values, telephone numbers;
 * 2. e-mail addresses;
 * 3. dates in common spellings (YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, DD/MM/YYYY, MM/DD/YYYY,
 *    DD.MM.YYYY, DD-MM-YYYY, D/M/YY, "15 Jan 2020", "January 15, 2020", "Jan 2020", "15th of
 *    January"), with a time written next to them;
 * 4. a title followed by a capitalised name ("Dr Smith", "Mrs. J. Jones", "DR. SMITH");
 * 5. telephone numbers (7 to 15 digits in groups: "555-0101", "(555) 123-4567", "+44 20 7946 0958",
 *    "020 7946 0958", "555.123.4567", "555 123 4567");
 * 6. any word holding a run of 6 or more digits (MRNs, accession numbers, compact dates).
 * Each removed run becomes one REMOVED_TOKEN (or nothing, where the VR cannot hold it).
 *
 * Pure string functions, no I/O, no values in errors.
 */

export const REMOVED_TOKEN = '[removed]';

/** Marks a removed span while the patterns run; replaced at the end. */
const MARK = '\u0001';

/** Attributes whose values identify someone or somewhere (besides every PN), by keyword. */
export const IDENTIFIER_KEYWORDS = {
  /** Whole values. */
  id: [
    'PatientID', 'IssuerOfPatientID', 'OtherPatientIDs', 'MedicalRecordLocator', 'AccessionNumber', 'StudyID',
    'AdmissionID', 'IssuerOfAdmissionID', 'ServiceEpisodeID', 'RequestedProcedureID',
    'PlacerOrderNumberImagingServiceRequest', 'FillerOrderNumberImagingServiceRequest', 'ScheduledProcedureStepID',
    'PerformedProcedureStepID', 'ClinicalTrialSubjectID', 'ClinicalTrialSubjectReadingID', 'LocalNamespaceEntityID',
    'DeviceSerialNumber', 'DeviceID', 'DetectorID', 'GantryID', 'GeneratorID', 'PlateID', 'CassetteID', 'XRayDetectorID',
    'StationName', 'StationAETitle', 'ScheduledStationName', 'ScheduledStationAETitle', 'PerformedStationName',
    'PerformedStationAETitle', 'PatientTelephoneNumbers', 'ReferringPhysicianTelephoneNumbers', 'PersonTelephoneNumbers',
  ],
  /** Whole values, and their lines / comma-separated parts (addresses). */
  place: [
    'InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName', 'PatientAddress', 'ReferringPhysicianAddress',
    'PersonAddress', 'RegionOfResidence', 'CurrentPatientLocation', 'PatientInstitutionResidence',
    'ScheduledProcedureStepLocation', 'PerformedLocation', 'ResponsibleOrganization', 'VerifyingOrganization',
    'ClinicalTrialSiteName',
  ],
} as const;

/** Name prefixes and suffixes: never used as tokens (they would cut "MR BRAIN" or "DR CHEST"). */
const HONORIFICS = new Set([
  'DR', 'DRS', 'MR', 'MRS', 'MS', 'MISS', 'MX', 'PROF', 'SIR', 'DAME', 'REV', 'JR', 'SR', 'II', 'III', 'IV', 'MD', 'PHD',
  'DO', 'RN', 'RT', 'BSC', 'MSC', 'MBBS', 'FRCR', 'FRCP', 'DPHIL',
]);

export type IdentifierKind = 'name' | 'id' | 'place';

/** The tokens one identifying value contributes (see the module comment). */
export function identifierTokens(kind: IdentifierKind, raw: string): string[] {
  const out: string[] = [];
  for (const v of raw.split('\\')) {
    const whole = v.trim();
    if (!whole) continue;
    if (kind === 'id') {
      if (whole.length >= 3) out.push(whole);
      continue;
    }
    if (kind === 'place') {
      if (whole.length >= 3) out.push(whole);
      for (const part of whole.split(/[\r\n,;^]+/)) if (part.trim().length >= 4) out.push(part.trim());
      continue;
    }
    // Person name: Family^Given^Middle^Prefix^Suffix, up to three "="-separated representations.
    for (const group of whole.split('=')) {
      const comps = group.split('^').slice(0, 3).map((c) => c.trim()).filter(Boolean);
      if (!comps.length) continue;
      if (comps.length > 1) out.push(comps.join(' '), [...comps.slice(1), comps[0]].join(' '));
      for (const c of comps) {
        for (const word of [c, ...c.split(/[\s\-.,']+/)]) {
          const w = word.trim();
          if (w.length >= 2 && !HONORIFICS.has(w.toUpperCase().replace(/\./g, ''))) out.push(w);
        }
      }
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Letters and digits of Latin-1 text (values are decoded as Latin-1 bytes). */
const WORD = 'A-Za-z0-9\\u00C0-\\u00FF';

/**
 * Short clinical words that are never used as tokens, even when a value of this instance is exactly
 * one of them (a station called "MRI", a name component "Pet"): cutting them would gut descriptors.
 */
const CLINICAL_WORDS = new Set([
  'AX', 'AXIAL', 'COR', 'SAG', 'CT', 'CTA', 'MR', 'MRI', 'MRA', 'MRS', 'PET', 'SPECT', 'US', 'XR', 'DX', 'CR', 'NM', 'PT',
  'MG', 'RF', 'XA', 'SC', 'OT', 'SR', 'SEG', 'ECG', 'EKG', 'ECHO', 'SCAN', 'DEXA', 'DXA', 'OCT', 'T1', 'T2', 'PD', 'DWI',
  'ADC', 'HEAD', 'NECK', 'CHEST', 'SPINE', 'KNEE', 'HIP', 'HAND', 'FOOT', 'LEG', 'ARM', 'BRAIN', 'HEART', 'LUNG', 'LIVER',
]);

/** One case-insensitive pattern for a set of tokens, longest first, on word boundaries. */
export function compileIdentifiers(tokens: Iterable<string>): RegExp | null {
  const unique = [...new Set([...tokens].map((t) => t.trim()).filter((t) => t.length >= 2 && !CLINICAL_WORDS.has(t.toUpperCase())))];
  if (!unique.length) return null;
  unique.sort((a, b) => b.length - a.length);
  return new RegExp(`(?<![${WORD}])(?:${unique.map(escapeRegExp).join('|')})(?![${WORD}])`, 'gi');
}

const MONTH =
  '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';
/** Months where a bare "<day> <month>" is read as a date: not "may" (a word) nor "oct" (the modality). */
const MONTH_WITHOUT_YEAR =
  '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|october|nov(?:ember)?|dec(?:ember)?)';
const YEAR4 = '(?:19|20)\\d{2}';
const DAY = '(?:0?[1-9]|[12]\\d|3[01])(?:st|nd|rd|th)?';
/** A time written next to a date: "10:30", "10:30:15", "10.30 pm", "T10:30:00Z", "at 9:05". */
const TIME = '(?:,?\\s*(?:at\\s+)?|T)\\d{1,2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:\\s?[ap]\\.?m\\.?|Z|[+-]\\d{2}:?\\d{2})?';
const TIME_BEFORE = '(?:\\d{1,2}:\\d{2}(?::\\d{2})?(?:\\s?[ap]\\.?m\\.?)?,?\\s+)?';
const B = `(?<![${WORD}])`;
const E = `(?![${WORD}])`;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
const DATE_PATTERNS: RegExp[] = [
  // 2020-01-15, 2020/1/15, 2020.01.15 (+ time)
  new RegExp(`${B}${TIME_BEFORE}${YEAR4}([-/.])(?:0?[1-9]|1[0-2])\\1(?:0?[1-9]|[12]\\d|3[01])(?:${TIME})?(?![${WORD}]|[.:/-]\\d)`, 'gi'),
  // 15/01/2020, 01/15/2020, 15.01.2020, 15-01-2020, 15/1/20 (+ time); two-digit years only with "/"
  new RegExp(`${B}${TIME_BEFORE}(?:\\d{1,2}([/.-])\\d{1,2}\\1${YEAR4}|\\d{1,2}/\\d{1,2}/\\d{2})(?:${TIME})?(?![${WORD}]|[.:/-]\\d)`, 'gi'),
  // 15 Jan 2020, 15-JAN-2020, 15th of January 2020, 15 Jan 20 (+ time)
  new RegExp(`${B}${TIME_BEFORE}${DAY}[\\s./-]*(?:of\\s+)?${MONTH}\\.?[\\s./,-]*(?:${YEAR4}|\\d{2})(?:${TIME})?${E}`, 'gi'),
  // January 15, 2020, Jan 15 2020 (+ time)
  new RegExp(`${B}${TIME_BEFORE}${MONTH}\\.?\\s+${DAY},?\\s+${YEAR4}(?:${TIME})?${E}`, 'gi'),
  // January 2020, Jan-2020
  new RegExp(`${B}${MONTH}\\.?[\\s,-]+${YEAR4}${E}`, 'gi'),
  // 15 January, 15th Jan, January 15th; "may" and "oct" only with an ordinal ("5th May", "Oct 3rd")
  new RegExp(`${B}${DAY}\\s+(?:of\\s+)?${MONTH_WITHOUT_YEAR}\\.?${E}`, 'gi'),
  new RegExp(`${B}${MONTH_WITHOUT_YEAR}\\.?\\s+${DAY}${E}`, 'gi'),
  new RegExp(`${B}\\d{1,2}(?:st|nd|rd|th)\\s+(?:of\\s+)?(?:may|oct)\\.?${E}`, 'gi'),
  new RegExp(`${B}(?:may|oct)\\.?\\s+\\d{1,2}(?:st|nd|rd|th)${E}`, 'gi'),
];
/** A title and a capitalised name: "Dr Smith", "Mrs. J. Jones", "Dr Anne Smith", "DR. SMITH". */
const TITLED_NAMES: RegExp[] = [
  /(?<![A-Za-z])(?:Dr|Drs|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Doctor|Sir|Dame|Nurse)\.?\s+(?:[A-Z]\.\s*)*[A-Z][a-z\u00E0-\u00FF'-]+(?:\s+[A-Z][a-z\u00E0-\u00FF'-]+)?/g,
  /(?<![A-Za-z])(?:DR|MR|MRS|MS|PROF)\.\s*(?:[A-Z]\.\s*)*[A-Z][A-Za-z'-]+/g,
];
/** Candidate telephone numbers; accepted by isPhone. */
const PHONE = /(?<![\w./])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,4}(?![\w/]|[.,]\d)/g;
const DIGIT_RUN = new RegExp(`[${WORD}]*\\d{6,}[${WORD}]*`, 'g');

function isPhone(s: string): boolean {
  const digits = s.replace(/\D/g, '').length;
  if (digits < 7 || digits > 15) return false;
  if (/^\+|\(/.test(s)) return true;
  if (s.includes('-')) return true;
  if (/^\d+(?:\.\d+){2,}$/.test(s)) return true; // 555.123.4567 (not 12.3456)
  // Space-separated: trunk prefix 0 or the 3-3-4 shape; not "120 150 180" nor "500 1000".
  if (/^\d+(?: \d+)+$/.test(s)) return s.startsWith('0') || /^\d{3} \d{3} \d{4}$/.test(s);
  return false;
}

/**
 * Cleans one text value (one value of a multi-valued element). `identifiers` is this instance's
 * compileIdentifiers pattern; `token` replaces each removed run ('' drops it).
 */
export function cleanText(text: string, identifiers: RegExp | null, token: string = REMOVED_TOKEN): string {
  if (!text) return text;
  let s = text.replace(/\u0001/g, '');
  s = s.replace(EMAIL, MARK);
  for (const re of DATE_PATTERNS) s = s.replace(re, MARK);
  for (const re of TITLED_NAMES) s = s.replace(re, MARK);
  if (identifiers) s = s.replace(identifiers, MARK);
  s = s.replace(PHONE, (m) => (isPhone(m) ? MARK : m));
  s = s.replace(DIGIT_RUN, MARK);
  if (!s.includes(MARK)) return text;
  s = s.replace(/\(\s*\u0001\s*\)/g, MARK);
  // Neighbouring removals (a name, then a date; "John Q. Doe") become one token.
  s = s.replace(/\u0001(?:(?:[\s,;:/()\-.]|(?<![A-Za-z])[A-Za-z](?![A-Za-z]))*\u0001)+/g, MARK);
  s = token ? s.replace(/\u0001/g, token) : s.replace(/\u0001/g, ' ');
  return s.replace(/[ \t]{2,}/g, ' ').replace(/^[\s,;:]+|[\s,;:]+$/g, '').replace(/ ([,.;:])/g, '$1');
}
