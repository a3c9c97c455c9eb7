/**
 * Backup and restore, run as an operator would (the CLI, child processes) on an installation of
 * the test's own (a scratch database and storage root, so other test files' rows cannot get in the
 * way): a pool with studies is backed up; restored into another scratch database and an empty
 * folder, it serves the same studies with the same bytes (read through the app's own code). A file
 * the database names but the disk lacks is reported (exit 3) while the rest is saved; a backup with
 * one changed byte is refused before anything is written; a non-empty target is refused. Staging
 * originals are not backed up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, dropDatabase, migrate, TEST_DATABASE, testDatabaseUrl } from '../../helpers/database';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'tributary.mjs');
const SOURCE_DB = `${TEST_DATABASE}_backup_src`;
const TARGET_DB = `${TEST_DATABASE}_restore`;

let work: string;
let source: Record<string, string>;
let poolId: string;
let poolPaths: string[];

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function script(name: string, args: string[], env: Record<string, string>) {
  const r = run(['--import', 'tsx', path.join(ROOT, 'tests', 'helpers', 'scripts', name), ...args], env);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
}

async function freshDatabase(name: string) {
  await dropDatabase(name);
  await adminQuery(`CREATE DATABASE "${name}"`);
}

function readPool(env: Record<string, string>) {
  return script('read-pool.ts', [poolId], env) as { total: number; studies: { uid: string; instances: number }[]; files: Record<string, string> };
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-backup-'));
  await freshDatabase(SOURCE_DB);
  migrate(testDatabaseUrl(SOURCE_DB));
  source = { DATABASE_URL: testDatabaseUrl(SOURCE_DB), STORAGE_ROOT: path.join(work, 'source-storage') };
  ({ poolId, paths: poolPaths } = script('seed-pool.ts', ['4242', '3'], source));
  // An original in staging: it holds PHI and must not end up in a backup.
  const staged = path.join(source.STORAGE_ROOT, 'staging', 'some-receiving-pool', '1.2.3', '1.2.3.4.dcm');
  await fs.mkdir(path.dirname(staged), { recursive: true });
  await fs.writeFile(staged, 'an original');
}, 180_000);

afterAll(async () => {
  await dropDatabase(SOURCE_DB);
  await dropDatabase(TARGET_DB);
  await fs.rm(work, { recursive: true, force: true });
});

describe('backup and restore', () => {
  it('restores into a scratch database and folder a pool that serves the same studies with the same bytes', { timeout: 180_000 }, async () => {
    const before = readPool(source);
    expect(before.total).toBeGreaterThan(0);
    expect(Object.keys(before.files)).toHaveLength(poolPaths.length);

    const out = path.join(work, 'backup');
    const b = run([BIN, 'backup', 'create', '--out', out], source);
    expect(b.err).toBe('');
    expect(b.code).toBe(0);
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.missing).toEqual([]);
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([...poolPaths].sort());
    expect(manifest.counts.instances).toBe(poolPaths.length);
    expect(await fs.readdir(path.join(out, 'storage'))).not.toContain('staging');

    await freshDatabase(TARGET_DB);
    const target = { DATABASE_URL: testDatabaseUrl(TARGET_DB), STORAGE_ROOT: path.join(work, 'restored-storage') };
    const r = run([BIN, 'backup', 'restore', '--from', out], target);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);

    expect(readPool(target)).toEqual(before);

    // Into a database that is no longer empty: refused.
    const again = run([BIN, 'backup', 'restore', '--from', out], { ...target, STORAGE_ROOT: path.join(work, 'other') });
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/not empty/);
  });

  it('saves the rest and reports a file the database names but the disk lacks (exit 3)', { timeout: 180_000 }, async () => {
    const other = script('seed-pool.ts', ['99', '1'], source) as { poolId: string; paths: string[] };
    const [lost, kept] = other.paths;
    await fs.rm(path.join(source.STORAGE_ROOT, lost));
    const out = path.join(work, 'backup-with-loss');
    const b = run([BIN, 'backup', 'create', '--out', out], source);
    expect(b.code).toBe(3);
    expect(b.err).toMatch(/warning: 1 file\(s\) named by the database were not on disk/);
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.missing).toEqual([lost]);
    expect(manifest.files.map((f: { path: string }) => f.path)).toContain(kept);
  });

  it('refuses a backup with one changed byte before writing anything', { timeout: 180_000 }, async () => {
    const out = path.join(work, 'backup');
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
    const victim = path.join(out, 'storage', manifest.files[0].path);
    const bytes = await fs.readFile(victim);
    bytes[bytes.length - 1] ^= 0xff;
    await fs.writeFile(victim, bytes);

    await freshDatabase(TARGET_DB);
    const target = path.join(work, 'damaged-target');
    const r = run([BIN, 'backup', 'restore', '--from', out], { DATABASE_URL: testDatabaseUrl(TARGET_DB), STORAGE_ROOT: target });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/damaged/);
    const c = new pg.Client({ connectionString: testDatabaseUrl(TARGET_DB) });
    await c.connect();
    const tables = await c.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
    await c.end();
    expect(tables.rows[0].n).toBe(0);
    expect(await fs.readdir(target).catch(() => [])).toEqual([]);
  });
});
