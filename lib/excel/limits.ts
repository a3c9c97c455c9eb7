/**
 * Limits on an uploaded query spreadsheet. Every number here protects the web process: the upload
 * is parsed in memory, and exceljs expands some workbook structures far beyond their size on disk.
 * Callers may tighten or loosen any of them per call (`parseQuerySpreadsheet(input, limits)`).
 */
import { AppError } from '@/lib/errors';

export interface SpreadsheetLimits {
  /** Size of the uploaded file as sent. */
  maxFileBytes: number;
  /** Data rows (below the header) that have at least one value in a query column. */
  maxRows: number;
  /** .xlsx only: sum of the declared uncompressed sizes of all zip entries (zip-bomb guard). */
  maxUncompressedBytes: number;
  /** .xlsx only: uncompressed/compressed ratio allowed for any entry larger than 1 MiB. */
  maxCompressionRatio: number;
  /** .xlsx only: entries in the zip's central directory. A real workbook has 10 to 40. */
  maxZipEntries: number;
  /** .xlsx only: cells (`<c>` elements) across all worksheets; exceljs keeps an object per cell. */
  maxCells: number;
  /** .xlsx only: cells covered by merged ranges; exceljs creates an object for each covered cell. */
  maxMergedCells: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_SPREADSHEET_LIMITS: Readonly<SpreadsheetLimits> = Object.freeze({
  maxFileBytes: 5 * MiB,
  maxRows: 5_000,
  maxUncompressedBytes: 50 * MiB,
  maxCompressionRatio: 100,
  maxZipEntries: 1_000,
  maxCells: 250_000,
  maxMergedCells: 100_000,
});

/** Entries smaller than this are exempt from the ratio check: tiny parts compress very well and are harmless. */
export const RATIO_CHECK_MIN_BYTES = 1 * MiB;

/** Rows searched for the header row (a title or a note above the header is common). */
export const HEADER_SEARCH_ROWS = 10;

export function resolveLimits(overrides?: Partial<SpreadsheetLimits>): SpreadsheetLimits {
  const limits: SpreadsheetLimits = { ...DEFAULT_SPREADSHEET_LIMITS };
  for (const [key, value] of Object.entries(overrides ?? {}) as [keyof SpreadsheetLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`Spreadsheet limit ${key} must be a positive number`);
    limits[key] = value;
  }
  return limits;
}

/** "5 MB", "512 KB": sizes in the units people see in their file manager. */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB) return `${Number((bytes / MiB).toFixed(1))} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** "5,000": counts in messages, independent of the server's locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function tooManyRowsError(limits: SpreadsheetLimits): AppError {
  return new AppError(
    'PAYLOAD_TOO_LARGE',
    `The spreadsheet has more than ${formatCount(limits.maxRows)} rows. Split it into files of at most ${formatCount(limits.maxRows)} rows.`,
  );
}
