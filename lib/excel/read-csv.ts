/**
 * .csv → one grid. Every field stays a string (csv-parse with cast off): the CSV never gets the
 * chance to turn "0012345" into 12345 the way exceljs's own CSV reader would.
 *
 * Encoding: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode Text"), and, when the
 * bytes are not valid UTF-8, Windows-1252: what Excel on a Western-European Windows writes for
 * "CSV (Comma delimited)". That fallback is reported as a warning so names can be checked.
 *
 * Delimiter: comma, semicolon (Excel in locales with a decimal comma) or tab, chosen from the
 * first line that has any of them, counting only characters outside quotes.
 */
import { parse } from 'csv-parse/sync';
import { AppError } from '@/lib/errors';
import { cleanText, isBlank, type Grid, type GridCell } from './grid';
import { HEADER_SEARCH_ROWS, tooManyRowsError, type SpreadsheetLimits } from './limits';

export interface CsvRead {
  grid: Grid;
  warnings: string[];
}

export function readCsvGrid(buffer: Buffer, limits: SpreadsheetLimits): CsvRead {
  const warnings: string[] = [];
  const text = decode(buffer, warnings);
  const delimiter = detectDelimiter(text);
  // Each CSV record is one spreadsheet row when the file is opened in Excel, blank lines included,
  // so the record's position is the row number the coordinator will look for.
  const cap = limits.maxRows + HEADER_SEARCH_ROWS;
  let nonBlank = 0;
  let records: string[][];
  try {
    records = parse(text, {
      delimiter,
      cast: false,
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: false,
      on_record: (record: string[]) => {
        // Stop as soon as the file is clearly too long instead of parsing the rest of it.
        if (record.some((f) => f.trim() !== '') && ++nonBlank > cap) throw tooManyRowsError(limits);
        return record;
      },
    }) as string[][];
  } catch (err) {
    if (err instanceof AppError) throw err;
    // csv-parse errors quote the offending line; only its line number is safe to repeat.
    const line = (err as { lines?: unknown }).lines;
    throw new AppError(
      'VALIDATION',
      `The CSV file could not be read${typeof line === 'number' ? ` (near line ${line})` : ''}: check for a quote (") that is opened but never closed.`,
    );
  }
  const rows = records
    .map((fields, i) => ({ rowNumber: i + 1, cells: fields.map((f): GridCell => ({ kind: 'text', text: cleanText(f) })) }))
    .filter((row) => row.cells.some((c) => !isBlank(c)));
  return { grid: { rows }, warnings };
}

function decode(buffer: Buffer, warnings: string[]): string {
  if (buffer[0] === 0xff && buffer[1] === 0xfe) return new TextDecoder('utf-16le').decode(buffer);
  if (buffer[0] === 0xfe && buffer[1] === 0xff) return new TextDecoder('utf-16be').decode(buffer);
  // Strip a UTF-8 BOM up front, so it cannot turn into "ï»¿" in the first header if the rest of
  // the file then needs the Windows-1252 fallback.
  if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) buffer = buffer.subarray(3);
  if (buffer.includes(0)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'This file is not a CSV text file. Upload an Excel workbook (.xlsx) or a CSV file (.csv).');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buffer);
  } catch {
    warnings.push(
      'The CSV file is not UTF-8; it was read as Windows-1252 (Western European). Check that accented names look right, or save it as "CSV UTF-8" in Excel.',
    );
    return new TextDecoder('windows-1252').decode(buffer);
  }
}

const DELIMITERS = [',', ';', '\t'] as const;

export function detectDelimiter(text: string): string {
  let line = 0;
  let inQuotes = false;
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  for (let i = 0; i < text.length && line < HEADER_SEARCH_ROWS; i++) {
    const ch = text[i];
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (ch === '\n' || ch === '\r')) {
      if ([...counts.values()].some((n) => n > 0)) break;
      if (ch === '\n') line++;
    } else if (!inQuotes && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best: string = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const n = counts.get(d)!;
    if (n > bestCount) [best, bestCount] = [d, n];
  }
  return best;
}
