/**
 * Parse an uploaded query spreadsheet (.xlsx or .csv) into validated query rows.
 *
 * Whole-file problems (too big, not a spreadsheet, no PatientID column...) throw an AppError with a
 * message for the coordinator. Row problems never throw: each bad row is returned with its
 * spreadsheet row number and reasons, and the good rows go on (DESIGN: "a bad spreadsheet row is
 * reported and the rest go on"). Nothing here logs, and no message quotes a cell value.
 */
import path from 'node:path';
import { AppError } from '@/lib/errors';
import { columnLetter, matchHeader, type HeaderColumn } from './columns';
import { displayText, EMPTY_CELL, isBlank, numberText, type Grid, type GridCell, type GridRow } from './grid';
import { formatBytes, HEADER_SEARCH_ROWS, resolveLimits, tooManyRowsError, type SpreadsheetLimits } from './limits';
import { readCsvGrid } from './read-csv';
import { readWorkbookGrids } from './read-workbook';
import { COLUMN_FIELD, QUERY_COLUMNS, queryRowSchema, type QueryField, type QueryRow } from './schema';
import { notAWorkbook } from './zip';

export interface SpreadsheetUpload {
  buffer: Buffer;
  fileName: string;
  /** The browser's Content-Type; consulted only when the file name has no telling extension. */
  contentType?: string;
}

export interface ValidRow extends QueryRow {
  /** Spreadsheet row number (header = 1 in the template). */
  rowNumber: number;
  /** Later rows with exactly the same criteria, merged into this one instead of querying twice. */
  mergedRowNumbers: number[];
}

export interface InvalidRow {
  rowNumber: number;
  errors: string[];
  /** The row's cells as text, keyed by template column name (only columns the sheet has). */
  raw: Record<string, string>;
}

export interface ParsedSpreadsheet {
  rows: ValidRow[];
  invalid: InvalidRow[];
  warnings: string[];
  duplicatesMerged: number;
}

export async function parseQuerySpreadsheet(
  input: SpreadsheetUpload,
  limits?: Partial<SpreadsheetLimits>,
): Promise<ParsedSpreadsheet> {
  const lim = resolveLimits(limits);
  const { buffer } = input;
  if (buffer.length === 0) throw new AppError('VALIDATION', 'The file is empty.');
  if (buffer.length > lim.maxFileBytes) {
    throw new AppError(
      'PAYLOAD_TOO_LARGE',
      `The file is larger than the limit of ${formatBytes(lim.maxFileBytes)}. Split the rows into smaller files.`,
    );
  }

  const warnings: string[] = [];
  let sheet: { grid: Grid; header: HeaderRow };
  if (detectFormat(input) === 'xlsx') {
    sheet = pickSheet(await readWorkbookGrids(buffer, lim), warnings);
  } else {
    const csv = readCsvGrid(buffer, lim);
    warnings.push(...csv.warnings);
    const header = findHeader(csv.grid);
    if (!header) throw csv.grid.rows.length === 0 ? emptySpreadsheet() : noPatientIdColumn();
    sheet = { grid: csv.grid, header };
  }
  return buildRows(sheet.grid, sheet.header, lim, warnings);
}

// ---------------------------------------------------------------------------------------------
// Format detection: by content first (a zip is a workbook whatever it is called), then by name.

const ZIP_MAGIC = [Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('PK\x05\x06', 'latin1')];
// OLE2 compound file: Excel 97-2003 .xls, and also any password-protected .xlsx (Excel wraps
// encrypted workbooks in OLE2).
const OLE2_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const WORKBOOK_EXTENSIONS = new Set(['.xlsx', '.xlsm', '.xltx', '.xltm']);
const CSV_EXTENSIONS = new Set(['.csv', '.txt', '.tsv']);
const CSV_CONTENT_TYPE = /^(text\/(csv|plain|tab-separated-values)|application\/csv)\b/i;

