/**
 * The admin's SELECT, read without a database: named parameters (`:from`) found outside string
 * literals, quoted identifiers and comments, turned into the driver's placeholders, and the
 * save-time checks (one SELECT or WITH … SELECT, no writing keyword). Pure and zod-free, so the
 * admin form shows the same verdict as the API.
 *
 * These checks are the first of three lines: the statement also runs inside a read-only
 * transaction (lib/cohorts/execute.ts), and the DBA gives us a read-only account
 * (docs/cohort-sources.md). A function with side effects called from a SELECT passes these
 * checks and is stopped by the read-only transaction.
 */
export type CohortDriverName = 'POSTGRES' | 'MYSQL';

export interface ScannedSql {
  /** The statement with literals, quoted identifiers and comments blanked (for keyword checks). */
  code: string;
  /** Parameter names in order of appearance (repeats included). */
  uses: string[];
  /** The statement with each `:name` replaced by the driver's placeholder. */
  text: string;
  /** For `text`: the parameter name bound to each placeholder position (MySQL's `?` repeat; PostgreSQL's `$n` do not). */
  order: string[];
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Walks the statement once; `driver` decides the quoting rules and placeholders. */
export function scanSql(sql: string, driver: CohortDriverName): ScannedSql {
  let code = '';
  let text = '';
  const uses: string[] = [];
  const order: string[] = [];
  const pgIndex = new Map<string, number>();
  let i = 0;
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const copy = (end: number) => {
    const part = sql.slice(i, end);
    code += blank(part);
    text += part;
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      copy(end < 0 ? sql.length : end);
    } else if (c === '#' && driver === 'MYSQL') {
      const end = sql.indexOf('\n', i);
      copy(end < 0 ? sql.length : end);
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      copy(end < 0 ? sql.length : end + 2);
    } else if (c === "'" || c === '"' || (c === '`' && driver === 'MYSQL')) {
      // '' (or "" / ``) doubles the quote; MySQL also escapes with a backslash.
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '\\' && driver === 'MYSQL' && c !== '`') j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      copy(Math.min(j + 1, sql.length));
    } else if (c === '$' && driver === 'POSTGRES' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))![0];
      const end = sql.indexOf(tag, i + tag.length);
      copy(end < 0 ? sql.length : end + tag.length);
    } else if (c === ':' && next === ':') {
      // PostgreSQL's cast operator.
      code += '::';
      text += '::';
      i += 2;
    } else if (c === ':' && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(sql);
      if (!m) {
        code += c;
        text += c;
        i++;
        continue;
      }
      const name = m[0];
      uses.push(name);
      if (driver === 'POSTGRES') {
        if (!pgIndex.has(name)) {
          pgIndex.set(name, pgIndex.size + 1);
          order.push(name);
        }
        text += `$${pgIndex.get(name)}`;
      } else {
        order.push(name);
        text += '?';
      }
      // Keep the keyword checks' view the same length and free of the name.
      code += ' '.repeat(name.length + 1);
      i += name.length + 1;
    } else {
      code += c;
      text += c;
      i++;
    }
  }
  return { code, uses, text, order };
}

/**
 * Words that write, lock or run other code. Matched as whole words in the code outside literals
 * and comments: a column named `update_date` or a string 'DELETE' is fine.
 */
const FORBIDDEN = /\b(INSERT|UPDATE|DELETE|MERGE|UPSERT|TRUNCATE|DROP|ALTER|CREATE|GRANT|REVOKE|CALL|EXEC|EXECUTE|COPY|INTO|LOAD|LOCK|HANDLER|OUTFILE|DUMPFILE)\b/i;

/** Problems that refuse the statement at save time (empty when it may be saved). */
export function statementProblems(sql: string, driver: CohortDriverName): string[] {
  const problems: string[] = [];
  const { code } = scanSql(sql, driver);
  const body = code.trim().replace(/;\s*$/, '');
  if (!body) return ['Write a SELECT statement.'];
  if (body.includes(';')) problems.push('Write a single statement: no ";" between statements.');
  const first = /^\(*\s*([A-Za-z]+)/.exec(body)?.[1]?.toUpperCase();
  if (first !== 'SELECT' && first !== 'WITH') problems.push('The statement must be a SELECT (or WITH … SELECT).');
  const bad = FORBIDDEN.exec(body);
  if (bad) problems.push(`The statement must only read: "${bad[1].toUpperCase()}" is not allowed.`);
  return problems;
}

/** The statement without its final ";" (comments after it kept): it is wrapped as a subquery to run. */
export function withoutTrailingSemicolon(sql: string, driver: CohortDriverName): string {
  const { code } = scanSql(sql, driver); // same length as sql: literals and names are blanked, not removed
  const end = code.trimEnd();
  return end.endsWith(';') ? sql.slice(0, end.length - 1) + sql.slice(end.length) : sql;
}

/** Declared parameter names that the statement does not use, and used ones not declared. */
export function parameterMismatch(sql: string, driver: CohortDriverName, declared: string[]): { undeclared: string[]; unused: string[] } {
  const used = new Set(scanSql(sql, driver).uses);
  return { undeclared: [...used].filter((u) => !declared.includes(u)), unused: declared.filter((d) => !used.has(d)) };
}
