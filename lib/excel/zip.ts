/**
 * An .xlsx is a zip of XML parts. exceljs unzips and parses the whole thing in memory with no
 * guard of its own, so everything here runs BEFORE exceljs sees a byte:
 *
 * 1. The central directory is read with yauzl: entry count, declared uncompressed sizes and
 *    per-entry compression ratios are checked without inflating anything.
 * 2. Every entry is inflated by yauzl, which fails when an entry inflates to more than it declared,
 *    so a zip that lies in its directory cannot slip past step 1.
 * 3. Worksheets are scanned as text: rows with values, cells and merged areas are counted, so a
 *    100,000-row sheet is refused after inflating one part, without building exceljs objects.
 * 4. Structures that exceljs expands cell by cell on load are removed: data validations (a dropdown
 *    over a whole column is 1,048,576 objects; over a whole sheet, a hang) and defined names (a
 *    named range over a whole sheet hangs too). Neither affects cell values.
 *
 * The result is a new zip (entries stored, uncompressed) that exceljs can load safely.
 */
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { AppError } from '@/lib/errors';
import { formatCount, HEADER_SEARCH_ROWS, RATIO_CHECK_MIN_BYTES, tooManyRowsError, type SpreadsheetLimits } from './limits';

export const NOT_A_WORKBOOK = 'This file is not an Excel workbook (.xlsx)';

export function notAWorkbook(detail = 'Save it from Excel as an Excel Workbook (.xlsx) or as CSV, and upload it again.'): AppError {
  return new AppError('UNSUPPORTED_MEDIA_TYPE', `${NOT_A_WORKBOOK}, or it is damaged. ${detail}`);
}

function expandsTooMuch(): AppError {
  return new AppError(
    'PAYLOAD_TOO_LARGE',
    'This workbook expands to far more data than a query spreadsheet holds, so it was not opened. Copy the rows into the template and upload that.',
  );
}

interface ZipEntryData {
  name: string;
  data: Buffer;
}

export interface SanitizedWorkbook {
  /** A zip exceljs can load: same parts, without data validations and defined names. */
  buffer: Buffer;
  /** Worksheet parts that had data validations removed (useful in tests and diagnostics). */
  strippedParts: string[];
}

function openZip(buffer: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true }, (err, zip) =>
      err || !zip ? reject(notAWorkbook()) : resolve(zip),
    );
  });
}

function listEntries(zip: yauzl.ZipFile, limits: SpreadsheetLimits): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    let declaredTotal = 0;
    zip.on('error', () => reject(notAWorkbook()));
    zip.on('end', () => resolve(entries));
    zip.on('entry', (entry: yauzl.Entry) => {
      if (!entry.fileName.endsWith('/')) {
        declaredTotal += entry.uncompressedSize;
        const ratio = entry.uncompressedSize / Math.max(entry.compressedSize, 1);
        if (declaredTotal > limits.maxUncompressedBytes) return reject(expandsTooMuch());
        if (entry.uncompressedSize > RATIO_CHECK_MIN_BYTES && ratio > limits.maxCompressionRatio) return reject(expandsTooMuch());
        if (entry.isEncrypted()) return reject(notAWorkbook('Remove the password in Excel and upload it again.'));
        entries.push(entry);
      }
      zip.readEntry();
    });
    zip.readEntry();
  });
}

function inflate(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(notAWorkbook());
      const chunks: Buffer[] = [];
      // yauzl destroys the stream with an error if the entry inflates to more (or fewer) bytes than
      // the central directory declared: that is what makes the declared-size checks trustworthy.
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', () => reject(notAWorkbook()));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

// Namespace prefixes are legal in OOXML (`<x:row>`); some producers use them.
const P = '(?:[A-Za-z_][\\w.-]*:)?';
const ROW_END = new RegExp(`</${P}row>`, 'g');
const HAS_VALUE = new RegExp(`<${P}(?:v|is|f)[\\s>/]`);
const CELL = new RegExp(`<${P}c[\\s>/]`, 'g');
const MERGE_REF = new RegExp(`<${P}mergeCell\\b[^>]*?\\bref="([^"]*)"`, 'g');
const DATA_VALIDATIONS = new RegExp(`<(${P})dataValidations\\b[^>]*?(?:/>|>[\\s\\S]*?</\\1dataValidations>)`, 'g');
const DEFINED_NAMES = new RegExp(`<(${P})definedNames\\b[^>]*?(?:/>|>[\\s\\S]*?</\\1definedNames>)`, 'g');
const WORKSHEET_PART = /^xl\/worksheets\/[^/]+\.xml$/;

/** Rows that hold at least one value or formula; stops counting once past `cap`. */
function countValueRows(xml: string, cap: number): number {
  let count = 0;
  let from = 0;
  ROW_END.lastIndex = 0;
  for (let m = ROW_END.exec(xml); m; m = ROW_END.exec(xml)) {
    if (HAS_VALUE.test(xml.slice(from, m.index)) && ++count > cap) break;
    from = m.index + m[0].length;
  }
  return count;
}

/** "B2:D5" → 12 cells; a single cell or an unreadable reference counts as 1. */
function rangeArea(ref: string): number {
  const m = /^\$?([A-Z]{1,3})\$?(\d{1,7}):\$?([A-Z]{1,3})\$?(\d{1,7})$/i.exec(ref.trim());
  if (!m) return 1;
  const col = (letters: string) => [...letters.toUpperCase()].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0);
  const rows = Math.abs(Number(m[4]) - Number(m[2])) + 1;
  const cols = Math.abs(col(m[3]) - col(m[1])) + 1;
  return rows * cols;
}

