/**
 * `tributary` CLI: the same lib/ operations as the API, for scripting and administration.
 * Secrets (passwords, tokens) are read from stdin or prompted, never required as arguments
 * (which shells keep in history); a token is printed once.
 */
import { Command, Option } from 'commander';
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { AppError } from '../lib/errors';

async function readSecret(prompt: string, fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const v = await rl.question(prompt);
  rl.close();
  return v;
}

function fail(message: string): never {
  process.stderr.write(`tributary: ${message}\n`);
  process.exit(2);
}

async function withDb<T>(fn: () => Promise<T>): Promise<T> {
  const { db } = await import('../lib/db');
  try {
    return await fn();
  } finally {
    await db.$disconnect();
    const { closeQueues } = await import('../lib/jobs/queues');
    await closeQueues();
    const { redis } = await import('../lib/redis');
    redis().disconnect();
  }
}

function report(e: unknown): never {
  if (e instanceof AppError) {
    const fields = e.fields;
    fail(`${e.message}${fields ? ' (' + Object.entries(fields).map(([k, v]) => `${k}: ${v.join(', ')}`).join('; ') + ')' : ''}`);
  }
  if (e instanceof z.ZodError) fail(e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  fail(e instanceof Error ? e.message : String(e));
}

export function buildProgram(): Command {
  const program = new Command('tributary').description('Tributary research imaging broker').showHelpAfterError();

  const user = program.command('user').description('Manage users');
  user
    .command('create')
    .description('Create a user; the password is read from stdin or prompted')
    .requiredOption('--email <email>')
    .requiredOption('--name <name>')
    .addOption(new Option('--role <role>').choices(['ADMIN', 'COORDINATOR', 'RESEARCHER']).default('RESEARCHER'))
    .option('--password-stdin', 'read the password from stdin')
    .action(async (o) =>
      withDb(async () => {
        const { userInputSchema } = await import('../lib/users/schema');
        const { createUser } = await import('../lib/users/users');
        const password = await readSecret('Password: ', !!o.passwordStdin);
        const input = userInputSchema.parse({ email: o.email, name: o.name, role: o.role, password });
        const u = await createUser(null, input).catch(report);
        process.stdout.write(JSON.stringify(u) + '\n');
      }),
    );
  user
    .command('set-password')
    .description("Change a user's password (read from stdin or prompted)")
    .requiredOption('--email <email>')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (o) =>
      withDb(async () => {
        const { db } = await import('../lib/db');
        const { hashPassword, PASSWORD_MIN_LENGTH } = await import('../lib/auth/password');
        const password = await readSecret('New password: ', !!o.passwordStdin);
        if (password.length < PASSWORD_MIN_LENGTH) fail(`password must be at least ${PASSWORD_MIN_LENGTH} characters`);
        const u = await db.user.findUnique({ where: { email: String(o.email).toLowerCase() } });
        if (!u) fail('no user with this e-mail');
        await db.user.update({ where: { id: u.id }, data: { passwordHash: await hashPassword(password) } });
        process.stdout.write('password changed\n');
      }),
    );
  user
    .command('list')
    .description('List users')
    .action(async () =>
      withDb(async () => {
        const { listUsers } = await import('../lib/users/users');
        for (const u of await listUsers()) process.stdout.write(`${u.id}\t${u.email}\t${u.role}\t${u.active ? 'active' : 'inactive'}\n`);
      }),
    );

  const token = program.command('token').description('Manage API tokens');
  token
    .command('create')
    .description('Create an API token for a user; prints it once')
    .requiredOption('--email <email>', 'the user the token acts as')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--pool <poolId>', 'scope the token to one pool (read-only: DICOMweb, downloads)')
    .option('--expires-in-days <n>', 'expiry in days', (v) => Number(v))
    .action(async (o) =>
      withDb(async () => {
        const { db } = await import('../lib/db');
        const { createApiToken } = await import('../lib/auth/tokens');
        const { audit } = await import('../lib/audit');
        const u = await db.user.findUnique({ where: { email: String(o.email).toLowerCase() } });
        if (!u) fail('no user with this e-mail');
        if (o.pool && !(await db.pool.findUnique({ where: { id: o.pool } }))) fail('no pool with this id');
        const t = await createApiToken({ userId: u.id, name: o.name, poolId: o.pool ?? null, expiresInDays: o.expiresInDays ?? null });
        await audit({ userId: u.id, action: 'token.create', poolId: o.pool ?? null, targetType: 'token', targetId: t.id, detail: { via: 'cli' } });
        process.stdout.write(t.token + '\n');
      }),
    );

  program
    .command('migrate')
    .description('Apply database migrations (prisma migrate deploy)')
    .action(async () => {
      const { execFileSync } = await import('node:child_process');
      const path = await import('node:path');
      const { fileURLToPath } = await import('node:url');
      const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
      execFileSync(process.execPath, [path.join(root, 'scripts', 'migrate.mjs')], { stdio: 'inherit' });
    });

  program
    .command('queues')
    .description('Show queue state (waiting, active, delayed, failed) per queue')
    .action(async () =>
      withDb(async () => {
        const { queueCounts } = await import('../lib/jobs/status');
        const counts = await queueCounts();
        for (const [q, c] of Object.entries(counts)) process.stdout.write(`${q.padEnd(12)} ${Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
      }),
    );

  return program;
}

export async function main(argv: string[]) {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    report(e);
  }
}
