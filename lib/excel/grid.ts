/**
 * The common shape both readers produce: rows of typed cells, before any column has a meaning.
 * Keeping the cell's kind (number, date, formula without a result...) lets the row builder decide
 * per column: a number is fine as an accession number but suspicious as an MRN, and a date cell is
 * right in StudyDateFrom but means Excel mangled the value in PatientID.
 */
export type GridCell =
  | { kind: 'empty' }
  /** A cell covered by a merged range other than its top-left cell: read as empty, by decision. */
  | { kind: 'merged' }
  | { kind: 'text'; text: string }
  | { kind: 'number'; value: number }
  /** Calendar date of a date cell (time of day dropped), as YYYY-MM-DD. */
  | { kind: 'date'; iso: string }
  | { kind: 'boolean'; value: boolean }
  /** An Excel error value such as #N/A or #REF!, stored as the cell's value or a formula's result. */
  | { kind: 'error'; code: string }
  /** A formula the file carries without a cached result: never evaluated, so there is no value. */
  | { kind: 'formula-without-result'; formula: string };

export interface GridRow {
  /** The row number the coordinator sees: the spreadsheet row (1-based) or the CSV line record. */
  rowNumber: number;
  /** Column A is index 0. Missing entries are empty cells. */
  cells: GridCell[];
  hidden?: boolean;
}

export interface Grid {
  /** Sheet name for workbooks; undefined for CSV. */
  name?: string;
  /** Rows with at least one non-empty cell, in row order. */
  rows: GridRow[];
}

export const EMPTY_CELL: GridCell = { kind: 'empty' };

// Zero-width spaces, joiners and stray BOMs arrive with values pasted from web pages and EHR
// screens. They are invisible, never part of an identifier, and would make the PACS match nothing.
const INVISIBLE = /[\u200B-\u200D\u2060\uFEFF]/g;

/** Cell text as it should be matched: NFC (macOS and Windows agree on "é"), invisible characters removed, trimmed. */
export function cleanText(text: string): string {
  return text.normalize('NFC').replace(INVISIBLE, '').trim();
}

export function isBlank(cell: GridCell | undefined): boolean {
  return !cell || cell.kind === 'empty' || cell.kind === 'merged' || (cell.kind === 'text' && cell.text === '');
}

/** How a cell shows in the coordinator's view of a rejected row. */
export function displayText(cell: GridCell | undefined): string {
  if (!cell) return '';
  switch (cell.kind) {
    case 'empty':
    case 'merged':
      return '';
    case 'text':
      return cell.text;
    case 'number':
      return numberText(cell.value);
    case 'date':
      return cell.iso;
    case 'boolean':
      return cell.value ? 'TRUE' : 'FALSE';
    case 'error':
      return cell.code;
    case 'formula-without-result':
      return `=${cell.formula}`;
  }
}

/**
 * 12345 → "12345", never "12345.0" or "1.2345E+4". Integers print as all their digits (BigInt
 * avoids JavaScript's exponent form above 1e21); fractions keep JavaScript's shortest form.
 */
export function numberText(value: number): string {
  if (Number.isInteger(value)) return BigInt(value).toString();
  return String(value);
}
