/**
 * Research identity per pool. The same MRN gets the same research ID, name and date offset in a
 * pool forever: the first retrieval stores them in PatientIdentity; later ones read them back.
 *
 * Where a new identity comes from, in order (docs/deidentification.md, "Research identity"):
 * 1. an existing PatientIdentity of this MRN in this pool (identities never change);
 * 2. the query row's ResearchID / ResearchName (spreadsheet columns);
 * 3. the pool's lookup tables "research-id" / "research-name" (uploaded MRN -> ResearchID table);
 * 4. a pseudonym derived from HMAC(pool secret, MRN), so even a lost identity row would be
 *    re-created identically.
 * The research ID and the research name are chosen independently (a row may give the name only);
 * the name defaults to the research ID. A research ID already given to another MRN of the pool is
 * refused (CONFLICT): two patients are never merged.
 */
import fs from 'node:fs/promises';
import type { DeidIdentity } from '../anonymize/engine';
import { dateOffsetFor, pseudonymFor } from '../anonymize/pseudonym';
import type { RuleSet } from '../anonymize/rules-schema';
import { audit } from '../audit';
import { db, Prisma } from '../db';
import { AppError } from '../errors';
import { RESEARCH_ID_TABLE, RESEARCH_NAME_TABLE, loadLookupTables, lookupTablesUsedBy } from './lookups';

export { dateOffsetFor, pseudonymFor };

export interface ResearchIdentity {
  researchId: string;
  researchName: string;
  dateOffsetDays: number;
}

export type IdentitySource = 'existing' | 'query-row' | 'lookup' | 'pseudonym';

export interface PlannedIdentity {
  identity: ResearchIdentity;
  /** Where the research ID came from. */
  source: IdentitySource;
  /** The identity is already stored (nothing to create). */
  existing: boolean;
}

// What the engine writes into PatientID / PatientName must be valid under any character set.
const PRINTABLE = /^[\x20-\x5b\x5d-\x7e]+$/;

/** Why a research ID or name cannot be used (no value quoted), or undefined when it can. */
export function researchValueProblem(what: 'Research ID' | 'Research name', value: string): string | undefined {
  if (value.length > 64) return `${what} is longer than 64 characters`;
  if (!PRINTABLE.test(value)) return `${what} must be printable ASCII without "\\" (letters, digits, spaces, ^ - _ . and the like)`;
  if (/[*?]/.test(value)) return `${what} must not contain * or ?`;
  return undefined;
}

interface IdentityInput {
  poolId: string;
  poolSecret: string;
  sourcePatientId: string;
  /** From the query row (spreadsheet columns), when given. */
  researchId?: string | null;
  researchName?: string | null;
}

/**
 * The identity this MRN has or would get, without writing anything (preview, CLI dry runs).
 * Throws VALIDATION for an unusable research ID or name from a row or a lookup table.
 */
export async function planPatientIdentity(opts: IdentityInput): Promise<PlannedIdentity> {
  const existing = await db.patientIdentity.findUnique({
    where: { poolId_sourcePatientId: { poolId: opts.poolId, sourcePatientId: opts.sourcePatientId } },
    select: { researchId: true, researchName: true, dateOffsetDays: true },
  });
  if (existing) return { identity: existing, source: 'existing', existing: true };

  const fromRow = { id: opts.researchId?.trim() || undefined, name: opts.researchName?.trim() || undefined };
  const lookups = await db.lookupEntry.findMany({
    where: { poolId: opts.poolId, table: { in: [RESEARCH_ID_TABLE, RESEARCH_NAME_TABLE] }, key: opts.sourcePatientId.trim() },
    select: { table: true, value: true },
  });
  const fromTable = {
    id: lookups.find((l) => l.table === RESEARCH_ID_TABLE)?.value.trim() || undefined,
    name: lookups.find((l) => l.table === RESEARCH_NAME_TABLE)?.value.trim() || undefined,
  };
  let source: IdentitySource = 'pseudonym';
  let researchId = pseudonymFor(opts.poolSecret, opts.sourcePatientId);
  if (fromRow.id) [researchId, source] = [fromRow.id, 'query-row'];
  else if (fromTable.id) [researchId, source] = [fromTable.id, 'lookup'];
  const researchName = fromRow.name ?? fromTable.name ?? researchId;
  for (const [what, v] of [['Research ID', researchId], ['Research name', researchName]] as const) {
    const problem = researchValueProblem(what, v);
    if (problem) throw new AppError('VALIDATION', `${problem} (${source === 'query-row' ? 'from the query row' : source === 'lookup' ? 'from the lookup table' : 'generated'})`);
  }
  return { identity: { researchId, researchName, dateOffsetDays: dateOffsetFor(opts.poolSecret, opts.sourcePatientId) }, source, existing: false };
}

const conflict = () => new AppError('CONFLICT', 'This research ID is already assigned to another patient in this pool');