function checkWorksheet(xml: string, limits: SpreadsheetLimits, totals: { cells: number; merged: number }): void {
  // The cap is generous by the header window: the exact data-row count is enforced after parsing,
  // on the sheet that is actually read. This pass only has to refuse the clearly oversized early.
  const cap = limits.maxRows + HEADER_SEARCH_ROWS;
  if (countValueRows(xml, cap) > cap) throw tooManyRowsError(limits);
  // Counted with a loop that stops at the limit: match() would first build an array of every cell.
  CELL.lastIndex = 0;
  while (totals.cells <= limits.maxCells && CELL.exec(xml)) totals.cells++;
  if (totals.cells > limits.maxCells) {
    throw new AppError(
      'PAYLOAD_TOO_LARGE',
      `The workbook has more than ${formatCount(limits.maxCells)} filled or formatted cells. Copy the query rows into the template and upload that.`,
    );
  }
  MERGE_REF.lastIndex = 0;
  for (let m = MERGE_REF.exec(xml); m; m = MERGE_REF.exec(xml)) {
    totals.merged += rangeArea(m[1]);
    if (totals.merged > limits.maxMergedCells) {
      throw new AppError(
        'VALIDATION',
        'The workbook has merged cells covering very large areas (such as whole columns). Unmerge them (Home → Merge & Center → Unmerge Cells) and upload again.',
      );
    }
  }
}

/**
 * Check an .xlsx upload against the limits and return a copy exceljs can load safely.
 * Throws AppError (UNSUPPORTED_MEDIA_TYPE, PAYLOAD_TOO_LARGE or VALIDATION) with a message for the
 * coordinator. Never logs or returns cell content.
 */
export async function sanitizeWorkbookZip(buffer: Buffer, limits: SpreadsheetLimits): Promise<SanitizedWorkbook> {
  const zip = await openZip(buffer);
  try {
    if (zip.entryCount > limits.maxZipEntries) throw expandsTooMuch();
    const entries = await listEntries(zip, limits);
    const names = new Set(entries.map((e) => e.fileName));
    if (!names.has('xl/workbook.xml')) {
      if (names.has('xl/workbook.bin')) {
        throw notAWorkbook('It is an Excel Binary Workbook (.xlsb): save it as an Excel Workbook (.xlsx) or as CSV.');
      }
      throw notAWorkbook();
    }

    const out: ZipEntryData[] = [];
    const strippedParts: string[] = [];
    const totals = { cells: 0, merged: 0 };
    for (const entry of entries) {
      let data = await inflate(zip, entry);
      if (WORKSHEET_PART.test(entry.fileName)) {
        const xml = data.toString('utf8');
        checkWorksheet(xml, limits, totals);
        const cleaned = xml.replace(DATA_VALIDATIONS, '');
        if (cleaned.length !== xml.length) {
          strippedParts.push(entry.fileName);
          data = Buffer.from(cleaned, 'utf8');
        }
      } else if (entry.fileName === 'xl/workbook.xml') {
        data = Buffer.from(data.toString('utf8').replace(DEFINED_NAMES, ''), 'utf8');
      }
      out.push({ name: entry.fileName, data });
    }
    return { buffer: writeStoredZip(out), strippedParts };
  } finally {
    zip.close();
  }
}

/**
 * A minimal zip writer: entries stored (no compression), UTF-8 names, no zip64 (the inputs are
 * bounded far below 4 GiB by the limits). Stored entries make exceljs's load cheaper, too.
 */
export function writeStoredZip(entries: ZipEntryData[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}
