/** Shared by `npm run demo` and `npm start`: database preparation and the two app processes. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { supervise } from './supervise';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export function say(msg: string) {
  process.stdout.write(`[tributary] ${msg}\n`);
}

function runNode(args: string[], env: NodeJS.ProcessEnv, what: string) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status})`);
}

export function prismaGenerate(env: NodeJS.ProcessEnv) {
  runNode([path.join(ROOT, 'scripts', 'migrate.mjs'), 'generate'], env, 'prisma generate');
}

export function migrate(env: NodeJS.ProcessEnv) {
  runNode([path.join(ROOT, 'scripts', 'migrate.mjs')], env, 'database migration');
}

/**
 * Demo convenience: on a machine where PostgreSQL trusts local connections (the default on our
 * development machines), create the role and database named in DATABASE_URL if they are missing.
 */
export async function ensureDatabase(url: string, adminUrl = process.env.POSTGRES_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres') {
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    await probe.end();
    return;
  } catch (e) {
    await probe.end().catch(() => undefined);
    const code = (e as { code?: string }).code;
    if (code !== '3D000' && code !== '28000') throw new Error(`Cannot connect to PostgreSQL at DATABASE_URL: ${(e as Error).message}`);
  }
  const u = new URL(url);
  const role = decodeURIComponent(u.username || 'tributary');
  const dbName = decodeURIComponent(u.pathname.slice(1) || 'tributary');
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`Database "${dbName}" or role "${role}" is missing and ${adminUrl} is not reachable to create them: ${(e as Error).message}`);
  }
  try {
    const ident = (s: string) => '"' + s.replaceAll('"', '""') + '"';
    const hasRole = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (!hasRole.rowCount) await admin.query(`CREATE ROLE ${ident(role)} LOGIN CREATEDB${u.password ? ` PASSWORD '${decodeURIComponent(u.password).replaceAll("'", "''")}'` : ''}`);
    const hasDb = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (!hasDb.rowCount) await admin.query(`CREATE DATABASE ${ident(dbName)} OWNER ${ident(role)}`);
    say(`created database ${dbName}`);
  } finally {
    await admin.end();
  }
}

function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'generated' || e.name === 'node_modules') continue;
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The web app needs building when there is no build, or when a source it is built from changed
 * after it (a `git pull` must not leave the demo serving the old pages).
 */
export function needsBuild(): boolean {
  const id = path.join(ROOT, '.next', 'BUILD_ID');
  if (!existsSync(id)) return true;
  const built = statSync(id).mtimeMs;
  const sources = ['app', 'lib', 'components', 'public'].map((d) => newestMtime(path.join(ROOT, d)));
  const files = ['next.config.mjs', 'package-lock.json', 'postcss.config.mjs', 'prisma/schema.prisma'].map((f) => (existsSync(path.join(ROOT, f)) ? statSync(path.join(ROOT, f)).mtimeMs : 0));
  return [...sources, ...files].some((t) => t > built);
}

export function build(env: NodeJS.ProcessEnv) {
  say('building the web app (next build, about a minute the first time)…');
  runNode([path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], env, 'next build');
}

/**
 * Starts `next start` and the worker under the supervisor (scripts/lib/supervise.ts): a crashed
 * child is restarted with backoff while the other keeps serving; SIGINT/SIGTERM stop both.
 */
export function startApp(env: NodeJS.ProcessEnv, opts: { port: number; host?: string; onStop?: () => Promise<void> }): Promise<never> {
  // The web child preloads scripts/peer-address.cjs: it hands route handlers the connection's
  // address (lib/auth/client-address.ts).
  const sup = supervise(
    [
      { name: 'web', command: process.execPath, args: ['-r', path.join(ROOT, 'scripts', 'peer-address.cjs'), path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', '-p', String(opts.port), '-H', opts.host ?? '0.0.0.0'] },
      { name: 'worker', command: process.execPath, args: ['--import', 'tsx', path.join(ROOT, 'workers', 'index.ts')] },
    ],
    { cwd: ROOT, env, log: say },
  );
  let stopping = false;
  return new Promise(() => {
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await sup.stop();
      await opts.onStop?.().catch(() => undefined);
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  });
}
