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

export async function resetTestDatabase(name = TEST_DATABASE): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
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