function detectFormat({ buffer, fileName, contentType }: SpreadsheetUpload): 'xlsx' | 'csv' {
  const ext = path.extname(fileName).toLowerCase();
  if (ZIP_MAGIC.some((m) => buffer.subarray(0, 4).equals(m))) return 'xlsx';
  if (buffer.subarray(0, 8).equals(OLE2_MAGIC)) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      WORKBOOK_EXTENSIONS.has(ext)
        ? 'This workbook is password-protected (or it is an old .xls file renamed), so it cannot be read. In Excel, remove the password and use File → Save As → Excel Workbook (.xlsx), or CSV; then upload that file.'
        : 'Old Excel 97–2003 workbooks (.xls) cannot be read. In Excel, use File → Save As → Excel Workbook (.xlsx), or CSV; then upload that file.',
    );
  }
  if (ext === '.xls') {
    // Some systems export HTML or XML tables named .xls; they are not workbooks either.
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Files named .xls cannot be read. In Excel, use File → Save As → Excel Workbook (.xlsx), or CSV; then upload that file.',
    );
  }
  if (WORKBOOK_EXTENSIONS.has(ext)) throw notAWorkbook();
  if (CSV_EXTENSIONS.has(ext)) return 'csv';
  if (!ext && contentType && CSV_CONTENT_TYPE.test(contentType)) return 'csv';
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Upload an Excel workbook (.xlsx) or a CSV file (.csv).');
}

// ---------------------------------------------------------------------------------------------
// Header row and sheet choice.

interface HeaderRow {
  rowNumber: number;
  /** Column index (A = 0) → the template column it holds. */
  columns: Map<number, HeaderColumn>;
  /** Non-empty headers that match no template column, as written. */
  extras: string[];
}

function emptySpreadsheet(): AppError {
  return new AppError('VALIDATION', 'The spreadsheet is empty. Fill in the template: a header row, then one PatientID per row.');
}

function noPatientIdColumn(): AppError {
  return new AppError(
    'VALIDATION',
    `No PatientID column was found. One of the first ${HEADER_SEARCH_ROWS} rows must be a header row naming the columns as in the template; PatientID is required (headers "MRN" and "Patient ID" are accepted too).`,
  );
}

/** The first row (within the header window) with a PatientID header. */
function findHeader(grid: Grid): HeaderRow | undefined {
  for (const row of grid.rows) {
    if (row.rowNumber > HEADER_SEARCH_ROWS) break;
    const matched = row.cells.map((cell) => matchHeader(displayText(cell)));
    if (!matched.includes('PatientID')) continue;

    const columns = new Map<number, HeaderColumn>();
    const seen = new Map<HeaderColumn, number>();
    const extras: string[] = [];
    matched.forEach((column, index) => {
      if (!column) {
        const text = displayText(row.cells[index]);
        if (text) extras.push(text.length > 40 ? `${text.slice(0, 40)}…` : text);
        return;
      }
      const first = seen.get(column);
      if (first !== undefined) {
        throw new AppError(
          'VALIDATION',
          `Columns ${columnLetter(first + 1)} and ${columnLetter(index + 1)} are both read as ${column}. Keep one of them, or rename the other.`,
        );
      }
      seen.set(column, index);
      columns.set(index, column);
    });
    return { rowNumber: row.rowNumber, columns, extras };
  }
  return undefined;
}

const INSTRUCTIONS_SHEET = /^\s*instructions\s*$/i;

/**
 * The query sheet is the first worksheet, in workbook order, with a PatientID header; the
 * template's "Instructions" sheet is never a candidate (it names PatientID in its own table).
 */
function pickSheet(grids: Grid[], warnings: string[]): { grid: Grid; header: HeaderRow } {
  const candidates = grids.filter((g) => !INSTRUCTIONS_SHEET.test(g.name ?? ''));
  for (const grid of candidates) {
    const header = findHeader(grid);
    if (!header) continue;
    const ignored = candidates.filter((g) => g !== grid && g.rows.length > 0).map((g) => `"${g.name}"`);
    if (ignored.length) {
      warnings.push(`Only the sheet "${grid.name}" was read. Other sheets with data were ignored: ${ignored.join(', ')}.`);
    }
    return { grid, header };
  }
  throw candidates.every((g) => g.rows.length === 0) ? emptySpreadsheet() : noPatientIdColumn();
}

// ---------------------------------------------------------------------------------------------
// Cells → field text, per column.

const DATE_COLUMNS = new Set<HeaderColumn>(['StudyDateFrom', 'StudyDateTo', 'StudyDate']);
const IDENTIFIER_COLUMNS = new Set<HeaderColumn>(['PatientID', 'AccessionNumber', 'ResearchID']);
// "1.23457E+11": how Excel shows a long number, and what it writes into a CSV saved from it.
// The digits past the sixth are gone for good; the value must be re-entered, not guessed.
const SCIENTIFIC = /^\d(?:[.,]\d+)?E\+\d{1,3}$/i;
// Excel keeps 15 significant digits: a longer integer in a cell has already been rounded.
const EXACT_DIGITS = 1e15;
const EXCEL_ERROR = /^#[A-Z0-9/!?]{1,12}$/;

