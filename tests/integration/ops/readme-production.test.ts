/**
 * The README's production path, run verbatim: the block between `production-steps:start` and
 * `:end` is extracted from README.md and run with bash, with only its documented defaults
 * changed (a scratch role and database, folders under a temporary directory, free ports, a test
 * Redis prefix). The admin's password goes in on stdin, as when it is piped. Then: the health
 * answer says PostgreSQL, Redis, the worker and the SCP are up; the admin exists with a hashed
 * password; the configuration file is readable by its owner only; Ctrl-C (SIGINT) stops both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '@/lib/auth/password';
import { adminQuery, dropDatabase } from '../../helpers/database';
import { freePort } from '../../helpers/orthanc';
import { waitFor } from '../../helpers/fixtures';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const tag = `trib_readme_${randomBytes(4).toString('hex')}`;
let work = '';
let child: ChildProcess | null = null;

export function productionSteps(readme: string): string {
  const m = /<!-- production-steps:start -->\s*```sh\n([\s\S]*?)```\s*<!-- production-steps:end -->/.exec(readme);
  if (!m) throw new Error('README.md has no production-steps block');
  return m[1];
}

afterAll(async () => {
  try {
    if (child) process.kill(-child.pid!, 'SIGKILL');
  } catch {
    /* the group is gone already */
  }
  await dropDatabase(tag);
  await adminQuery(`DROP ROLE IF EXISTS "${tag}"`);
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('README: running in production', () => {
  it('takes an empty database to a running, healthy install with its first administrator', { timeout: 600_000 }, async () => {
    const steps = productionSteps(await fs.readFile(path.join(ROOT, 'README.md'), 'utf8'));
    expect(steps).toContain('npx tributary migrate');
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-readme-'));
    const script = path.join(work, 'steps.sh');
    await fs.writeFile(script, `set -euo pipefail\n${steps}`);
    const [port, dicomPort] = [await freePort(), await freePort()];
    const envFile = path.join(work, 'etc', 'tributary.env');
    const prefix = `${process.env.REDIS_PREFIX ?? 'tributary-test'}-readme`;
    const email = `${tag}@hospital.example`;
    const password = 'a long admin password from stdin';
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TRIBUTARY_HOME: ROOT,
      ENV_FILE: envFile,
      STORAGE_ROOT: path.join(work, 'storage'),
      DB_NAME: tag,
      DB_USER: tag,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      DICOM_ADVERTISED_HOST: '127.0.0.1',
      DICOM_PORT: String(dicomPort),
      REDIS_PREFIX: prefix,
      ADMIN_EMAIL: email,
      ADMIN_NAME: 'README Admin',
      LOG_LEVEL: 'warn',
    };
    let out = '';
    child = spawn('bash', [script], { cwd: work, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin!.end(password + '\n');
    const exited = new Promise<string>((r) => child!.once('exit', (code, signal) => r(signal ?? `exit ${code}`)));

    const health = await Promise.race([
      waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${port}/api/v1/health`).catch(() => null);
          if (!r) return null;
          const j = (await r.json()) as Record<string, string>;
          return j.worker === 'ok' && j.scp === 'ok' ? { ...j, http: r.status } : null;
        },
        { timeoutMs: 540_000, intervalMs: 1_000, what: 'the install to answer healthy' },
      ),
      exited.then((code) => {
        throw new Error(`the README steps stopped (${code}) before the app was healthy:\n${out.slice(-3000)}`);
      }),
    ]);
    expect(health).toEqual({ http: 200, status: 'ok', postgres: 'ok', redis: 'ok', worker: 'ok', scp: 'ok' });

    const cfg = await fs.readFile(envFile, 'utf8');
    expect(cfg).toMatch(/^TRIBUTARY_MODE=production$/m);
    expect(cfg).toMatch(/^TRIBUTARY_SECRET=[0-9a-f]{64}$/m);
    expect(cfg).toMatch(/^SECRETS_KEY=[0-9a-f]{64}$/m);
    expect((await fs.stat(envFile)).mode & 0o077).toBe(0);
    const dbUrl = /^DATABASE_URL=(.+)$/m.exec(cfg)![1];
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    const users = await c.query<{ email: string; role: string; passwordHash: string }>('SELECT email, role, "passwordHash" FROM "User"');
    await c.end();
    expect(users.rows).toHaveLength(1);
    expect(users.rows[0]).toMatchObject({ email, role: 'ADMIN' });
    expect(users.rows[0].passwordHash).not.toContain(password);
    expect(await verifyPassword(password, users.rows[0].passwordHash)).toBe(true);

    // Ctrl-C (to the terminal's process group): web and worker stop, the script ends.
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toMatch(/^(exit 0|exit 130|SIGINT)$/);
    expect(await fetch(`http://127.0.0.1:${port}/api/v1/health`).catch(() => 'refused')).toBe('refused');
    // Every process of the group ends (the worker may still be closing its queues for a moment
    // after the script's shell has returned): none is left behind.
    const groupGone = () => {
      try {
        process.kill(-child!.pid!, 0);
        return false;
      } catch {
        return true;
      }
    };
    await waitFor(async () => groupGone(), { timeoutMs: 20_000, intervalMs: 200, what: 'every process of the README steps to end' });
    expect(groupGone()).toBe(true);
  });
});
