/**
 * A pool's lookup tables (LookupEntry rows), owner-only because their keys are usually MRNs:
 * - "research-id" and "research-name": MRN -> ResearchID / ResearchName, used by research identity
 *   resolution (lib/pools/identity.ts) for MRNs that have no identity yet;
 * - any other named table, used by the rules' `lookup` override (the override's value is the
 *   table name): original value -> replacement.
 *
 * Uploads are CSV or .xlsx (first worksheet), read with the spreadsheet readers of lib/excel (text
 * kept as text, size and zip-bomb limits), validated row by row: bad rows are reported by row
 * number with reasons that quote no value, and the good rows are stored.
 */
import path from 'node:path';
import { type RuleSet, ruleSetSchema } from '../anonymize/rules-schema';
import { stampTables } from '../anonymize/stamps';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db } from '../db';
import { env } from '../env';
import { AppError } from '../errors';
import { displayText, isBlank, type Grid } from '../excel/grid';
import { formatBytes, resolveLimits } from '../excel/limits';

export const RESEARCH_ID_TABLE = 'research-id';
export const RESEARCH_NAME_TABLE = 'research-name';
/** Table names: what a `lookup` override's value must look like. */
export const TABLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Rows per upload. */
export const LOOKUP_MAX_ROWS = 50_000;
/** Values written into DICOM by a lookup (LO is 64 characters; longer text VRs get the same cap). */
const MAX_VALUE = 64;
const MAX_KEY = 256;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const PRINTABLE_ID = /^[\x20-\x5b\x5d-\x7e]+$/;

/** The lookup tables a rule set reads: those its `lookup` overrides name, and those of its stamps. */
export function lookupTablesUsedBy(rules: Pick<RuleSet, 'overrides' | 'stamps'>): string[] {
  return [
    ...new Set([
      ...rules.overrides.filter((o) => o.action === 'lookup' && o.value?.trim()).map((o) => o.value!.trim()),
      ...stampTables(rules.stamps),
    ]),
  ];
}

/** table name -> key -> value, for the engine's `identity.lookups`. */
export async function loadLookupTables(poolId: string, tables: string[]): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const t of tables) out[t] = Object.create(null) as Record<string, string>;
  if (!tables.length) return out;
  const rows = await db.lookupEntry.findMany({ where: { poolId, table: { in: tables } }, select: { table: true, key: true, value: true } });
  for (const r of rows) out[r.table][r.key] = r.value;
  return out;
}

export async function listLookupTables(poolId: string) {
  const groups = await db.lookupEntry.groupBy({
    by: ['table'],
    where: { poolId },
    _count: { _all: true },
    _max: { createdAt: true },
    orderBy: { table: 'asc' },
  });
  const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId }, select: { rules: true } });
  const rules = ruleSetSchema.safeParse(pool.rules);
  const used = new Set(rules.success ? lookupTablesUsedBy(rules.data) : []);
  return groups.map((g) => ({
    table: g.table,
    entries: g._count._all,
    updatedAt: g._max.createdAt,
    usedBy: g.table === RESEARCH_ID_TABLE || g.table === RESEARCH_NAME_TABLE ? 'research identity' : used.has(g.table) ? 'rules' : null,
  }));
}

export type LookupKind = 'identity' | 'table';

export interface LookupImportResult {
  kind: LookupKind;
  /** Tables written. */
  tables: string[];
  /** Rows stored (one per key; an identity row may fill two tables). */
  stored: number;
  mode: 'merge' | 'replace';
  invalid: { rowNumber: number; errors: string[] }[];
  warnings: string[];
}

interface ParsedRow {
  rowNumber: number;
  cells: string[];
}

