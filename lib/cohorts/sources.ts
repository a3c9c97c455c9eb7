/**
 * Database cohort sources (docs/cohort-sources.md): admins write and test them; coordinators
 * choose one inside a pool they coordinate, fill its parameters, and get a query whose rows are
 * the statement's result, validated exactly like a spreadsheet upload, then found and retrieved
 * through the paired connector.
 *
 * A dedicated model rather than a Connector of type DB: a Connector carries a PACS device, two
 * pools' AE titles and an association limit, none of which mean anything for an SQL database,
 * and every query keeps a connectorId that must be the connector that retrieves.
 *
 * The password is encrypted (lib/secrets) and write-only: views carry `password: "set" | "not
 * set"`. It is decrypted here, at the moment of connecting, and nowhere else.
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { isAdmin } from '../auth/access';
import { db, Prisma, type CohortSource } from '../db';
import { AppError } from '../errors';
import { parseQueryTable, type GridCell, type HeaderColumn } from '../excel';
import { createQuery } from '../queries/queries';
import { decryptSecret, nextSecret, secretState } from '../secrets';
import { runStatement, type CohortConnection } from './execute';
import {
  checkParameterValues,
  cohortMappingSchema,
  cohortParameterSchema,
  MAPPED_FIELDS,
  type CohortMapping,
  type CohortParameter,
  type CohortRunInput,
  type CohortSourceInput,
  type MappedField,
} from './schema';

const withConnector = { connector: { select: { id: true, name: true, type: true } } } as const;
type SourceRow = CohortSource & { connector: { id: string; name: string; type: string } };

/** The admin's view: everything but the password's value. */
export function adminView(s: SourceRow) {
  const { password, ...rest } = s;
  return { ...rest, password: secretState(password), parameters: parametersOf(s), mapping: mappingOf(s) };
}

/** A coordinator's view: what to choose and fill in; no host, account or statement. */
export function coordinatorView(s: SourceRow) {
  return { id: s.id, name: s.name, description: s.description, parameters: parametersOf(s), connector: { id: s.connector.id, name: s.connector.name }, rowCap: s.rowCap };
}

const parametersOf = (s: CohortSource): CohortParameter[] => cohortParameterSchema.array().parse(s.parameters);
const mappingOf = (s: CohortSource): CohortMapping => cohortMappingSchema.parse(s.mapping);

export async function listCohortSources(actor: Actor) {
  const all = await db.cohortSource.findMany({ orderBy: { name: 'asc' }, include: withConnector });
  return isAdmin(actor) ? all.map(adminView) : all.map(coordinatorView);
}

/** What the query page offers a coordinator (admins included): the coordinator's view only. */
export async function listCohortChoices() {
  return (await db.cohortSource.findMany({ orderBy: { name: 'asc' }, include: withConnector })).map(coordinatorView);
}

async function findSource(id: string): Promise<SourceRow> {
  const s = await db.cohortSource.findUnique({ where: { id }, include: withConnector });
  if (!s) throw new AppError('NOT_FOUND', 'Cohort source not found');
  return s;
}

export async function getCohortSource(id: string) {
  return adminView(await findSource(id));
}

function conflict(e: unknown): never {
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')
    throw new AppError('CONFLICT', 'A cohort source with this name already exists', { name: ['already in use'] });
  throw e;
}

function connectionOf(s: Pick<CohortSource, 'driver' | 'host' | 'port' | 'database' | 'user' | 'tls' | 'timeoutSeconds'>, password: string | null): CohortConnection {
  return { driver: s.driver, host: s.host, port: s.port, database: s.database, user: s.user, password, tls: s.tls, timeoutSeconds: s.timeoutSeconds };
}

function plainPassword(stored: string | null): string | null {
  if (!stored) return null;
  try {
    return decryptSecret(stored);
  } catch {
    throw new AppError('CONFLICT', 'The source’s password cannot be decrypted with the configured SECRETS_KEY; an admin must enter it again');
  }
}

/** Result column index per mapped field; a mapped column the statement does not return is a problem. */
function locateColumns(columns: string[], mapping: CohortMapping) {
  const index: Partial<Record<MappedField, number>> = {};
  const missing: string[] = [];
  for (const field of Object.keys(MAPPED_FIELDS) as MappedField[]) {
    const name = mapping[field];
    if (!name) continue;
    let i = columns.indexOf(name);
    if (i < 0) {
      const ci = columns.map((c, j) => [c.toLowerCase(), j] as const).filter(([c]) => c === name.toLowerCase());
      if (ci.length === 1) i = ci[0][1];
    }
    if (i < 0) missing.push(`${MAPPED_FIELDS[field]} (column "${name}")`);
    else index[field] = i;
  }
  return { index, missing };
}

export interface DryRunResult {
  ok: boolean;
  message: string;
  /** The columns the statement returns. */
  columns: string[];
  /** Each mapped field with its column and whether the statement returns it. */
  mapped: { field: string; column: string; found: boolean }[];
}