type FieldText = { text: string } | { error: string };

function fieldText(cell: GridCell, column: HeaderColumn): FieldText {
  switch (cell.kind) {
    case 'empty':
    case 'merged':
      return { text: '' };
    case 'text':
      if (IDENTIFIER_COLUMNS.has(column) && SCIENTIFIC.test(cell.text)) {
        return {
          error: `${column} looks like a number Excel rounded into scientific notation (such as 1.23E+11); the original digits are lost. Format the column as Text and type the values again.`,
        };
      }
      return { text: cell.text };
    case 'number':
      if (DATE_COLUMNS.has(column)) {
        // A YYYYMMDD typed into a General cell arrives as a number; anything else is not a date.
        if (Number.isInteger(cell.value) && cell.value >= 10000101 && cell.value <= 99991231) return { text: String(cell.value) };
        return { error: `${column} holds a number, not a date. Enter the date as YYYY-MM-DD or format the cell as a date.` };
      }
      if (IDENTIFIER_COLUMNS.has(column) && Number.isInteger(cell.value) && Math.abs(cell.value) >= EXACT_DIGITS) {
        return {
          error: `${column} is a number with more than 15 digits, which Excel has already rounded. Format the column as Text and type the value again.`,
        };
      }
      return { text: numberText(cell.value) };
    case 'date':
      if (DATE_COLUMNS.has(column)) return { text: cell.iso };
      return {
        error: `${column} holds a date: Excel may have turned the value into one (3-12 becomes 12 March). Format the column as Text and type the value again.`,
      };
    case 'boolean':
      return { error: `${column} holds TRUE or FALSE, not a value.` };
    case 'error':
      return { error: `${column} holds the Excel error ${EXCEL_ERROR.test(cell.code) ? cell.code : 'value'}; fix the cell or its formula.` };
    case 'formula-without-result':
      return {
        error: `${column} is a formula without a saved result. Open and save the file in Excel (which stores the results), or paste values instead of formulas.`,
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Rows.

const FIELD_ORDER = new Map<string, number>(QUERY_COLUMNS.map((c, i) => [COLUMN_FIELD[c], i]));

interface RowOutcome {
  rowNumber: number;
  raw: Record<string, string>;
  row?: QueryRow;
  errors: string[];
}

/**
 * Rows that come from a table rather than a file (a database cohort source, lib/cohorts): the
 * same cell checks, identity-conflict checks and duplicate merging as an upload. Row numbers are
 * the source's own (1-based); `mergeKey` adds a criterion the template has no column for (a
 * StudyInstanceUID), so rows that differ only there are not merged.
 */
export function parseQueryTable(
  columns: HeaderColumn[],
  rows: { rowNumber: number; cells: GridCell[] }[],
  opts: { maxRows?: number; mergeKey?: (rowNumber: number) => string | undefined } = {},
): ParsedSpreadsheet {
  const header: HeaderRow = { rowNumber: 0, columns: new Map(columns.map((c, i) => [i, c])), extras: [] };
  const grid: Grid = { rows: [{ rowNumber: 0, cells: columns.map((c) => ({ kind: 'text', text: c })) }, ...rows] };
  return buildRows(grid, header, resolveLimits(opts.maxRows ? { maxRows: opts.maxRows } : undefined), [], opts.mergeKey);
}

function buildRows(grid: Grid, header: HeaderRow, limits: SpreadsheetLimits, warnings: string[], mergeKey?: (rowNumber: number) => string | undefined): ParsedSpreadsheet {
  const mapped = [...header.columns.entries()];
  const dataRows = grid.rows.filter((r) => r.rowNumber > header.rowNumber);

  if (header.rowNumber > 1 && grid.rows.some((r) => r.rowNumber < header.rowNumber)) {
    warnings.push(`The header row is row ${header.rowNumber}; the rows above it were ignored.`);
  }
  if (header.extras.length) {
    warnings.push(`Columns that are not part of the template were ignored: ${header.extras.map((e) => `"${e}"`).join(', ')}.`);
  }
  // A value under a blank header cell is ignored too; say so, or the coordinator would not know.
  const headerCells = grid.rows.find((r) => r.rowNumber === header.rowNumber)?.cells ?? [];
  const headerless = new Set<number>();
  for (const row of dataRows) {
    row.cells.forEach((cell, index) => {
      if (!isBlank(cell) && isBlank(headerCells[index])) headerless.add(index);
    });
  }
  if (headerless.size) {
    const letters = [...headerless].sort((a, b) => a - b).map((i) => columnLetter(i + 1));
    warnings.push(`Column${letters.length > 1 ? 's' : ''} ${letters.join(', ')} ha${letters.length > 1 ? 've' : 's'} values but no header and ${letters.length > 1 ? 'were' : 'was'} ignored.`);
  }

  const outcomes: RowOutcome[] = [];
  const numericPatientIds: number[] = [];
  const hiddenRows: number[] = [];
  const mergedRows: number[] = [];
  for (const row of dataRows) {
    const cells = mapped.map(([index, column]) => [column, row.cells[index] ?? EMPTY_CELL] as const);
    if (cells.every(([, cell]) => isBlank(cell))) continue;
    if (outcomes.length >= limits.maxRows) throw tooManyRowsError(limits);
    if (row.hidden) hiddenRows.push(row.rowNumber);
    if (cells.some(([, cell]) => cell.kind === 'merged')) mergedRows.push(row.rowNumber);
    if (cells.some(([column, cell]) => column === 'PatientID' && cell.kind === 'number')) numericPatientIds.push(row.rowNumber);
    outcomes.push(validateRow(row, cells));
  }
  if (outcomes.length === 0) {
    throw new AppError('VALIDATION', 'The spreadsheet has a header row but no rows below it. Add one PatientID per row.');
  }

  if (numericPatientIds.length) {
    warnings.push(
      `PatientID was stored as a number in ${formatRows(numericPatientIds)}: any leading zeros were lost. Check those MRNs, or format the PatientID column as Text and type them again.`,
    );
  }
  if (hiddenRows.length) {
    warnings.push(`${capitalize(formatRows(hiddenRows))} ${hiddenRows.length > 1 ? 'are' : 'is'} hidden in Excel (or filtered out) and ${hiddenRows.length > 1 ? 'were' : 'was'} read like any other row.`);
  }
  if (mergedRows.length) {
    warnings.push(
      `${capitalize(formatRows(mergedRows))} contain${mergedRows.length > 1 ? '' : 's'} merged cells: only the top-left cell of a merged range keeps its value, the others were read as empty. Unmerge the cells and fill in every row that needs the value.`,
    );
  }

  markIdentityConflicts(outcomes);
  return mergeDuplicates(outcomes, warnings, mergeKey);
}

function validateRow(row: GridRow, cells: (readonly [HeaderColumn, GridCell])[]): RowOutcome {
  const raw: Record<string, string> = {};
  const input: Partial<Record<QueryField, string>> = {};
  const problems: { field: QueryField; message: string }[] = [];
  const fieldsWithCellErrors = new Set<QueryField>();
  let studyDate: string | undefined;

  for (const [column, cell] of cells) {
    raw[column] = displayText(cell);
    const result = fieldText(cell, column);
    const field: QueryField = column === 'StudyDate' ? 'studyDateFrom' : COLUMN_FIELD[column];
    if ('error' in result) {
      problems.push({ field, message: result.error });
      fieldsWithCellErrors.add(field);
      if (column === 'StudyDate') fieldsWithCellErrors.add('studyDateTo');
    } else if (column === 'StudyDate') {
      studyDate = result.text || undefined;
    } else {
      input[field] = result.text;
    }
    if (column === 'PatientID' && cell.kind === 'merged') {
      problems.push({
        field,
        message: 'PatientID is empty because the cell is part of a merged range, where only the top-left cell holds the value. Unmerge the cells and fill in every row.',
      });
      fieldsWithCellErrors.add(field);
    }
  }

  // "StudyDate" means that one day; it cannot be combined with an explicit range in the same row.
  if (studyDate !== undefined) {
    if (input.studyDateFrom || input.studyDateTo) {
      problems.push({ field: 'studyDateFrom', message: 'Use either StudyDate or StudyDateFrom/StudyDateTo in a row, not both.' });
      fieldsWithCellErrors.add('studyDateFrom').add('studyDateTo');
    } else {
      input.studyDateFrom = studyDate;
      input.studyDateTo = studyDate;
    }
  }

  const parsed = queryRowSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path[0] as QueryField;
      if (fieldsWithCellErrors.has(field)) continue;
      const message = studyDate !== undefined ? issue.message.replace(/^StudyDate(From|To)\b/, 'StudyDate') : issue.message;
      problems.push({ field, message });
    }
  }
  problems.sort((a, b) => (FIELD_ORDER.get(a.field) ?? 99) - (FIELD_ORDER.get(b.field) ?? 99));
  const errors = [...new Set(problems.map((p) => p.message))];
  return { rowNumber: row.rowNumber, raw, row: errors.length === 0 && parsed.success ? parsed.data : undefined, errors };
}

/**
 * One patient must have one research identity, and one research ID must belong to one patient:
 * otherwise the pool would either split a patient in two or merge two patients into one. Which row
 * is right cannot be known, so every row involved is refused.
 */
function markIdentityConflicts(outcomes: RowOutcome[]): void {
  const valid = outcomes.filter((o) => o.row);
  const flag = (rows: RowOutcome[], message: string) => {
    for (const o of rows) {
      o.errors.push(message);
      o.row = undefined;
    }
  };
  const groups = <K>(key: (r: QueryRow) => K | undefined) => {
    const map = new Map<K, RowOutcome[]>();
    for (const o of valid) {
      const k = key(o.row!);
      if (k !== undefined) map.set(k, [...(map.get(k) ?? []), o]);
    }
    return [...map.values()];
  };
  const distinct = (rows: RowOutcome[], pick: (r: QueryRow) => string | undefined) =>
    new Set(rows.map((o) => pick(o.row!)).filter((v) => v !== undefined)).size;

  const byPatient = groups((r) => r.patientId);
  const byResearchId = groups((r) => r.researchId);
  const conflicts: [RowOutcome[], string][] = [];
  const numbers = (rows: RowOutcome[]) => formatRows(rows.map((o) => o.rowNumber));
  for (const rows of byPatient) {
    if (distinct(rows, (r) => r.researchId) > 1) {
      const involved = rows.filter((o) => o.row!.researchId !== undefined);
      conflicts.push([involved, `The same PatientID has different ResearchIDs in ${numbers(involved)}.`]);
    }
    if (distinct(rows, (r) => r.researchName) > 1) {
      const involved = rows.filter((o) => o.row!.researchName !== undefined);
      conflicts.push([involved, `The same PatientID has different ResearchNames in ${numbers(involved)}.`]);
    }
  }
  for (const rows of byResearchId) {
    if (distinct(rows, (r) => r.patientId) > 1) {
      conflicts.push([rows, `The same ResearchID is given to different PatientIDs in ${numbers(rows)}.`]);
    }
  }
  // Flag after all groups are computed, so one conflict does not hide another.
  for (const [rows, message] of conflicts) flag(rows, message);
}

const ROW_KEY_FIELDS = QUERY_COLUMNS.map((c) => COLUMN_FIELD[c]);

function mergeDuplicates(outcomes: RowOutcome[], warnings: string[], mergeKey?: (rowNumber: number) => string | undefined): ParsedSpreadsheet {
  const rows: ValidRow[] = [];
  const byKey = new Map<string, ValidRow>();
  const invalid: InvalidRow[] = [];
  let duplicatesMerged = 0;
  for (const o of outcomes) {
    if (!o.row) {
      invalid.push({ rowNumber: o.rowNumber, errors: o.errors, raw: o.raw });
      continue;
    }
    // Criteria after normalization: "ct,mr" and "CT\MR", or 2024-01-05 and 20240105, are one query.
    const key = JSON.stringify([...ROW_KEY_FIELDS.map((f) => o.row![f] ?? null), mergeKey?.(o.rowNumber) ?? null]);
    const first = byKey.get(key);
    if (first) {
      first.mergedRowNumbers.push(o.rowNumber);
      duplicatesMerged++;
      continue;
    }
    const row: ValidRow = { ...o.row, rowNumber: o.rowNumber, mergedRowNumbers: [] };
    byKey.set(key, row);
    rows.push(row);
  }
  return { rows, invalid, warnings, duplicatesMerged };
}

// ---------------------------------------------------------------------------------------------

/** [3,4,5,9] → "rows 3–5 and 9"; [4,5] → "rows 4 and 5"; long lists are cut after ten items. */
export function formatRows(numbers: number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    // Three or more consecutive rows read better as a range; two as "4 and 5".
    if (j - i >= 2) {
      ranges.push(`${sorted[i]}–${sorted[j]}`);
      i = j;
    } else ranges.push(`${sorted[i]}`);
  }
  const word = sorted.length === 1 ? 'row' : 'rows';
  if (ranges.length > 10) {
    const shown = ranges.slice(0, 10);
    const last = Number(shown[9].split('–').pop());
    return `${word} ${shown.join(', ')} and ${sorted.filter((n) => n > last).length} more`;
  }
  if (ranges.length === 1) return `${word} ${ranges[0]}`;
  return `${word} ${ranges.slice(0, -1).join(', ')} and ${ranges[ranges.length - 1]}`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
