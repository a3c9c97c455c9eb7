/**
 * .xlsx → grids, one per worksheet. The zip is checked and sanitized first (see zip.ts); exceljs
 * then loads the sanitized copy. Cell values are read as stored, never recomputed: a formula
 * contributes its cached result, and a formula without one is reported, not evaluated.
 */
import ExcelJS from 'exceljs';
import { cleanText, EMPTY_CELL, isBlank, type Grid, type GridCell, type GridRow } from './grid';
import type { SpreadsheetLimits } from './limits';
import { notAWorkbook, sanitizeWorkbookZip } from './zip';

export async function readWorkbookGrids(buffer: Buffer, limits: SpreadsheetLimits): Promise<Grid[]> {
  const { buffer: safe } = await sanitizeWorkbookZip(buffer, limits);
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(safe as unknown as ExcelJS.Buffer);
  } catch {
    // exceljs's own messages describe its internals (and may quote content); the coordinator
    // needs to know the file could not be read.
    throw notAWorkbook();
  }
  const date1904 = Boolean((workbook.properties as { date1904?: boolean }).date1904);
  return workbook.worksheets.map((sheet) => worksheetGrid(sheet, date1904));
}

function worksheetGrid(sheet: ExcelJS.Worksheet, date1904: boolean): Grid {
  const rows: GridRow[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: GridCell[] = [];
    row.eachCell({ includeEmpty: false }, (cell, col) => {
      cells[col - 1] = gridCell(cell, date1904);
    });
    for (let i = 0; i < cells.length; i++) cells[i] ??= EMPTY_CELL;
    if (cells.some((c) => !isBlank(c))) rows.push({ rowNumber, cells, hidden: row.hidden || undefined });
  });
  return { name: sheet.name, rows };
}

export function gridCell(cell: ExcelJS.Cell, date1904 = false): GridCell {
  // exceljs reports the master's value for every cell of a merged range. Only the top-left cell
  // really holds it (Excel discards the others' values when merging), so the rest read as empty.
  if (cell.type === ExcelJS.ValueType.Merge) return { kind: 'merged' };
  return fromValue(cell.value, date1904);
}

const MS_PER_DAY = 86_400_000;

function fromValue(value: unknown, date1904: boolean): GridCell {
  if (value === null || value === undefined) return EMPTY_CELL;
  if (typeof value === 'string') return { kind: 'text', text: cleanText(value) };
  if (typeof value === 'number') return Number.isFinite(value) ? { kind: 'number', value } : { kind: 'error', code: '#NUM!' };
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return { kind: 'error', code: '#VALUE!' };
    // Past 9999-12-31 is no Excel date: it is a number typed into a date-formatted cell (Excel
    // shows #####), typically 20240115 meant as YYYYMMDD. Hand back the number exceljs converted.
    if (value.getUTCFullYear() > 9999) {
      return { kind: 'number', value: Math.round(value.getTime() / MS_PER_DAY + 25569 - (date1904 ? 1462 : 0)) };
    }
    // exceljs turns date serials into UTC midnights; the UTC calendar date is the cell's date.
    return { kind: 'date', iso: value.toISOString().slice(0, 10) };
  }
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('formula' in v || 'sharedFormula' in v) {
      if (v.result === undefined || v.result === null) {
        return { kind: 'formula-without-result', formula: typeof v.formula === 'string' ? v.formula : '' };
      }
      return fromValue(v.result, date1904);
    }
    if ('error' in v) return { kind: 'error', code: String(v.error) };
    if ('richText' in v) return { kind: 'text', text: cleanText(richText(v.richText)) };
    // Hyperlink cell: the text shown, not the link target.
    if ('text' in v) {
      const text = v.text;
      if (typeof text === 'string') return { kind: 'text', text: cleanText(text) };
      if (text && typeof text === 'object' && 'richText' in text) return { kind: 'text', text: cleanText(richText((text as { richText: unknown }).richText)) };
    }
  }
  return EMPTY_CELL;
}

function richText(runs: unknown): string {
  return Array.isArray(runs) ? runs.map((r) => (r && typeof r.text === 'string' ? r.text : '')).join('') : '';
}
