/**
 * Restores a backup made by createBackup into an EMPTY database and an EMPTY storage root: checks
 * every file against the manifest first (a damaged backup is refused before anything is written),
 * restores the dump with pg_restore, copies the files, and checks that every instance row of the
 * restored database has its file with the recorded size (except the files the backup itself
 * reported missing).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { pgConnection, run, sha256File, type BackupManifest } from './create-backup';

export interface RestoreResult {
  instances: number;
  quarantined: number;
  files: number;
}

export async function restoreBackup(opts: { fromDir: string; databaseUrl: string; storageRoot: string; pgRestore?: string }): Promise<RestoreResult> {
  const from = path.resolve(opts.fromDir);
  const manifest = JSON.parse(await fs.readFile(path.join(from, 'manifest.json'), 'utf8')) as BackupManifest;
  if (manifest.format !== 'tributary-backup-1') throw new Error('not a Tributary backup (manifest.json has another format)');

  const dump = path.join(from, manifest.database.file);
  if ((await sha256File(dump)) !== manifest.database.sha256) throw new Error('database.dump does not match its hash in manifest.json: the backup is damaged');
  for (const f of manifest.files) {
    const src = path.join(from, 'storage', f.path);
    const ok = await sha256File(src).then(
      (h) => h === f.sha256,
      () => false,
    );
    if (!ok) throw new Error(`${f.path} is missing or differs from its hash in manifest.json: the backup is damaged`);
  }

  const root = path.resolve(opts.storageRoot);
  await fs.mkdir(root, { recursive: true });
  if ((await fs.readdir(root)).length) throw new Error(`${root} is not empty: restore into an empty storage root`);
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    const tables = await client.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' LIMIT 1`);
    if (tables.rowCount) throw new Error('the target database is not empty: restore into a new, empty database');

    const conn = pgConnection(opts.databaseUrl);
    await run(opts.pgRestore ?? 'pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', conn.dbArg, dump], 'pg_restore', conn.env);
    for (const f of manifest.files) {
      const dst = path.join(root, f.path);
      if (!dst.startsWith(root + path.sep)) throw new Error(`manifest path escapes the storage root: ${f.path}`);
      await fs.mkdir(path.dirname(dst), { recursive: true });
      await fs.copyFile(path.join(from, 'storage', f.path), dst);
    }
    const rows = await client.query<{ path: string; size: number }>(
      `SELECT path, size FROM "Instance" UNION ALL SELECT path, size FROM "QuarantinedInstance" WHERE decision IS NULL`,
    );
    const missing = new Set(manifest.missing ?? []);
    for (const r of rows.rows) {
      if (missing.has(r.path)) continue;
      const st = await fs.stat(path.join(root, r.path)).catch(() => null);
      if (!st || st.size !== r.size) throw new Error(`after the restore, ${r.path} is missing or has the wrong size`);
    }
    return { instances: manifest.counts.instances, quarantined: manifest.counts.quarantined, files: manifest.files.length };
  } finally {
    await client.end();
  }
}