async function dryRun(conn: CohortConnection, sql: string, parameters: CohortParameter[], mapping: CohortMapping): Promise<DryRunResult> {
  const nulls = Object.fromEntries(parameters.map((p) => [p.name, null]));
  const r = await runStatement(conn, sql, nulls, 0, { detail: true });
  const { index, missing } = locateColumns(r.columns, mapping);
  const mapped = (Object.keys(MAPPED_FIELDS) as MappedField[])
    .filter((f) => mapping[f])
    .map((f) => ({ field: MAPPED_FIELDS[f], column: mapping[f]!, found: index[f] !== undefined }));
  return {
    ok: missing.length === 0,
    message: missing.length
      ? `The statement does not return the mapped column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. It returns: ${r.columns.join(', ') || 'no columns'}.`
      : `The statement ran (zero rows asked) and returns every mapped column.`,
    columns: r.columns,
    mapped,
  };
}

/** The zero-row dry run at save time: a statement that does not run, or lacks a mapped column, is refused. */
async function checkBeforeSave(input: CohortSourceInput, password: string | null) {
  if (!(await db.connector.findUnique({ where: { id: input.connectorId }, select: { id: true } })))
    throw new AppError('VALIDATION', 'Unknown connector', { connectorId: ['unknown connector'] });
  let r: DryRunResult;
  try {
    r = await dryRun(connectionOf(input, password), input.sql, input.parameters, input.mapping);
  } catch (e) {
    if (e instanceof AppError) throw new AppError(e.code, `Not saved: ${e.message}`, e.code === 'VALIDATION' ? { sql: [e.message] } : undefined);
    throw e;
  }
  if (!r.ok) throw new AppError('VALIDATION', `Not saved: ${r.message}`, { mapping: [r.message] });
}

function dataOf(input: CohortSourceInput, password: string | null) {
  const { password: _ignored, ...rest } = input;
  return { ...rest, password, parameters: input.parameters as Prisma.InputJsonValue, mapping: input.mapping as Prisma.InputJsonValue };
}

export async function createCohortSource(actor: Actor, input: CohortSourceInput) {
  await checkBeforeSave(input, input.password || null);
  const s = await db.cohortSource.create({ data: dataOf(input, nextSecret(null, input.password)), include: withConnector }).catch(conflict);
  await audit({ userId: actor.userId, action: 'cohort.create', targetType: 'cohort-source', targetId: s.id, detail: { connectorId: s.connectorId, password: secretState(s.password) } });
  return adminView(s);
}

export async function updateCohortSource(actor: Actor, id: string, input: CohortSourceInput) {
  const current = await findSource(id);
  const stored = nextSecret(current.password, input.password);
  await checkBeforeSave(input, input.password === undefined ? plainPassword(current.password) : input.password || null);
  const s = await db.cohortSource.update({ where: { id }, data: dataOf(input, stored), include: withConnector }).catch(conflict);
  await audit({
    userId: actor.userId,
    action: 'cohort.update',
    targetType: 'cohort-source',
    targetId: id,
    detail: { connectorId: s.connectorId, passwordChanged: input.password !== undefined },
  });
  return adminView(s);
}

export async function deleteCohortSource(actor: Actor, id: string) {
  await findSource(id);
  // Queries made from it keep their rows and results; they only lose the link.
  await db.cohortSource.delete({ where: { id } });
  await audit({ userId: actor.userId, action: 'cohort.delete', targetType: 'cohort-source', targetId: id });
}

/** "Test": the zero-row dry run of the saved source. Never throws for database failures. */
export async function testCohortSource(actor: Actor, id: string): Promise<DryRunResult> {
  const s = await findSource(id);
  const mapping = mappingOf(s);
  let result: DryRunResult;
  try {
    result = await dryRun(connectionOf(s, plainPassword(s.password)), s.sql, parametersOf(s), mapping);
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    result = { ok: false, message: e.message, columns: [], mapped: [] };
  }
  await audit({ userId: actor.userId, action: 'cohort.test', targetType: 'cohort-source', targetId: id, detail: { ok: result.ok } });
  return result;
}

// Template columns the mapped fields feed (StudyDate sets StudyDateFrom and StudyDateTo to that day).
const TABLE_COLUMNS: [MappedField, HeaderColumn][] = [
  ['patientId', 'PatientID'],
  ['accessionNumber', 'AccessionNumber'],
  ['modality', 'Modality'],
  ['studyDate', 'StudyDate'],
  ['researchId', 'ResearchID'],
  ['researchName', 'ResearchName'],
];
const UID = /^[0-9]+(\.[0-9]+)*$/;

function cellOf(v: unknown, field: MappedField): GridCell {
  if (v === null || v === undefined) return { kind: 'empty' };
  if (v instanceof Date) return { kind: 'date', iso: v.toISOString().slice(0, 10) };
  let text = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  // A DATE, DATETIME or TIMESTAMP as the server wrote it: the calendar day is what matters.
  if (field === 'studyDate') text = /^(\d{4}-\d{2}-\d{2})[ T]/.exec(text)?.[1] ?? text;
  return { kind: 'text', text };
}

export interface CohortVerdict {
  source: string;
  /** Rows the statement returned. */
  rows: number;
  validRows: number;
  duplicatesMerged: number;
  invalid: { rowNumber: number; errors: string[] }[];
  warnings: string[];
}

