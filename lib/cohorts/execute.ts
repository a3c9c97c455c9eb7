/**
 * Runs a cohort source's statement against the hospital database, the only way it is ever run:
 * - wrapped as a subquery `SELECT * FROM (<statement>) LIMIT n` (n = the row cap + 1, or 0 for a
 *   dry run), which is also a syntax-level guarantee of a single query expression;
 * - inside a read-only transaction (PostgreSQL `BEGIN TRANSACTION READ ONLY`, MySQL/MariaDB
 *   `START TRANSACTION READ ONLY`), rolled back afterwards: a function with side effects called
 *   from the SELECT fails;
 * - under a statement timeout set on the server (`statement_timeout`, MariaDB
 *   `max_statement_time`, MySQL `MAX_EXECUTION_TIME`) and a client-side one a little longer;
 * - with the coordinator's values bound as parameters through the extended protocol / prepared
 *   statements, never written into the text.
 * A fresh connection per run (these are a few runs a day, not a pool's worth).
 *
 * Errors come back as AppError with our own message. The driver's message is passed on only to
 * the admin's dry run (`detail: true`), where it is about the admin's own statement; it is never
 * logged (lib/logger logs errors by class and code).
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { AppError } from '../errors';
import { scanSql, withoutTrailingSemicolon, type CohortDriverName } from './sql';

export interface CohortConnection {
  driver: CohortDriverName;
  host: string;
  port: number;
  database: string;
  user: string;
  /** Decrypted at the moment of use (lib/secrets), never stored in this shape. */
  password: string | null;
  tls: boolean;
  timeoutSeconds: number;
}

export interface StatementResult {
  columns: string[];
  rows: unknown[][];
}

const CONNECT_TIMEOUT_MS = 10_000;

// Dates and timestamps as the server writes them: a DATE must not shift by a time zone on its way
// to a StudyDate.
const PG_RAW_TYPES = new Set([1082, 1114, 1184]);
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    PG_RAW_TYPES.has(oid) ? (v: string) => v : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format)) as typeof pg.types.getTypeParser,
};

function wrap(sql: string, driver: CohortDriverName, limit: number) {
  const scanned = scanSql(withoutTrailingSemicolon(sql, driver), driver);
  // Newlines around the statement: a trailing "-- comment" must not swallow the parenthesis.
  return { text: `SELECT * FROM (\n${scanned.text}\n) AS tributary_cohort LIMIT ${Math.max(0, Math.floor(limit))}`, order: scanned.order };
}

export async function runStatement(
  conn: CohortConnection,
  sql: string,
  values: Record<string, string | number | null>,
  limit: number,
  opts: { detail?: boolean } = {},
): Promise<StatementResult> {
  const { text, order } = wrap(sql, conn.driver, limit);
  const bound = order.map((n) => values[n] ?? null);
  try {
    return conn.driver === 'POSTGRES' ? await runPostgres(conn, text, bound) : await runMysql(conn, text, bound);
  } catch (e) {
    throw cohortError(e, conn, opts.detail ?? false);
  }
}

