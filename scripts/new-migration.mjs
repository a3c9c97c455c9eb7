#!/usr/bin/env node
// `npm run db:migration -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with
// the SQL that turns the schema as of the newest migration (read from git) into the current
// prisma/schema.prisma. Prisma's `migrate dev` cannot run offline with the WASM engine and a
// driver adapter (see docs/development.md), so migrations are diffed, then applied with deploy.
// Prisma's CLI opens DATABASE_URL through the adapter even for a file-to-file diff, so a
// reachable database is needed (any; nothing is changed in it).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const name = (process.argv[2] ?? '').replace(/[^a-z0-9_]/gi, '_');
if (!name) {
  console.error('usage: npm run db:migration -- <name>');
  process.exit(2);
}
const migDir = path.join(root, 'prisma', 'migrations');
const last = readdirSync(migDir).filter((d) => /^\d{14}_/.test(d)).sort().at(-1);
// --first-parent: when the newest migration arrived on main by a merge, the merge commit (whose
// schema also holds the other merged branches' changes) is the base, not the branch's own commit.
// Not the commit of the newest-named migration: branches merge migrations whose names are older
// than ones already on main, so the base is the newest first-parent commit touching any migration
// (the 2026-12-07 exporters migration repeated two merged migrations' statements because of this).
const commit = execFileSync('git', ['log', '-1', '--first-parent', '--format=%H', '--', 'prisma/migrations'], { cwd: root, encoding: 'utf8' }).trim();
if (!commit) {
  console.error(`commit the newest migration (${last}) before diffing the next one`);
  process.exit(2);
}
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tributary-schema-'));
const fromSchema = path.join(tmp, 'schema.prisma');
writeFileSync(fromSchema, execFileSync('git', ['show', `${commit}:prisma/schema.prisma`], { cwd: root }));
const placeholder = path.join(root, 'var', 'prisma-no-engine');
if (!existsSync(placeholder)) {
  mkdirSync(path.dirname(placeholder), { recursive: true });
  writeFileSync(placeholder, '');
}
const r = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'prisma', 'build', 'index.js'), 'migrate', 'diff', '--from-schema-datamodel', fromSchema, '--to-schema-datamodel', path.join(root, 'prisma', 'schema.prisma'), '--script'],
  { cwd: root, encoding: 'utf8', env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres', PRISMA_SCHEMA_ENGINE_BINARY: placeholder, PRISMA_QUERY_ENGINE_LIBRARY: placeholder } },
);
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(r.status ?? 1);
}
if (/^-- This is an empty migration/m.test(r.stdout) || !r.stdout.trim()) {
  console.log('schema unchanged: no migration written');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = path.join(migDir, `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'migration.sql'), r.stdout);
console.log(`wrote ${path.relative(root, dir)}/migration.sql`);