/**
 * Runs a source for a coordinator: the values are checked against the declared types, the
 * statement runs with them bound (read-only, timeout, row cap + 1), and the rows become a query
 * through the paired connector. Nothing is stored when the database fails or returns too many rows.
 */
export async function runCohortSource(actor: Actor, id: string, input: CohortRunInput): Promise<{ verdict: CohortVerdict; queryId?: string }> {
  const s = await findSource(id);
  const declared = parametersOf(s);
  const checked = checkParameterValues(declared, input.parameters);
  if (!checked.ok) throw new AppError('VALIDATION', 'Some parameters are not valid', checked.fields);
  const result = await runStatement(connectionOf(s, plainPassword(s.password)), s.sql, checked.values, s.rowCap + 1);
  if (result.rows.length > s.rowCap)
    throw new AppError('VALIDATION', `More than ${s.rowCap} rows: narrow the parameters (this source returns at most ${s.rowCap} rows per query).`);
  const { index, missing } = locateColumns(result.columns, mappingOf(s));
  if (missing.length) throw new AppError('CONFLICT', `The source's statement no longer returns ${missing.join(', ')}: an admin must correct the source.`);

  // Rows whose StudyInstanceUID is not a UID are refused here; the rest are validated as a sheet.
  const uids = new Map<number, string>();
  const badUid: { rowNumber: number; errors: string[]; patientId?: string }[] = [];
  const tableRows: { rowNumber: number; cells: GridCell[] }[] = [];
  const columns = TABLE_COLUMNS.filter(([f]) => index[f] !== undefined);
  result.rows.forEach((row, i) => {
    const rowNumber = i + 1;
    if (index.studyInstanceUid !== undefined) {
      const uid = cellOf(row[index.studyInstanceUid], 'studyInstanceUid');
      const text = uid.kind === 'text' ? uid.text.trim() : '';
      if (text && (!UID.test(text) || text.length > 64)) {
        const pid = cellOf(row[index.patientId!], 'patientId');
        badUid.push({ rowNumber, errors: ['StudyInstanceUID is not a DICOM UID (digits and dots, at most 64 characters).'], patientId: pid.kind === 'text' ? pid.text : undefined });
        return;
      }
      if (text) uids.set(rowNumber, text);
    }
    tableRows.push({ rowNumber, cells: columns.map(([f]) => cellOf(row[index[f]!], f)) });
  });
  const parsed = tableRows.length
    ? parseQueryTable(columns.map(([, c]) => c), tableRows, { maxRows: s.rowCap, mergeKey: (n) => uids.get(n) })
    : { rows: [], invalid: [], warnings: [], duplicatesMerged: 0 };
  const invalid = [...badUid, ...parsed.invalid.map((r) => ({ rowNumber: r.rowNumber, errors: r.errors, patientId: r.raw.PatientID }))].sort((a, b) => a.rowNumber - b.rowNumber);
  const items = parsed.rows.map((r) => ({ ...r, studyInstanceUid: uids.get(r.rowNumber) }));
  const verdict: CohortVerdict = {
    source: s.name,
    rows: result.rows.length,
    validRows: items.length,
    duplicatesMerged: parsed.duplicatesMerged,
    invalid: invalid.map(({ rowNumber, errors }) => ({ rowNumber, errors })),
    warnings: parsed.warnings,
  };
  // No row values in the verdict: the check answers with counts and reasons (which quote no
  // value); the rows themselves are read on the query, by the pool's coordinators.
  // What the audit keeps of the parameters (docs/security.md): every name, and the values of
  // dates and numbers (a period, a count: no identifier); text values are left out, since an
  // admin may declare a text parameter that holds an identifier.
  const auditParams: Record<string, string | number | null> = { parameters: declared.map((p) => p.name).join(',') };
  for (const p of declared) if (p.type !== 'text') auditParams[`param.${p.name}`] = checked.values[p.name] ?? null;
  if (input.dryRun) {
    await audit({
      userId: actor.userId,
      action: 'cohort.run',
      poolId: input.poolId,
      targetType: 'cohort-source',
      targetId: s.id,
      detail: { dryRun: true, rows: result.rows.length, validRows: items.length, invalidRows: invalid.length, ...auditParams },
    });
    return { verdict };
  }
  if (!items.length) {
    throw new AppError(
      'VALIDATION',
      result.rows.length ? 'No valid row to query: every row the database returned is listed with its problem' : 'The database returned no rows for these parameters',
    );
  }
  const query = await createQuery(actor, {
    poolId: input.poolId,
    connectorId: s.connectorId,
    source: 'DB',
    cohortSourceId: s.id,
    fileName: s.name.slice(0, 200),
    items,
    invalid,
  });
  await audit({
    userId: actor.userId,
    action: 'cohort.run',
    poolId: input.poolId,
    targetType: 'cohort-source',
    targetId: s.id,
    detail: { queryId: query.id, rows: result.rows.length, validRows: items.length, invalidRows: invalid.length, ...auditParams },
  });
  return { verdict, queryId: query.id };
}