/** The MRN's identity in the pool, created on first use (see the order above). */
export async function resolvePatientIdentity(opts: IdentityInput): Promise<ResearchIdentity> {
  return (await resolvePatientIdentityEntry(opts)).identity;
}

/** resolvePatientIdentity, telling whether the identity-map entry was created now or already there. */
export async function resolvePatientIdentityEntry(opts: IdentityInput): Promise<{ identity: ResearchIdentity; created: boolean; source: IdentitySource }> {
  const planned = await planPatientIdentity(opts);
  if (planned.existing) return { identity: planned.identity, created: false, source: 'existing' };
  const { researchId, researchName, dateOffsetDays } = planned.identity;
  const holder = await db.patientIdentity.findUnique({
    where: { poolId_researchId: { poolId: opts.poolId, researchId } },
    select: { sourcePatientId: true },
  });
  if (holder && holder.sourcePatientId !== opts.sourcePatientId) throw conflict();
  try {
    const created = await db.patientIdentity.create({
      data: { poolId: opts.poolId, sourcePatientId: opts.sourcePatientId, researchId, researchName, dateOffsetDays },
    });
    return { identity: { researchId: created.researchId, researchName: created.researchName, dateOffsetDays: created.dateOffsetDays }, created: true, source: planned.source };
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') {
      const again = await db.patientIdentity.findUnique({
        where: { poolId_sourcePatientId: { poolId: opts.poolId, sourcePatientId: opts.sourcePatientId } },
      });
      if (again) return { identity: { researchId: again.researchId, researchName: again.researchName, dateOffsetDays: again.dateOffsetDays }, created: false, source: 'existing' };
      // The research ID was taken by another patient of this pool meanwhile: refuse rather than merge two people.
      throw conflict();
    }
    throw e;
  }
}

/**
 * What the engine needs for one patient of a pool: the research identity (created on first use)
 * and the pool's lookup tables that the rules' `lookup` overrides name.
 */
export async function deidIdentityFor(
  pool: { id: string; secret: string },
  rules: RuleSet,
  patient: { sourcePatientId: string; researchId?: string | null; researchName?: string | null },
  opts: {
    create?: boolean;
    /**
     * Told whether the identity-map entry was created now or already existed (for auditing its
     * use), and where the research ID came from (for the study's provenance).
     */
    onEntry?: (e: { created: boolean; source: IdentitySource }) => void;
  } = {},
): Promise<DeidIdentity> {
  const input = { poolId: pool.id, poolSecret: pool.secret, ...patient };
  let identity: ResearchIdentity;
  if (opts.create === false) identity = (await planPatientIdentity(input)).identity;
  else {
    const entry = await resolvePatientIdentityEntry(input);
    opts.onEntry?.({ created: entry.created, source: entry.source });
    identity = entry.identity;
  }
  const tables = lookupTablesUsedBy(rules);
  return tables.length ? { ...identity, lookups: await loadLookupTables(pool.id, tables) } : { ...identity };
}

/**
 * The identity step of a retrieval's de-identification (lib/retrievals/run-anonymize.ts). When the
 * identity cannot be used (its research ID belongs to another patient of the pool, or a value from
 * the row or a lookup table is not valid) the study fails with that reason, its staged originals
 * are deleted, and nothing enters the pool: two patients are never merged.
 */
export async function identityForRetrieval(
  pool: { id: string; secret: string },
  rules: RuleSet,
  r: { id: string; result: { patientId: string; item: { researchId: string | null; researchName: string | null } } },
): Promise<{ identity: DeidIdentity; identitySource: IdentitySource } | { refused: string }> {
  try {
    let identitySource: IdentitySource = 'existing';
    const identity = await deidIdentityFor(
      pool,
      rules,
      { sourcePatientId: r.result.patientId, researchId: r.result.item.researchId, researchName: r.result.item.researchName },
      { onEntry: (e) => void (identitySource = e.source) },
    );
    return { identity, identitySource };
  } catch (e) {
    if (!(e instanceof AppError) || (e.code !== 'CONFLICT' && e.code !== 'VALIDATION')) throw e;
    const staged = await db.stagedInstance.findMany({ where: { retrievalId: r.id }, select: { id: true, path: true } });
    for (const s of staged) await fs.rm(s.path, { force: true });
    await db.$transaction([
      db.stagedInstance.deleteMany({ where: { id: { in: staged.map((s) => s.id) } } }),
      db.retrieval.update({
        where: { id: r.id },
        data: { state: 'FAILED', lastError: `Research identity refused: ${e.message}`, failed: { increment: staged.length }, finishedAt: new Date() },
      }),
    ]);
    await audit({
      action: 'retrieval.done',
      poolId: pool.id,
      targetType: 'retrieval',
      targetId: r.id,
      detail: { stored: 0, failed: staged.length, complete: false, identityRefused: e.code },
    });
    return { refused: e.message };
  }
}
