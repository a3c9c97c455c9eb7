/**
 * `tributary` CLI: the same lib/ operations as the API, for scripting and administration.
 * Secrets (passwords, tokens) are read from stdin or prompted, never required as arguments
 * (which shells keep in history); a token is printed once.
 */
import { Command, Option } from 'commander';
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { ConfigError } from '../lib/env';
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
  if (e instanceof ConfigError)
    fail(`${e.message}\nFor the demo started with \`npm run demo\`, run the CLI in demo mode: TRIBUTARY_MODE=demo npx tributary …`);
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
        await db.user.update({ where: { id: u.id }, data: { passwordHash: await hashPassword(password), sessionVersion: { increment: 1 } } });
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
    .option('--expires-in-days <n>', 'expiry in days, 1 to 365 (default: API_TOKEN_DEFAULT_DAYS, 90)', (v) => Number(v))
    .action(async (o) =>
      withDb(async () => {
        const { db } = await import('../lib/db');
        const { createApiToken } = await import('../lib/auth/tokens');
        const { audit } = await import('../lib/audit');
        const u = await db.user.findUnique({ where: { email: String(o.email).toLowerCase() } });
        if (!u) fail('no user with this e-mail');
        if (o.pool && !(await db.pool.findUnique({ where: { id: o.pool } }))) fail('no pool with this id');
        if (o.expiresInDays !== undefined && !(Number.isInteger(o.expiresInDays) && o.expiresInDays >= 1 && o.expiresInDays <= 365)) fail('--expires-in-days must be a whole number from 1 to 365');
        const t = await createApiToken({ userId: u.id, name: o.name, poolId: o.pool ?? null, expiresInDays: o.expiresInDays ?? null });
        await audit({ userId: u.id, action: 'token.create', poolId: o.pool ?? null, targetType: 'token', targetId: t.id, detail: { via: 'cli' } });
        process.stdout.write(t.token + '\n');
        process.stderr.write(`expires ${t.expiresAt.toISOString()}\n`);
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
    .command('anonymize')
    .description(
      'De-identify a folder of DICOM files with a pool\'s rules (--pool) or a rules file (--rules); outputs are named <study>/<series>/<sop>.dcm by research UIDs',
    )
    .argument('<in-dir>', 'folder of DICOM files (searched recursively)')
    .argument('<out-dir>', 'where de-identified files are written')
    .option('--pool <poolId>', "use the pool's rules, secret, identity map (creating identities as retrievals do) and lookup tables")
    .option('--rules <file.json>', 'use a rule set from a JSON file (see docs/deidentification.md)')
    .option('--secret <hex>', 'with --rules: the UID/pseudonym key (hex, at least 32 digits); default: a new random one, printed')
    .option('--quarantine-dir <dir>', 'write instances held for burned-in text risk here (default: not written)')
    .option('--concurrency <n>', 'worker threads (default: one per core)', (v) => Number(v))
    .option('--json', 'print the summary as JSON')
    .option('--list-failed', 'also list the paths of files that failed (paths may carry names: mind where the output goes)')
    .action(async (inDir: string, outDir: string, o) => {
      const fs = await import('node:fs/promises');
      const path = await import('node:path');
      if (!!o.pool === !!o.rules) fail('give exactly one of --pool <poolId> or --rules <file.json>');
      if (o.pool && o.secret) fail('--secret goes with --rules; a pool uses its own secret');
      if (o.concurrency !== undefined && (!Number.isInteger(o.concurrency) || o.concurrency < 0 || o.concurrency > 256)) fail('--concurrency must be a whole number from 0 to 256');
      const inAbs = path.resolve(inDir);
      const outAbs = path.resolve(outDir);
      const inStat = await fs.stat(inAbs).catch(() => null);
      if (!inStat?.isDirectory()) fail(`input folder not found: ${inDir}`);
      if (outAbs === inAbs || outAbs.startsWith(inAbs + path.sep)) fail('the output folder must not be inside the input folder');
      await fs.mkdir(outAbs, { recursive: true });
      const quarantineDir = o.quarantineDir ? path.resolve(o.quarantineDir) : undefined;

      const { anonymizeFolder } = await import('../lib/anonymize/folder');
      type Summary = Awaited<ReturnType<typeof anonymizeFolder>>;
      const print = (r: Summary, ruleVersion: number | null) => {
        const reasons = new Map<string, number>();
        for (const f of r.failed) reasons.set(f.error, (reasons.get(f.error) ?? 0) + 1);
        if (o.json) {
          process.stdout.write(
            JSON.stringify({
              files: r.processed + r.failed.length,
              processed: r.processed,
              written: r.written,
              quarantined: r.quarantined,
              quarantineReasons: r.quarantineReasons,
              failed: r.failed.length,
              failureReasons: Object.fromEntries(reasons),
              ruleVersion,
            }) + '\n',
          );
        } else {
          const lines = [`processed ${r.processed + r.failed.length} file(s): ${r.written} written, ${r.quarantined} quarantined, ${r.failed.length} failed`];
          for (const [reason, n] of Object.entries(r.quarantineReasons)) lines.push(`  quarantined ${n}: ${reason}`);
          for (const [reason, n] of reasons) lines.push(`  failed ${n}: ${reason}`);
          if (r.quarantined && !quarantineDir) lines.push('  (quarantined instances were not written; use --quarantine-dir to keep them for review)');
          process.stdout.write(lines.join('\n') + '\n');
        }
        // Source paths can carry names or MRNs: listed only on request, on stderr.
        if (o.listFailed) for (const f of r.failed) process.stderr.write(`failed: ${f.file}: ${f.error}\n`);
        if (r.failed.length) process.exitCode = 1;
      };
      const onProgress = process.stderr.isTTY ? (done: number, total: number) => process.stderr.write(`\r${done}/${total}`) : undefined;

      if (o.rules) {
        const { validateRuleSet } = await import('../lib/anonymize/rules');
        const { dateOffsetFor, pseudonymFor } = await import('../lib/anonymize/pseudonym');
        const text = await fs.readFile(path.resolve(o.rules), 'utf8').catch(() => fail(`cannot read the rules file ${o.rules}`));
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          fail(`the rules file ${o.rules} is not valid JSON`);
        }
        const checked = validateRuleSet(json);
        if (!checked.ok) fail(`the rules file ${o.rules} is not valid:\n  ${checked.errors.join('\n  ')}`);
        let secret: string = o.secret ?? '';
        if (secret) {
          if (!/^[0-9a-fA-F]{32,}$/.test(secret) || secret.length % 2) fail('--secret must be an even number of hex digits, at least 32');
        } else {
          const { randomBytes } = await import('node:crypto');
          secret = randomBytes(32).toString('hex');
          process.stderr.write(
            `tributary: no --secret given; generated ${secret}\n` +
              'tributary: keep it: the same secret gives the same research IDs, UIDs and date offsets in later runs, so their outputs link\n',
          );
        }
        if (checked.rules.overrides.some((x) => x.action === 'lookup')) {
          process.stderr.write('tributary: lookup overrides need a pool\'s lookup tables (--pool); with --rules they empty the attribute\n');
        }
        const r = await anonymizeFolder({
          inDir: inAbs,
          outDir: outAbs,
          quarantineDir,
          rules: checked.rules,
          uidSecret: secret,
          concurrency: o.concurrency,
          onProgress,
          identityFor: (patientId) => {
            const researchId = pseudonymFor(secret, patientId);
            return { researchId, researchName: researchId, dateOffsetDays: dateOffsetFor(secret, patientId) };
          },
        }).catch(report);
        if (onProgress) process.stderr.write('\n');
        print(r, null);
        return;
      }

      await withDb(async () => {
        const { db } = await import('../lib/db');
        const { ruleSetSchema } = await import('../lib/anonymize/rules');
        const { deidIdentityFor } = await import('../lib/pools/identity');
        const { audit } = await import('../lib/audit');
        const { AppError: DomainError } = await import('../lib/errors');
        const pool = await db.pool.findUnique({ where: { id: String(o.pool) } });
        if (!pool) fail('no pool with this id');
        if (pool.kind !== 'RESEARCH') fail('this is an infrastructure pool (an AE title); de-identify with a research pool');
        const rules = ruleSetSchema.parse(pool.rules);
        const studies = new Map<string, Promise<unknown>>();
        const r = await anonymizeFolder({
          inDir: inAbs,
          outDir: outAbs,
          quarantineDir,
          rules,
          uidSecret: pool.secret,
          ruleVersion: pool.ruleVersion,
          concurrency: o.concurrency,
          onProgress,
          identityFor: async (patientId) => {
            if (!patientId) throw new DomainError('VALIDATION', 'The file has no Patient ID; a pool needs one to find the research identity');
            return deidIdentityFor(pool, rules, { sourcePatientId: patientId });
          },
          // The identity map learns the studies, as a retrieval would record them (once per study:
          // instances of one study finish concurrently).
          onInstance: async (x) => {
            let once = studies.get(x.sourceStudyUid);
            if (!once) {
              once = db.studyIdentity.upsert({
                where: { poolId_sourceStudyUid: { poolId: pool.id, sourceStudyUid: x.sourceStudyUid } },
                create: { poolId: pool.id, sourceStudyUid: x.sourceStudyUid, researchStudyUid: x.targetStudyUid, sourcePatientId: x.patientId },
                update: {},
              });
              studies.set(x.sourceStudyUid, once);
            }
            await once;
          },
        }).catch(report);
        if (onProgress) process.stderr.write('\n');
        await audit({
          action: 'pool.cli-anonymize',
          poolId: pool.id,
          targetType: 'pool',
          targetId: pool.id,
          detail: { via: 'cli', ruleVersion: pool.ruleVersion, processed: r.processed, written: r.written, quarantined: r.quarantined, failed: r.failed.length },
        });
        print(r, pool.ruleVersion);
      });
    });

  const query = program.command('query').description('Queries by MRN');
  query
    .command('import')
    .description('Import a spreadsheet (.xlsx or .csv) of MRNs as a query in a pool; prints the verdict and the query id')
    .requiredOption('--pool <poolId>', 'target pool')
    .requiredOption('--connector <connectorId>', 'connector to query through')
    .requiredOption('--email <email>', 'the coordinator the query runs as (must coordinate the pool)')
    .option('--dry-run', 'validate every row and report, start nothing')
    .argument('<file>', 'the spreadsheet')
    .action(async (file: string, o) =>
      withDb(async () => {
        const fs = await import('node:fs/promises');
        const path = await import('node:path');
        const { db } = await import('../lib/db');
        const { requirePool } = await import('../lib/auth/access');
        const { submitSpreadsheet } = await import('../lib/queries/spreadsheet');
        const u = await db.user.findUnique({ where: { email: String(o.email).toLowerCase() } });
        if (!u || !u.active) fail('no active user with this e-mail');
        const actor = { userId: u.id, email: u.email, name: u.name, role: u.role, tokenPoolId: null, via: 'session' as const };
        await requirePool(actor, o.pool, 'coordinate').catch(report);
        const buf = await fs.readFile(file).catch(() => fail(`cannot read ${file}`));
        const r = await submitSpreadsheet(actor, { poolId: o.pool, connectorId: o.connector, file: new File([new Uint8Array(buf)], path.basename(file)), dryRun: !!o.dryRun }).catch(report);
        const v = r.verdict;
        process.stdout.write(`${v.validRows} valid row(s), ${v.duplicatesMerged} duplicate(s) merged, ${v.invalid.length} invalid\n`);
        for (const bad of v.invalid) process.stdout.write(`  row ${bad.rowNumber}: ${bad.errors.join(' ')}\n`);
        for (const w of v.warnings) process.stdout.write(`  warning: ${w}\n`);
        if (r.queryId) process.stdout.write(`query ${r.queryId}\n`);
      }),
    );

  const exp = program.command('export').description('Exports of pool studies to a destination (docs/exports.md)');
  exp
    .command('start')
    .description("Export studies of a pool through one of its exporters; --wait prints progress and exits 1 unless the export COMPLETED (3 when it ended WARNING)")
    .requiredOption('--pool <poolId>', 'the pool')
    .requiredOption('--exporter <exporterId>', "one of the pool's exporters")
    .requiredOption('--email <email>', 'the pool owner or researcher the export runs as')
    .option('--study <studyId>', 'a study of the pool (repeat for several)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--all', 'the whole pool')
    .option('--resend', 'send again what the destination already holds')
    .option('--wait', 'wait for the export to finish, printing progress')
    .action(async (o) =>
      withDb(async () => {
        const { db } = await import('../lib/db');
        const { requirePool } = await import('../lib/auth/access');
        const { createExport } = await import('../lib/exports/request');
        const { exportRequestSchema } = await import('../lib/exports/schema');
        const u = await db.user.findUnique({ where: { email: String(o.email).toLowerCase() } });
        if (!u || !u.active) fail('no active user with this e-mail');
        const actor = { userId: u.id, email: u.email, name: u.name, role: u.role, tokenPoolId: null, via: 'session' as const };
        await requirePool(actor, o.pool, 'export').catch(report);
        const input = exportRequestSchema.parse({ exporterId: o.exporter, studyIds: o.study, wholePool: !!o.all, resend: !!o.resend });
        const ex = await createExport(actor, o.pool, input).catch(report);
        process.stdout.write(`export ${ex.id}: ${ex.total} instance(s) queued\n`);
        if (!o.wait) return;
        let last = '';
        for (;;) {
          const x = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
          const line = `${x.state} ${x.sent + x.warnings + x.failed + x.skipped}/${x.total} sent=${x.sent} warnings=${x.warnings} failed=${x.failed} skipped=${x.skipped}`;
          if (line !== last) process.stdout.write(`${line}\n`);
          last = line;
          if (['COMPLETED', 'WARNING', 'FAILED', 'CANCELED'].includes(x.state)) {
            if (x.lastError) process.stdout.write(`last error: ${x.lastError}\n`);
            if (x.state !== 'COMPLETED') process.exitCode = x.state === 'WARNING' ? 3 : 1;
            return;
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      }),
    );

  const backup = program.command('backup').description('Consistent backup and restore of the database and pool storage (docs/operations.md)');
  backup
    .command('create')
    .description('Dump the database and copy the files its rows name into a new folder, with a manifest of hashes')
    .requiredOption('--out <dir>', 'a new, empty folder')
    .action(async (o: { out: string }) => {
      const { createBackup } = await import('../lib/backup/create-backup');
      const m = await createBackup({ outDir: o.out });
      process.stdout.write(`backup written to ${o.out}: ${m.counts.instances} instances, ${m.counts.quarantined} quarantined, ${m.counts.bytes} bytes of files; database at migration ${m.migration}\n`);
      if (m.missing.length) {
        // The rest is saved; the operator must look at these (a pool deleted during the backup, or files lost before it).
        process.stderr.write(`tributary: warning: ${m.missing.length} file(s) named by the database were not on disk (listed under "missing" in manifest.json), e.g. ${m.missing.slice(0, 3).join(', ')}\n`);
        process.exitCode = 3;
      }
    });
  backup
    .command('restore')
    .description('Restore a backup into an EMPTY database (DATABASE_URL) and an EMPTY storage root (STORAGE_ROOT)')
    .requiredOption('--from <dir>', 'a folder written by `backup create`')
    .action(async (o: { from: string }) => {
      const { env } = await import('../lib/env');
      const { restoreBackup } = await import('../lib/backup/restore-backup');
      const e = env();
      const r = await restoreBackup({ fromDir: o.from, databaseUrl: e.DATABASE_URL, storageRoot: e.STORAGE_ROOT });
      process.stdout.write(`restored ${r.instances} instances and ${r.quarantined} quarantined instances (${r.files} files) into ${e.STORAGE_ROOT}; run \`tributary migrate\` if this code is newer than the backup\n`);
    });

  const secrets = program.command('secrets').description('Stored secrets (database passwords, client secrets, private keys)');
  secrets
    .command('rotate')
    .description('Re-encrypt every stored secret under SECRETS_KEY (set SECRETS_KEY_PREVIOUS to the old key first; docs/security.md)')
    .action(async () =>
      withDb(async () => {
        const { rotateSecrets } = await import('../lib/secrets/rotate');
        const r = await rotateSecrets();
        for (const [col, c] of Object.entries(r.columns)) process.stdout.write(`${col.padEnd(28)} values=${c.values} reencrypted=${c.reencrypted} failed=${c.failed}\n`);
        if (r.failed) {
          // Values under a key that is neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS: they must be entered again.
          process.stderr.write(`tributary: ${r.failed} secret(s) could not be decrypted with SECRETS_KEY or SECRETS_KEY_PREVIOUS; enter them again in the admin pages\n`);
          process.exitCode = 3;
        }
      }),
    );

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
