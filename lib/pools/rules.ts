/**
 * A pool's de-identification rules as the owner manages them: read, check, save as a new version.
 *
 * Saving never edits a version: it writes PoolRuleVersion (version = ruleVersion + 1) and updates
 * pool.rules / pool.ruleVersion in one transaction, so every stored instance's ruleVersion
 * (Instance.ruleVersion, QuarantinedInstance.ruleVersion) names rules that can still be read.
 */
import { keptDirectIdentifiers, keptDirectIdentifiersOrNone } from '../anonymize/direct-identifiers';
import { type RuleListChange, diffRuleLists, generatedRuleList } from '../anonymize/rule-list';
import { canonical, compileRules } from '../anonymize/profile';
import { type RuleSet, ruleSetSchema, validateRuleSet } from '../anonymize/rules';
import { audit } from '../audit';
import { requirePool } from '../auth/access';
import type { Actor } from '../auth/actor';
import { db, Prisma } from '../db';
import { AppError, type FieldErrors } from '../errors';
import { notifyPoolOwners } from '../notifications/notify-pool-owners';

/**
 * validateRuleSet's messages ("overrides.2: unknown keyword ...") as field errors keyed by the
 * path before the colon, under `prefix` (e.g. "rules.overrides.2").
 */
export function ruleErrorsToFields(errors: string[], prefix = 'rules'): FieldErrors {
  const fields: FieldErrors = {};
  for (const e of errors) {
    const m = /^([\w.]+): (.*)$/.exec(e);
    const key = m ? (m[1] === 'rules' ? prefix : `${prefix}.${m[1]}`) : prefix;
    (fields[key] ??= []).push(m ? m[2] : e);
  }
  return fields;
}

/** Validates rules from a request (schema and dictionary); 422 with field errors when invalid. */
export function checkedRules(input: unknown, prefix = 'rules'): RuleSet {
  const v = validateRuleSet(input);
  if (!v.ok) throw new AppError('VALIDATION', 'The rules are not valid', ruleErrorsToFields(v.errors, prefix));
  return v.rules;
}

export function fingerprintOf(rules: RuleSet): string {
  return compileRules(rules).fingerprint;
}

/** The pool's stored rules, parsed (defaults filled in). */
export function currentRules(pool: { rules: unknown }): RuleSet {
  return ruleSetSchema.parse(pool.rules);
}

export async function getPoolRules(poolId: string) {
  const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId }, select: { rules: true, ruleVersion: true } });
  const rules = currentRules(pool);
  return {
    ruleVersion: pool.ruleVersion,
    rules,
    fingerprint: fingerprintOf(rules),
    /** Direct identifiers these rules keep (lib/anonymize/direct-identifiers.ts): shown as a warning. */
    keepsDirectIdentifiers: keptDirectIdentifiersOrNone(rules),
    versions: await listRuleVersions(poolId),
  };
}

export async function listRuleVersions(poolId: string) {
  const rows = await db.poolRuleVersion.findMany({
    where: { poolId },
    orderBy: { version: 'desc' },
    select: { version: true, createdAt: true, createdById: true },
  });
  const users = await db.user.findMany({
    where: { id: { in: [...new Set(rows.map((r) => r.createdById).filter((x): x is string => !!x))] } },
    select: { id: true, name: true },
  });
  const names = new Map(users.map((u) => [u.id, u.name]));
  return rows.map((r) => ({ version: r.version, createdAt: r.createdAt, createdBy: r.createdById ? (names.get(r.createdById) ?? 'deleted user') : null }));
}

export async function getRuleVersion(poolId: string, version: number) {
  const row = await db.poolRuleVersion.findUnique({ where: { poolId_version: { poolId, version } } });
  if (!row) throw new AppError('NOT_FOUND', 'No such rule version');
  const creator = row.createdById ? await db.user.findUnique({ where: { id: row.createdById }, select: { name: true } }) : null;
  const parsed = ruleSetSchema.safeParse(row.rules);
  const rules = parsed.success ? parsed.data : (row.rules as unknown as RuleSet);
  let fingerprint: string | null = null;
  try {
    fingerprint = fingerprintOf(rules);
  } catch {
    // A version saved before a dictionary change may no longer compile; it is still shown.
  }
  return { version: row.version, rules, fingerprint, keepsDirectIdentifiers: keptDirectIdentifiersOrNone(rules), createdAt: row.createdAt, createdBy: row.createdById ? (creator?.name ?? 'deleted user') : null };
}

