/**
 * A fake RIS for database cohort source tests: a scratch database on this machine's PostgreSQL or
 * MariaDB with an `exams` table, an `access_log` table, a function that writes to it (to prove the
 * read-only transaction), and its own login that owns the database (so only the transaction, not
 * missing privileges, stops a write). Dropped with `drop()`.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { adminQuery } from './database';
import { suffix } from './fixtures';

export interface Exam {
  mrn: string;
  accession: string | null;
  studyUid: string | null;
  modality: string | null;
  examDate: string;
  icd10: string;
}

export interface FakeRis {
  driver: 'POSTGRES' | 'MYSQL';
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** Rows written by the side-effect function (must stay 0). */
  accessLogCount(): Promise<number>;
  drop(): Promise<void>;
}

/** The MariaDB (or MySQL) server the tests may create databases and users on: TEST_MARIADB_URL, default root without a password on 127.0.0.1. */
const mariaUrl = new URL(process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306');
export const MARIADB = { host: mariaUrl.hostname, port: Number(mariaUrl.port || 3306), user: decodeURIComponent(mariaUrl.username), password: decodeURIComponent(mariaUrl.password) };

export async function makePostgresRis(exams: Exam[], password: string): Promise<FakeRis> {
  const s = suffix().toLowerCase();
  const database = `ris_${s}`;
  const user = `ris_${s}`;
  await adminQuery(`CREATE ROLE "${user}" LOGIN PASSWORD '${password.replace(/'/g, "''")}'`, `CREATE DATABASE "${database}" OWNER "${user}"`);
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, database, user });
  await c.connect();
  try {
    await c.query(`CREATE TABLE exams (mrn text NOT NULL, accession text, study_uid text, modality text, exam_date date NOT NULL, icd10 text NOT NULL)`);
    await c.query(`CREATE TABLE access_log (n int)`);
    await c.query(`CREATE FUNCTION audit_read() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO access_log VALUES (1) RETURNING 1 $$`);
    for (const e of exams)
      await c.query('INSERT INTO exams VALUES ($1, $2, $3, $4, $5, $6)', [e.mrn, e.accession, e.studyUid, e.modality, e.examDate, e.icd10]);
  } finally {
    await c.end();
  }
  return {
    driver: 'POSTGRES',
    host: '127.0.0.1',
    port: 5432,
    database,
    user,
    password,
    async accessLogCount() {
      const x = new pg.Client({ host: '127.0.0.1', port: 5432, database, user });
      await x.connect();
      try {
        return Number((await x.query('SELECT count(*) AS n FROM access_log')).rows[0].n);
      } finally {
        await x.end();
      }
    },
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`, `DROP ROLE IF EXISTS "${user}"`),
  };
}

async function root() {
  return mysql.createConnection({ ...MARIADB, multipleStatements: false });
}

export async function makeMariaRis(exams: Exam[], password: string): Promise<FakeRis> {
  const s = suffix().toLowerCase();
  const database = `ris_${s}`;
  const user = `ris_${s}`;
  const c = await root();
  try {
    await c.query(`CREATE DATABASE \`${database}\``);
    await c.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
    await c.query(`GRANT ALL ON \`${database}\`.* TO ?@'%'`, [user]);
    await c.query(`USE \`${database}\``);
    await c.query(`CREATE TABLE exams (mrn VARCHAR(64) NOT NULL, accession VARCHAR(16), study_uid VARCHAR(64), modality VARCHAR(16), exam_date DATE NOT NULL, icd10 VARCHAR(16) NOT NULL)`);
    await c.query(`CREATE TABLE access_log (n INT)`);
    await c.query(`CREATE FUNCTION audit_read() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO access_log VALUES (1); RETURN 1; END`);
    for (const e of exams) await c.query('INSERT INTO exams VALUES (?, ?, ?, ?, ?, ?)', [e.mrn, e.accession, e.studyUid, e.modality, e.examDate, e.icd10]);
  } finally {
    await c.end();
  }
  return {
    driver: 'MYSQL',
    host: MARIADB.host,
    port: MARIADB.port,
    database,
    user,
    password,
    async accessLogCount() {
      const x = await root();
      try {
        const [rows] = await x.query<mysql.RowDataPacket[]>(`SELECT count(*) AS n FROM \`${database}\`.access_log`);
        return Number(rows[0].n);
      } finally {
        await x.end();
      }
    },
    async drop() {
      const x = await root();
      try {
        await x.query(`DROP DATABASE IF EXISTS \`${database}\``);
        await x.query(`DROP USER IF EXISTS ?@'%'`, [user]);
      } finally {
        await x.end();
      }
    },
  };
}

export const makeRis = (driver: 'POSTGRES' | 'MYSQL', exams: Exam[], password: string) =>
  driver === 'POSTGRES' ? makePostgresRis(exams, password) : makeMariaRis(exams, password);
