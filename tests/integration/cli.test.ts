/** The `tributary` CLI, run as a user would run it (a child process), against the test database. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findActiveToken } from '@/lib/auth/tokens';
import { verifyPassword } from '@/lib/auth/password';
import { db } from '@/lib/db';
import { suffix } from '../helpers/fixtures';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'tributary.mjs');

function cli(args: string[], input = '') {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env: { ...process.env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('tributary CLI', () => {
  it('creates a user with a password from stdin, then a token that authenticates as them', async () => {
    const email = `cli-${suffix().toLowerCase()}@test.local`;
    const created = cli(['user', 'create', '--email', email, '--name', 'CLI User', '--role', 'COORDINATOR', '--password-stdin'], 'a long cli password\n');
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({ email, role: 'COORDINATOR' });
    const user = await db.user.findUniqueOrThrow({ where: { email } });
    expect(await verifyPassword('a long cli password', user.passwordHash)).toBe(true);

    const tok = cli(['token', 'create', '--email', email, '--name', 'scripting']);
    expect(tok.code).toBe(0);
    const token = tok.out.trim();
    expect(token).toMatch(/^trb_/);
    expect((await findActiveToken(token))?.userId).toBe(user.id);
  });

  it('stops with the configuration problem, and the demo hint, when run without a configuration', () => {
    const bare = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['TRIBUTARY_MODE', 'TRIBUTARY_SECRET', 'DATABASE_URL'].includes(k))) as NodeJS.ProcessEnv;
    const r = spawnSync(process.execPath, [BIN, 'user', 'list'], { encoding: 'utf8', env: bare, timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/TRIBUTARY_SECRET/);
    expect(r.stderr).toMatch(/DATABASE_URL/);
    expect(r.stderr).toContain('TRIBUTARY_MODE=demo npx tributary');
  });

  it('refuses a short password and a duplicate e-mail with a clear message and exit code 2', async () => {
    const email = `cli-${suffix().toLowerCase()}@test.local`;
    const short = cli(['user', 'create', '--email', email, '--name', 'X', '--password-stdin'], 'short\n');
    expect(short.code).toBe(2);
    expect(short.err).toMatch(/password.*at least 10/i);
    expect(cli(['user', 'create', '--email', email, '--name', 'X', '--password-stdin'], 'long enough pw\n').code).toBe(0);
    const dup = cli(['user', 'create', '--email', email, '--name', 'X', '--password-stdin'], 'long enough pw\n');
    expect(dup.code).toBe(2);
    expect(dup.err).toMatch(/already exists/);
  });

  it('refuses a token for an unknown user', () => {
    const r = cli(['token', 'create', '--email', 'nobody@nowhere.test', '--name', 'x']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no user/);
  });
});

describe('tributary query import', () => {
  it('reports a sheet in a dry run and imports it as a query', async () => {
    const fs = await import('node:fs/promises');
    const os = await import('node:os');
    const { makeConnector, makePool, makeUser } = await import('../helpers/fixtures');
    const coord = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coord.id, role: 'COORDINATOR' }] });
    const { connector } = await makeConnector({ pacsAe: 'NOWHERE', port: 9 });
    const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'cli-sheet-')), 'rows.csv');
    await fs.writeFile(file, 'PatientID;Modality\n0012345;CT\n12*;MR\n');
    const dry = cli(['query', 'import', '--pool', pool.id, '--connector', connector.id, '--email', coord.email, '--dry-run', file]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(/1 valid row\(s\), 0 duplicate\(s\) merged, 1 invalid/);
    expect(dry.out).toMatch(/row 3: .*wildcard/i);
    expect(await db.query.count({ where: { poolId: pool.id } })).toBe(0);
    const run = cli(['query', 'import', '--pool', pool.id, '--connector', connector.id, '--email', coord.email, file]);
    expect(run.code, run.err).toBe(0);
    const id = /query (\S+)/.exec(run.out)?.[1];
    expect((await db.query.findUniqueOrThrow({ where: { id } })).source).toBe('SPREADSHEET');
    // Someone who does not coordinate the pool cannot import into it.
    const outsider = await makeUser('COORDINATOR');
    const refused = cli(['query', 'import', '--pool', pool.id, '--connector', connector.id, '--email', outsider.email, file]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/not found/i);
  });
});
