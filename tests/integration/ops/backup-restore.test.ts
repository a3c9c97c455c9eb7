/**
 * Backup and restore, run as an operator would (the CLI, child processes): a pool with studies is
 * backed up; restored into a scratch database and an empty folder, it serves the same studies
 * with the same bytes (read through the app's own code). A backup with one changed byte is refused
 * before anything is written; a non-empty target is refused. Staging originals are not backed up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '@/lib/synthetic';
import { absolute } from '@/lib/storage';
import { TEST_DATABASE, testDatabaseUrl } from '../../helpers/database';
import { makePool } from '../../helpers/fixtures';
import { seedPool } from '../browse/seed';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'tributary.mjs');
const SCRATCH_DB = `${TEST_DATABASE}_restore`;
const adminUrl = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

let work: string;
let poolId: string;
let expected: { studies: number; instances: number };
let seeded: Awaited<ReturnType<typeof seedPool>>;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function adminQuery(sql: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function readPool(env: Record<string, string>) {
  const r = run(['--import', 'tsx', path.join(ROOT, 'tests', 'helpers', 'scripts', 'read-pool.ts'), poolId], env);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as { total: number; studies: { uid: string; instances: number }[]; files: Record<string, string> };
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-backup-'));
  await adminQuery(`DROP DATABASE IF EXISTS "${SCRATCH_DB}" WITH (FORCE)`);
  const pool = await makePool();
  poolId = pool.id;
  const corpus = generateCorpus({ seed: 4242, patients: 3, seriesPerStudy: 2, instancesPerSeries: 2 });
  seeded = await seedPool(poolId, corpus.instances.map((i) => i.buffer));
  expected = { studies: new Set(corpus.instances.map((i) => i.studyInstanceUid)).size, instances: corpus.instances.length };
  // An original in staging: it holds PHI and must not end up in a backup.
  const staged = absolute(path.join('staging', 'some-receiving-pool', '1.2.3', '1.2.3.4.dcm'));
  await fs.mkdir(path.dirname(staged), { recursive: true });
  await fs.writeFile(staged, corpus.instances[0].buffer);
});

afterAll(async () => {
  await adminQuery(`DROP DATABASE IF EXISTS "${SCRATCH_DB}" WITH (FORCE)`);
  await fs.rm(work, { recursive: true, force: true });
});

describe('backup and restore', () => {
  it('restores into a scratch database and folder a pool that serves the same studies with the same bytes', async () => {
    const before = readPool({});
    expect(before.total).toBe(expected.studies);
    expect(Object.keys(before.files)).toHaveLength(expected.instances);

    const out = path.join(work, 'backup');
    const b = run([BIN, 'backup', 'create', '--out', out]);
    // Other test files share this database and may have left rows whose files they removed:
    // those are reported (exit 3), ours must all be there.
    expect([0, 3]).toContain(b.code);
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
    const saved = new Set(manifest.files.map((f: { path: string }) => f.path));
    for (const rel of seeded.paths.values()) expect(saved.has(rel)).toBe(true);
    expect(manifest.missing.filter((m: string) => m.includes(poolId))).toEqual([]);
    expect(manifest.files.some((f: { path: string }) => f.path.startsWith('staging'))).toBe(false);
    expect(manifest.counts.instances).toBeGreaterThanOrEqual(expected.instances);
    expect(await fs.readdir(path.join(out, 'storage'))).not.toContain('staging');

    await adminQuery(`CREATE DATABASE "${SCRATCH_DB}"`);
    const restoredRoot = path.join(work, 'restored-storage');
    const env = { DATABASE_URL: testDatabaseUrl(SCRATCH_DB), STORAGE_ROOT: restoredRoot };
    const r = run([BIN, 'backup', 'restore', '--from', out], env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);

    const after = readPool(env);
    expect(after).toEqual(before);

    // Into a database that is no longer empty: refused.
    const again = run([BIN, 'backup', 'restore', '--from', out], { ...env, STORAGE_ROOT: path.join(work, 'other') });
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/not empty/);
  });

  it('saves the rest and reports a file the database names but the disk lacks (exit 3)', async () => {
    const other = await makePool();
    const corpus = generateCorpus({ seed: 99, patients: 1, seriesPerStudy: 1, instancesPerSeries: 2 });
    const s = await seedPool(other.id, corpus.instances.map((i) => i.buffer));
    const [lost, kept] = [...s.paths.values()];
    await fs.rm(absolute(lost));
    const out = path.join(work, 'backup-with-loss');
    const b = run([BIN, 'backup', 'create', '--out', out]);
    expect(b.code).toBe(3);
    expect(b.err).toMatch(/warning: \d+ file\(s\) named by the database were not on disk/);
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.missing).toContain(lost);
    expect(manifest.files.map((f: { path: string }) => f.path)).toContain(kept);
  });

  it('refuses a backup with one changed byte before writing anything', async () => {
    const out = path.join(work, 'backup');
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
    const victim = path.join(out, 'storage', manifest.files[0].path);
    const bytes = await fs.readFile(victim);
    bytes[bytes.length - 1] ^= 0xff;
    await fs.writeFile(victim, bytes);

    await adminQuery(`DROP DATABASE IF EXISTS "${SCRATCH_DB}" WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE "${SCRATCH_DB}"`);
    const target = path.join(work, 'damaged-target');
    const r = run([BIN, 'backup', 'restore', '--from', out], { DATABASE_URL: testDatabaseUrl(SCRATCH_DB), STORAGE_ROOT: target });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/damaged/);
    const c = new pg.Client({ connectionString: testDatabaseUrl(SCRATCH_DB) });
    await c.connect();
    const tables = await c.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
    await c.end();
    expect(tables.rows[0].n).toBe(0);
    expect(await fs.readdir(target).catch(() => [])).toEqual([]);
  });
});
