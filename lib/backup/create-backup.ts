/**
 * A consistent backup of one installation: the PostgreSQL database (pg_dump, custom format) and
 * exactly the files its rows name (pool instances and quarantined instances), with a manifest of
 * sizes and SHA-256 hashes.
 *
 * Why it cannot lose a committed instance: the dump runs in a snapshot exported by a REPEATABLE
 * READ transaction, and the list of files to copy is read in that same snapshot. An instance's
 * file is renamed into place before its index row commits, and a committed file is never
 * rewritten, so every row in the dump has its file on disk when the copy starts. Files written
 * after the snapshot are not in the dump and not copied. A file the snapshot names but the disk
 * does not have (its pool was deleted during the backup, or it was lost before) does not stop the
 * backup: it is listed under `missing` in the manifest and reported, so the operator learns of it
 * and the other files are still saved.
 *
 * Not copied on purpose: staging (originals with PHI, short-lived: a retrieval that was moving at
 * backup time resumes from the PACS after a restore), tmp/ (partial writes) and thumbs/ (rendered
 * again on demand). Redis holds nothing the backup needs (docs/operations.md).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { env } from '../env';
import { absolute } from '../storage';

export interface BackupFile {
  path: string;
  size: number;
  sha256: string;
}

export interface BackupManifest {
  format: 'tributary-backup-1';
  createdAt: string;
  /** Newest applied migration: a restore needs code at least this new. */
  migration: string | null;
  database: { file: 'database.dump'; sha256: string; size: number };
  files: BackupFile[];
  /** Paths the database names whose file was not on disk at backup time. */
  missing: string[];
  counts: { instances: number; quarantined: number; bytes: number };
}

/**
 * pg_dump/pg_restore connection arguments with the password moved to PGPASSWORD, so it does not
 * show in the process list.
 */
export function pgConnection(url: string): { dbArg: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { dbArg: `--dbname=${u.toString()}`, env: password ? { ...process.env, PGPASSWORD: password } : { ...process.env } };
}

export function run(cmd: string, args: string[], what: string, childEnv: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4_000) err += d.toString();
    });
    child.once('error', (e) => reject(new Error(`${what}: ${e.message}`)));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${what} failed (exit ${code}): ${err.trim()}`))));
  });
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function createBackup(opts: { outDir: string; databaseUrl?: string; pgDump?: string }): Promise<BackupManifest> {
  const url = opts.databaseUrl ?? env().DATABASE_URL;
  const out = path.resolve(opts.outDir);
  await fs.mkdir(out, { recursive: true });
  if ((await fs.readdir(out)).length) throw new Error(`${out} is not empty: back up into a new folder`);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0].s;
    const dumpFile = path.join(out, 'database.dump');
    const conn = pgConnection(url);
    const dumping = run(opts.pgDump ?? 'pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${snapshot}`, `--file=${dumpFile}`, conn.dbArg], 'pg_dump', conn.env);
    // One connection runs one statement at a time; pg_dump works in parallel on its own.
    const instances = await client.query<{ path: string }>('SELECT path FROM "Instance" ORDER BY path');
    const quarantined = await client.query<{ path: string }>('SELECT path FROM "QuarantinedInstance" WHERE decision IS NULL ORDER BY path');
    const migration = await client.query<{ name: string }>(
      'SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name DESC LIMIT 1',
    );
    // The snapshot must stay open until pg_dump has attached to it and finished.
    await dumping;
    await client.query('COMMIT');

    const files: BackupFile[] = [];
    const missing: string[] = [];
    let bytes = 0;
    for (const rel of [...instances.rows, ...quarantined.rows].map((r) => r.path)) {
      const src = absolute(rel);
      const dst = path.join(out, 'storage', rel);
      await fs.mkdir(path.dirname(dst), { recursive: true });
      try {
        await fs.copyFile(src, dst);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        missing.push(rel);
        continue;
      }
      const stat = await fs.stat(dst);
      files.push({ path: rel, size: stat.size, sha256: await sha256File(dst) });
      bytes += stat.size;
    }
    const dumpStat = await fs.stat(dumpFile);
    const manifest: BackupManifest = {
      format: 'tributary-backup-1',
      createdAt: new Date().toISOString(),
      migration: migration.rows[0]?.name ?? null,
      database: { file: 'database.dump', sha256: await sha256File(dumpFile), size: dumpStat.size },
      files,
      missing,
      counts: { instances: instances.rowCount ?? 0, quarantined: quarantined.rowCount ?? 0, bytes },
    };
    await fs.writeFile(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 1));
    return manifest;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}