/**
 * Checks rules being edited without saving: 422 with field errors when invalid, otherwise the
 * fingerprint and what would change in the generated rule list compared with the current version.
 */
export async function checkPoolRules(
  poolId: string,
  input: unknown,
): Promise<{ fingerprint: string; changes: RuleListChange[]; ruleVersion: number; keepsDirectIdentifiers: string[] }> {
  const rules = checkedRules(input);
  const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId }, select: { rules: true, ruleVersion: true } });
  const next = compileRules(rules);
  return {
    fingerprint: next.fingerprint,
    changes: diffRuleLists(generatedRuleList(currentRules(pool)), generatedRuleList(next)),
    ruleVersion: pool.ruleVersion,
    keepsDirectIdentifiers: keptDirectIdentifiers(next),
  };
}

/**
 * Saves rules as the pool's next version. `baseVersion` (the version the editor started from)
 * refuses a save over someone else's newer one (CONFLICT). Rules identical to the current ones
 * create no version.
 *
 * Saving is the pool owner's act (access need 'rules', never an administrator): asked again here
 * so no caller can save rules around the route's check. The other owners are notified.
 */
export async function updatePoolRules(
  actor: Actor,
  poolId: string,
  input: { rules: unknown; baseVersion?: number },
): Promise<{ ruleVersion: number; fingerprint: string; unchanged: boolean; keepsDirectIdentifiers: string[] }> {
  await requirePool(actor, poolId, 'rules');
  const rules = checkedRules(input.rules);
  const fingerprint = fingerprintOf(rules);
  const kept = keptDirectIdentifiers(rules);
  const result = await db
    .$transaction(async (tx) => {
      const pool = await tx.pool.findUniqueOrThrow({ where: { id: poolId }, select: { rules: true, ruleVersion: true } });
      if (input.baseVersion !== undefined && input.baseVersion !== pool.ruleVersion) {
        throw new AppError('CONFLICT', `The rules were changed meanwhile (now version ${pool.ruleVersion}); reload and apply your edits again`, {
          baseVersion: [`current version is ${pool.ruleVersion}`],
        });
      }
      const current = ruleSetSchema.safeParse(pool.rules);
      if (current.success && canonical(current.data) === canonical(rules)) {
        return { ruleVersion: pool.ruleVersion, unchanged: true };
      }
      const version = pool.ruleVersion + 1;
      const json = rules as unknown as Prisma.InputJsonValue;
      // Guarded on the version read above: a concurrent save makes this update match nothing.
      const { count } = await tx.pool.updateMany({ where: { id: poolId, ruleVersion: pool.ruleVersion }, data: { rules: json, ruleVersion: version } });
      if (count !== 1) throw new AppError('CONFLICT', 'The rules were changed meanwhile; reload and apply your edits again');
      await tx.poolRuleVersion.create({ data: { poolId, version, rules: json, createdById: actor.userId } });
      return { ruleVersion: version, unchanged: false };
    })
    .catch((e) => {
      if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') {
        throw new AppError('CONFLICT', 'The rules were changed meanwhile; reload and apply your edits again');
      }
      throw e;
    });
  if (!result.unchanged) {
    await audit({
      userId: actor.userId,
      action: 'pool.rules-update',
      poolId,
      targetType: 'pool',
      targetId: poolId,
      detail: {
        version: result.ruleVersion,
        fingerprint,
        options: rules.options.length,
        overrides: rules.overrides.length,
        quarantineBurnedIn: rules.quarantineBurnedIn,
        // Reason codes the pool does not hold for, and how many additions it holds (codes and counts only).
        quarantineIgnore: rules.quarantine?.ignore?.length ? rules.quarantine.ignore.join(' ') : null,
        quarantineAdded: (rules.quarantine?.holdSopClasses?.length ?? 0) + (rules.quarantine?.holdModalities?.length ?? 0) + (rules.quarantine?.holdImageTypes?.length ?? 0),
        keepsDirectIdentifiers: kept.length ? kept.join(' ') : null,
      },
    });
    const v = result.ruleVersion;
    await notifyPoolOwners(actor, poolId, 'pool.rules-update', (name) =>
      kept.length
        ? `saved rules version ${v} of pool “${name}”. Warning: these rules keep direct identifiers (${kept.join(', ')}) in the pool.`
        : `saved rules version ${v} of pool “${name}”.`,
    );
  }
  return { ...result, fingerprint, keepsDirectIdentifiers: kept };
}
