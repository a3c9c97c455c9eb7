import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';

export const TEST_DATABASE = process.env.TEST_DATABASE_NAME ?? 'tributary_test';

/** Admin connection used only to drop/create the test database. */
function adminUrl(): string {
  return process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export function testDatabaseUrl(name = TEST_DATABASE): string {
  const base = new URL(process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  base.pathname = '/' + name;
  return base.toString();
}

/** Runs statements on the admin connection (scratch databases and roles), one after another. */
export async function adminQuery(...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(name: string): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

export async function resetTestDatabase(name = TEST_DATABASE): Promise<string> {
  await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, `CREATE DATABASE "${name}"`);
  const url = testDatabaseUrl(name);
  migrate(url);
  return url;
}

export function migrate(url: string) {
  const root = path.resolve(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'migrate.mjs')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
