import { describe, expect, it } from 'vitest';
import { checkParameterValues, cohortSourceInputSchema } from '@/lib/cohorts/schema';
import { parameterMismatch, scanSql, statementProblems, withoutTrailingSemicolon } from '@/lib/cohorts/sql';

describe('cohort statement scanner', () => {
  it('turns :names into $n for PostgreSQL (a repeated name keeps its number) and ? for MySQL', () => {
    const sql = "SELECT mrn FROM exams WHERE d >= :from AND d < :to AND (:code IS NULL OR icd = :code)";
    const p = scanSql(sql, 'POSTGRES');
    expect(p.text).toBe('SELECT mrn FROM exams WHERE d >= $1 AND d < $2 AND ($3 IS NULL OR icd = $3)');
    expect(p.order).toEqual(['from', 'to', 'code']);
    const m = scanSql(sql, 'MYSQL');
    expect(m.text).toBe('SELECT mrn FROM exams WHERE d >= ? AND d < ? AND (? IS NULL OR icd = ?)');
    expect(m.order).toEqual(['from', 'to', 'code', 'code']);
  });

  it('leaves casts, literals, quoted identifiers and comments alone', () => {
    const sql = `SELECT ':notaparam' AS a, "col:x", d::date, $$ :no $$ -- :nope\n/* :none */ FROM t WHERE x = :yes`;
    const p = scanSql(sql, 'POSTGRES');
    expect(p.uses).toEqual(['yes']);
    expect(p.text).toContain('d::date');
    expect(p.text).toContain("':notaparam'");
    const m = scanSql("SELECT 'it\\'s :no' AS a, `c:d` FROM t # :nope\nWHERE y = :yes", 'MYSQL');
    expect(m.uses).toEqual(['yes']);
  });

  it('accepts a SELECT or WITH … SELECT, refuses anything that writes, locks or chains statements', () => {
    expect(statementProblems('SELECT mrn, update_date FROM exams WHERE note = \'DELETE me\';', 'POSTGRES')).toEqual([]);
    expect(statementProblems('WITH x AS (SELECT 1 AS mrn) SELECT * FROM x', 'POSTGRES')).toEqual([]);
    expect(statementProblems('UPDATE exams SET mrn = 1', 'POSTGRES').join()).toMatch(/must be a SELECT/);
    expect(statementProblems('DELETE FROM exams', 'MYSQL').join()).toMatch(/must be a SELECT/);
    expect(statementProblems('SELECT 1; DROP TABLE exams', 'POSTGRES').join()).toMatch(/single statement/);
    expect(statementProblems('SELECT * INTO copy FROM exams', 'POSTGRES').join()).toMatch(/INTO/);
    expect(statementProblems('SELECT * FROM exams FOR UPDATE', 'MYSQL').join()).toMatch(/UPDATE/);
    expect(statementProblems("SELECT * FROM exams INTO OUTFILE '/tmp/x'", 'MYSQL').join()).toMatch(/INTO/);
    expect(statementProblems('WITH d AS (DELETE FROM exams RETURNING *) SELECT * FROM d', 'POSTGRES').join()).toMatch(/DELETE/);
    expect(statementProblems('  ', 'POSTGRES')).toEqual(['Write a SELECT statement.']);
  });

  it('drops only a final semicolon, keeping a comment after it', () => {
    expect(withoutTrailingSemicolon('SELECT 1 AS a; -- done', 'POSTGRES')).toBe('SELECT 1 AS a -- done');
    expect(withoutTrailingSemicolon("SELECT ';' AS a", 'POSTGRES')).toBe("SELECT ';' AS a");
  });

  it('finds parameters used but not declared, and declared but unused', () => {
    expect(parameterMismatch('SELECT 1 WHERE a = :from', 'POSTGRES', ['from', 'to'])).toEqual({ undeclared: [], unused: ['to'] });
    expect(parameterMismatch('SELECT 1 WHERE a = :x', 'POSTGRES', [])).toEqual({ undeclared: ['x'], unused: [] });
  });
});

describe('cohort source schema', () => {
  const base = {
    name: 'RIS', driver: 'POSTGRES', host: 'ris.hospital.local', port: 5432, database: 'ris', user: 'reader',
    sql: 'SELECT mrn FROM exams WHERE d >= :from', parameters: [{ name: 'from', label: 'From', type: 'date' }],
    mapping: { patientId: 'mrn' }, connectorId: 'c1',
  };
  it('requires the PatientID mapping and declared parameters', () => {
    expect(cohortSourceInputSchema.safeParse(base).success).toBe(true);
    const noPid = cohortSourceInputSchema.safeParse({ ...base, mapping: { patientId: '' } });
    expect(noPid.success).toBe(false);
    expect(JSON.stringify(noPid.error?.issues)).toMatch(/PatientID/);
    const undeclared = cohortSourceInputSchema.safeParse({ ...base, parameters: [] });
    expect(JSON.stringify(undeclared.error?.issues)).toMatch(/Declare the parameters/);
    const update = cohortSourceInputSchema.safeParse({ ...base, sql: 'UPDATE exams SET d = now()' });
    expect(update.success).toBe(false);
  });

  it('checks values against the declared types and names the parameter, never the value', () => {
    const declared = [
      { name: 'from', label: 'From', type: 'date' as const, required: true },
      { name: 'n', label: 'Count', type: 'number' as const, required: false },
      { name: 'code', label: 'Code', type: 'text' as const, required: false },
    ];
    expect(checkParameterValues(declared, { from: '2024-02-30' })).toEqual({ ok: false, fields: { from: ['From must be a date as YYYY-MM-DD'] } });
    expect(checkParameterValues(declared, { from: '2024-01-05', n: 'ten' })).toMatchObject({ ok: false, fields: { n: ['Count must be a number'] } });
    expect(checkParameterValues(declared, { from: '20240105', n: '3', code: "C34'; DROP TABLE x; --" })).toEqual({
      ok: true,
      values: { from: '2024-01-05', n: 3, code: "C34'; DROP TABLE x; --" },
    });
    expect(checkParameterValues(declared, { from: '2024-01-05', other: 'x' })).toMatchObject({ ok: false, fields: { other: ['other is not a parameter of this source'] } });
    expect(checkParameterValues(declared, {})).toMatchObject({ ok: false, fields: { from: ['From is required'] } });
  });
});