async function runPostgres(conn: CohortConnection, text: string, values: unknown[]): Promise<StatementResult> {
  const ms = conn.timeoutSeconds * 1000;
  const client = new pg.Client({
    host: conn.host,
    port: conn.port,
    database: conn.database,
    user: conn.user,
    password: conn.password ?? undefined,
    ssl: conn.tls ? { rejectUnauthorized: true } : false,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: ms,
    query_timeout: ms + 5000,
    application_name: 'tributary-cohort',
    types: pgTypes,
  });
  client.on('error', () => undefined); // a dropped connection surfaces as the query's error
  await client.connect();
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    // queryMode 'extended' (node-pg; not in its typings): parse/bind/execute even without values,
    // so the text can never carry a second statement.
    const config = { text, values, rowMode: 'array' as const, queryMode: 'extended' };
    const r = await client.query(config as pg.QueryArrayConfig);
    await client.query('ROLLBACK');
    return { columns: r.fields.map((f) => f.name), rows: r.rows };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runMysql(conn: CohortConnection, text: string, values: unknown[]): Promise<StatementResult> {
  const ms = conn.timeoutSeconds * 1000;
  const c = await mysql.createConnection({
    host: conn.host,
    port: conn.port,
    database: conn.database,
    user: conn.user,
    password: conn.password ?? undefined,
    ssl: conn.tls ? { rejectUnauthorized: true } : undefined,
    connectTimeout: CONNECT_TIMEOUT_MS,
    multipleStatements: false,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  c.on('error', () => undefined);
  try {
    const [version] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    const mariadb = /mariadb/i.test(String(version[0]?.v ?? ''));
    // MariaDB counts seconds (any statement); MySQL milliseconds (SELECT only, which is all we run).
    await c.query(mariadb ? `SET SESSION max_statement_time = ${conn.timeoutSeconds}` : `SET SESSION MAX_EXECUTION_TIME = ${ms}`);
    await c.query('START TRANSACTION READ ONLY');
    const [rows, fields] = await c.execute<mysql.RowDataPacket[][]>({ sql: text, values: values as (string | number | null)[], rowsAsArray: true, timeout: ms + 5000 });
    await c.query('ROLLBACK');
    return { columns: (fields ?? []).map((f) => f.name), rows: rows as unknown[][] };
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

type Failure = 'down' | 'auth' | 'database' | 'timeout' | 'read-only' | 'statement' | 'value' | 'other';

function failureOf(e: unknown, driver: CohortDriverName): Failure {
  const x = e as { code?: unknown; errno?: unknown; message?: unknown };
  const code = typeof x.code === 'string' ? x.code : '';
  const errno = typeof x.errno === 'number' ? x.errno : 0;
  const message = typeof x.message === 'string' ? x.message : '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE'].includes(code)) return 'down';
  if (/connection timeout|Connection terminated/i.test(message) && !code) return 'down';
  if (driver === 'POSTGRES') {
    if (code === '28P01' || code === '28000') return 'auth';
    if (code === '3D000') return 'database';
    if (code === '57014' || /Query read timeout/i.test(message)) return 'timeout';
    if (code === '25006') return 'read-only';
    if (code.startsWith('22')) return 'value';
    if (code.startsWith('42')) return 'statement';
    if (code.startsWith('57P') || code.startsWith('08')) return 'down';
    return 'other';
  }
  if (errno === 1045 || errno === 1044 || code === 'ER_ACCESS_DENIED_ERROR') return 'auth';
  if (errno === 1049) return 'database';
  if (errno === 1969 || errno === 3024 || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'timeout';
  if (errno === 1792) return 'read-only';
  if ([1064, 1054, 1146, 1052, 1060, 1142, 1143, 1305].includes(errno)) return 'statement';
  if ([1292, 1366, 1411].includes(errno)) return 'value';
  if (code === 'PROTOCOL_CONNECTION_LOST') return 'down';
  return 'other';
}

function cohortError(e: unknown, conn: CohortConnection, detail: boolean): AppError {
  if (e instanceof AppError) return e;
  const where = `${conn.host}:${conn.port}`;
  const dbMessage = detail && e instanceof Error ? ` (the database said: ${e.message.slice(0, 300)})` : '';
  switch (failureOf(e, conn.driver)) {
    case 'down':
      return new AppError('UNAVAILABLE', `The database at ${where} did not answer (down, or not reachable from Tributary). Nothing was stored; try again later.`);
    case 'auth':
      return new AppError('CONFLICT', `The database at ${where} refused the source's user name or password. An admin must correct the source.`);
    case 'database':
      return new AppError('CONFLICT', `The database "${conn.database}" does not exist at ${where}, or the source's user may not use it.`);
    case 'timeout':
      return new AppError('UNAVAILABLE', `The statement took longer than the source's limit of ${conn.timeoutSeconds} s and was stopped. Narrow the parameters, or ask an admin to raise the limit.`);
    case 'read-only':
      return new AppError('VALIDATION', `The statement tried to change the database, which a cohort source may never do: it runs in a read-only transaction and was stopped${dbMessage}.`);
    case 'statement':
      return new AppError('VALIDATION', `The database could not run the source's statement${dbMessage || ': an admin must check it (Test)'}.`);
    case 'value':
      return new AppError('VALIDATION', `The database refused a parameter value for its type${dbMessage}. Check the values entered.`);
    default:
      return new AppError('UNAVAILABLE', `The database query failed${dbMessage || ' (an admin can see more with Test)'}.`);
  }
}
