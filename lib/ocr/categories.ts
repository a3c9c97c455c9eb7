/**
 * What kind of text OCR read, without keeping the text: the category is stored, the text is
 * dropped as soon as it is classified (it is PHI). Plain data and pure functions: safe in browser code.
 *
 * - date: a date or time (12/03/2021, 2021-03-12, 12.03.21, 20210312, 12-MAR-2021, MAR, 10:32:05)
 * - id: mostly digits, four or more of them (MRN, accession, phone, ID-like codes: 00123456, MRN:884213)
 * - name: name-like (a DICOM PN with ^, "LAST,FIRST", or a capitalised word of letters only)
 * - word: any other word of letters
 * - other: anything else (symbols, short mixed tokens, measurements)
 */
export const OCR_CATEGORIES = ['date', 'id', 'name', 'word', 'other'] as const;
export type OcrCategory = (typeof OCR_CATEGORIES)[number];

export const OCR_CATEGORY_TEXT: Record<OcrCategory, string> = {
  date: 'date or time',
  id: 'digits / ID-like',
  name: 'name-like',
  word: 'word',
  other: 'other text',
};

const MONTHS = /^(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)[A-Z]*\.?$/;

export function categorize(raw: string): OcrCategory {
  const t = raw.trim().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  if (!t) return 'other';
  const up = t.toUpperCase();
  if (/^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$/.test(t)) return 'date';
  if (/^\d{1,2}[./-\s]?[A-Z]{3}[./-\s]?\d{2,4}$/i.test(t)) return 'date';
  if (/^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.test(t)) return 'date';
  if (/^\d{1,2}:\d{2}(:\d{2})?$/.test(t)) return 'date';
  if (MONTHS.test(up)) return 'date';
  const digits = (t.match(/\d/g) ?? []).length;
  if (digits >= 4 && digits / t.length >= 0.5) return 'id';
  if (/^\p{L}+(\^\p{L}*)+$/u.test(t) || /^\p{L}{2,},\p{L}{2,}$/u.test(t)) return 'name';
  if (/^\p{Lu}[\p{L}'-]+$/u.test(t)) return 'name';
  if (/^\p{L}{2,}$/u.test(t)) return 'word';
  return 'other';
}