async function readGrid(file: { buffer: Buffer; name: string }, maxBytes: number): Promise<{ grid: Grid; warnings: string[] }> {
  const limits = resolveLimits({ maxFileBytes: maxBytes, maxRows: LOOKUP_MAX_ROWS, maxCells: LOOKUP_MAX_ROWS * 4 });
  if (file.buffer.length === 0) throw new AppError('VALIDATION', 'The file is empty.', { file: ['empty file'] });
  if (file.buffer.length > maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `The file is larger than ${formatBytes(maxBytes)}.`);
  const isZip = file.buffer.subarray(0, 2).toString('latin1') === 'PK';
  const ext = path.extname(file.name).toLowerCase();
  if (isZip) {
    // Loaded on use: exceljs is heavy, and the worker imports this module for loadLookupTables.
    const { readWorkbookGrids } = await import('../excel/read-workbook');
    const grids = await readWorkbookGrids(file.buffer, limits);
    const grid = grids.find((g) => g.rows.length > 0);
    if (!grid) throw new AppError('VALIDATION', 'The workbook has no rows.', { file: ['no rows'] });
    return { grid, warnings: grids.filter((g) => g.rows.length > 0).length > 1 ? ['Only the first worksheet with data was read.'] : [] };
  }
  if (ext && !['.csv', '.txt', '.tsv'].includes(ext)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Upload a CSV file (.csv) or an Excel workbook (.xlsx).');
  }
  const { readCsvGrid } = await import('../excel/read-csv');
  const csv = readCsvGrid(file.buffer, limits);
  return { grid: csv.grid, warnings: csv.warnings };
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
const MRN_HEADERS = new Set(['mrn', 'patientid', 'patid', 'pid', 'sourcepatientid']);
const RID_HEADERS = new Set(['researchid', 'rid', 'studyid', 'subjectid', 'pseudonym']);
const RNAME_HEADERS = new Set(['researchname', 'rname', 'subjectname']);

function gridRows(grid: Grid): ParsedRow[] {
  return grid.rows.map((r) => ({ rowNumber: r.rowNumber, cells: r.cells.map((c) => (isBlank(c) ? '' : displayText(c).trim())) }));
}

function textProblem(what: string, v: string, max: number): string | undefined {
  if (v.length > max) return `${what} is longer than ${max} characters.`;
  if (CONTROL.test(v)) return `${what} contains line breaks, tabs or other control characters.`;
  return undefined;
}

/**
 * Reads and validates an upload. `kind: 'identity'` expects a header row with MRN (or PatientID),
 * ResearchID and optionally ResearchName; `kind: 'table'` takes the first two columns of every
 * row after a header row (original value, replacement).
 */
export async function parseLookupUpload(
  file: { buffer: Buffer; name: string },
  kind: LookupKind,
  opts: { maxBytes?: number } = {},
): Promise<{ entries: { table: string; key: string; value: string; rowNumber: number }[]; invalid: LookupImportResult['invalid']; warnings: string[] }> {
  const { grid, warnings } = await readGrid(file, opts.maxBytes ?? env().UPLOAD_MAX_BYTES);
  const rows = gridRows(grid);
  if (!rows.length) throw new AppError('VALIDATION', 'The file has no rows.', { file: ['no rows'] });
  const header = rows[0];
  const body = rows.slice(1);
  if (body.length > LOOKUP_MAX_ROWS) throw new AppError('PAYLOAD_TOO_LARGE', `At most ${LOOKUP_MAX_ROWS} rows per upload.`);
  const invalid: LookupImportResult['invalid'] = [];
  const entries: { table: string; key: string; value: string; rowNumber: number }[] = [];

  if (kind === 'identity') {
    const cols = header.cells.map(norm);
    const mrnCol = cols.findIndex((c) => MRN_HEADERS.has(c));
    const ridCol = cols.findIndex((c) => RID_HEADERS.has(c));
    const nameCol = cols.findIndex((c) => RNAME_HEADERS.has(c));
    if (mrnCol < 0 || ridCol < 0) {
      throw new AppError('VALIDATION', 'The first row must be a header naming the columns MRN (or PatientID) and ResearchID; ResearchName is optional.', {
        file: ['header row MRN, ResearchID[, ResearchName] not found'],
      });
    }
    const byMrn = new Map<string, { rid: string; name: string; rowNumber: number }>();
    const byRid = new Map<string, string>();
    for (const r of body) {
      const mrn = r.cells[mrnCol] ?? '';
      const rid = r.cells[ridCol] ?? '';
      const name = nameCol >= 0 ? (r.cells[nameCol] ?? '') : '';
      const errors: string[] = [];
      if (!mrn && !rid && !name) continue;
      if (!mrn) errors.push('MRN is empty.');
      else {
        const p = textProblem('MRN', mrn, 64);
        if (p) errors.push(p);
      }
      if (!rid) errors.push('ResearchID is empty.');
      else if (rid.length > 64 || !PRINTABLE_ID.test(rid) || /[*?]/.test(rid)) errors.push('ResearchID must be 1-64 printable ASCII characters without \\, * or ?.');
      if (name && (name.length > 64 || !PRINTABLE_ID.test(name) || /[*?=]/.test(name))) errors.push('ResearchName must be at most 64 printable ASCII characters without \\, *, ? or =.');
      const prev = mrn ? byMrn.get(mrn) : undefined;
      if (prev && (prev.rid !== rid || prev.name !== name)) errors.push(`This MRN is already on row ${prev.rowNumber} with other values.`);
      const ridHolder = rid ? byRid.get(rid) : undefined;
      if (ridHolder !== undefined && ridHolder !== mrn) errors.push(`This ResearchID is already given to another MRN on row ${byMrn.get(ridHolder)?.rowNumber ?? '?'}.`);
      if (errors.length) {
        invalid.push({ rowNumber: r.rowNumber, errors });
        continue;
      }
      if (prev) continue; // exact duplicate
      byMrn.set(mrn, { rid, name, rowNumber: r.rowNumber });
      byRid.set(rid, mrn);
    }
    for (const [mrn, v] of byMrn) {
      entries.push({ table: RESEARCH_ID_TABLE, key: mrn, value: v.rid, rowNumber: v.rowNumber });
      if (v.name) entries.push({ table: RESEARCH_NAME_TABLE, key: mrn, value: v.name, rowNumber: v.rowNumber });
    }
    return { entries, invalid, warnings };
  }

  if (header.cells.filter(Boolean).length < 2) {
    throw new AppError('VALIDATION', 'The first row must be a header with two columns: the original value and its replacement.', {
      file: ['header row with two columns not found'],
    });
  }
  const seen = new Map<string, { value: string; rowNumber: number }>();
  for (const r of body) {
    const key = r.cells[0] ?? '';
    const value = r.cells[1] ?? '';
    if (!key && !value) continue;
    const errors: string[] = [];
    if (!key) errors.push('The original value (first column) is empty.');
    else {
      const p = textProblem('The original value', key, MAX_KEY);
      if (p) errors.push(p);
    }
    const p = textProblem('The replacement', value, MAX_VALUE);
    if (p) errors.push(p);
    if (value.includes('\\')) errors.push('The replacement must not contain a backslash (\\).');
    const prev = key ? seen.get(key) : undefined;
    if (prev && prev.value !== value) errors.push(`This original value is already on row ${prev.rowNumber} with another replacement.`);
    if (errors.length) {
      invalid.push({ rowNumber: r.rowNumber, errors });
      continue;
    }
    if (prev) continue;
    seen.set(key, { value, rowNumber: r.rowNumber });
  }
  for (const [key, v] of seen) entries.push({ table: '', key, value: v.value, rowNumber: v.rowNumber });
  return { entries, invalid, warnings };
}

/**
 * Stores an uploaded table. `replace` empties the table(s) first; `merge` replaces the entries of
 * the keys in the file and keeps the others. For identity tables, MRNs that already have a
 * research identity in the pool are reported (identities never change), and a ResearchID that an
 * existing identity of another MRN holds is refused: never two patients under one research ID.
 */
export async function importLookupTable(
  actor: Actor,
  poolId: string,
  input: { kind: LookupKind; table?: string; mode: 'merge' | 'replace'; file: { buffer: Buffer; name: string } },
): Promise<LookupImportResult> {
  let table = '';
  if (input.kind === 'table') {
    table = (input.table ?? '').trim();
    if (!TABLE_NAME.test(table)) {
      throw new AppError('VALIDATION', 'Name the table: letters, digits, "-", "_" or ".", at most 64 characters', { table: ['invalid table name'] });
    }
    if (table === RESEARCH_ID_TABLE || table === RESEARCH_NAME_TABLE) {
      throw new AppError('VALIDATION', 'Upload research IDs as an identity table (MRN, ResearchID, ResearchName)', { table: ['reserved for research identities'] });
    }
  }
  const parsed = await parseLookupUpload(input.file, input.kind);
  let entries = parsed.entries.map((e) => ({ ...e, table: e.table || table }));
  const invalid = [...parsed.invalid];
  const warnings = [...parsed.warnings];

  if (input.kind === 'identity') {
    const mrns = [...new Set(entries.map((e) => e.key))];
    const rids = [...new Set(entries.filter((e) => e.table === RESEARCH_ID_TABLE).map((e) => e.value))];
    const existing = await db.patientIdentity.findMany({
      where: { poolId, OR: [{ sourcePatientId: { in: mrns } }, { researchId: { in: rids } }] },
      select: { sourcePatientId: true, researchId: true },
    });
    const ridOwner = new Map(existing.map((p) => [p.researchId, p.sourcePatientId]));
    const hasIdentity = new Map(existing.map((p) => [p.sourcePatientId, p.researchId]));
    const refusedRows = new Set<number>();
    let alreadyAssigned = 0;
    for (const e of entries) {
      if (e.table !== RESEARCH_ID_TABLE) continue;
      const owner = ridOwner.get(e.value);
      if (owner !== undefined && owner !== e.key) {
        refusedRows.add(e.rowNumber);
        invalid.push({ rowNumber: e.rowNumber, errors: ['This ResearchID is already assigned to another patient in this pool.'] });
      } else if (hasIdentity.has(e.key) && hasIdentity.get(e.key) !== e.value) alreadyAssigned++;
    }
    if (alreadyAssigned) {
      warnings.push(`${alreadyAssigned} MRN(s) already have a research identity in this pool; they keep it (identities never change), the table's ResearchID is not used for them.`);
    }
    entries = entries.filter((e) => !refusedRows.has(e.rowNumber));
    invalid.sort((a, b) => a.rowNumber - b.rowNumber);
  }

  const tables = input.kind === 'identity' ? [RESEARCH_ID_TABLE, RESEARCH_NAME_TABLE] : [table];
  const CHUNK = 5_000;
  await db.$transaction(
    async (tx) => {
      if (input.mode === 'replace') await tx.lookupEntry.deleteMany({ where: { poolId, table: { in: tables } } });
      for (let i = 0; i < entries.length; i += CHUNK) {
        const chunk = entries.slice(i, i + CHUNK);
        if (input.mode === 'merge') {
          for (const t of tables) {
            const keys = chunk.filter((e) => e.table === t).map((e) => e.key);
            if (keys.length) await tx.lookupEntry.deleteMany({ where: { poolId, table: t, key: { in: keys } } });
          }
          // An identity row without a name must not leave an older name behind.
          if (input.kind === 'identity') {
            const keys = chunk.filter((e) => e.table === RESEARCH_ID_TABLE).map((e) => e.key);
            if (keys.length) await tx.lookupEntry.deleteMany({ where: { poolId, table: RESEARCH_NAME_TABLE, key: { in: keys } } });
          }
        }
        await tx.lookupEntry.createMany({ data: chunk.map((e) => ({ poolId, table: e.table, key: e.key, value: e.value })) });
      }
    },
    { timeout: 60_000 },
  );
  const stored = new Set(entries.map((e) => e.key)).size;
  await audit({
    userId: actor.userId,
    action: 'pool.lookups-update',
    poolId,
    targetType: 'lookup-table',
    targetId: input.kind === 'identity' ? RESEARCH_ID_TABLE : table,
    detail: { kind: input.kind, mode: input.mode, stored, invalid: invalid.length },
  });
  return { kind: input.kind, tables, stored, mode: input.mode, invalid, warnings };
}

export async function deleteLookupTable(actor: Actor, poolId: string, table: string): Promise<{ deleted: number }> {
  if (!TABLE_NAME.test(table)) throw new AppError('NOT_FOUND', 'Lookup table not found');
  // The identity tables go together: a name without its ID would never be used.
  const tables = table === RESEARCH_ID_TABLE || table === RESEARCH_NAME_TABLE ? [RESEARCH_ID_TABLE, RESEARCH_NAME_TABLE] : [table];
  const { count } = await db.lookupEntry.deleteMany({ where: { poolId, table: { in: tables } } });
  if (!count) throw new AppError('NOT_FOUND', 'Lookup table not found');
  await audit({ userId: actor.userId, action: 'pool.lookups-update', poolId, targetType: 'lookup-table', targetId: table, detail: { mode: 'delete', deleted: count } });
  return { deleted: count };
}
