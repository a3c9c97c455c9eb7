#!/usr/bin/env node
// Applies prisma/migrations to DATABASE_URL with `prisma migrate deploy`, offline.
// Prisma 6.19's CLI would otherwise try to download native engines; pointing these two
// variables at a placeholder file stops that (the WASM engines do the work).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const placeholder = path.join(root, 'var', 'prisma-no-engine');
if (!existsSync(placeholder)) {
  mkdirSync(path.dirname(placeholder), { recursive: true });
  writeFileSync(placeholder, '');
}
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: placeholder, PRISMA_QUERY_ENGINE_LIBRARY: placeholder, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
const args = process.argv.slice(2);
const cmd = args[0] === 'generate' ? ['generate'] : ['migrate', 'deploy'];
if (cmd[0] === 'generate') env.DATABASE_URL ??= 'postgresql://unused@127.0.0.1:5432/unused';
if (!env.DATABASE_URL) {
  console.error('DATABASE_URL is not set');
  process.exit(2);
}
const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'prisma', 'build', 'index.js'), ...cmd], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (r.status !== 0) {
  process.stderr.write(r.stdout + r.stderr);
  process.exit(r.status ?? 1);
}
