/**
 * Preview: what rules being edited (not yet saved) would do to one sample instance of the pool,
 * as a before/after table of every attribute (removed, changed, kept, added), plus the quarantine
 * verdict. The sample is a staged instance of a retrieval into this pool, or a file the owner
 * uploads: read in memory, never stored.
 *
 * The "before" column is the original, identifying data, so preview is for pool owners only
 * (access 'pool:identity'); each preview is audited with counts, never values. Nothing is written:
 * the research identity is the one the patient has, or would get (no identity row is created).
 */
import fs from 'node:fs/promises';
import { type PreviewResult, previewInstance } from '../anonymize/engine';
import { parsePart10, valueString } from '../anonymize/parse';
import { canonical, compileRules } from '../anonymize/profile';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, type Pool } from '../db';
import { PREVIEW_MAX_BYTES } from '../api/endpoints/deid';
import { AppError } from '../errors';
import { type IdentitySource, planPatientIdentity } from './identity';
import { loadLookupTables, lookupTablesUsedBy } from './lookups';
import { checkedRules, currentRules } from './rules';
import { keptDirectIdentifiers } from '../anonymize/direct-identifiers';

export { PREVIEW_MAX_BYTES };

export function previewMaxBytes(): number {
  return PREVIEW_MAX_BYTES;
}

/** Staged instances of retrievals into this pool, newest first: samples for the preview. */
export async function listPreviewSamples(poolId: string, limit = 50) {
  const rows = await db.stagedInstance.findMany({
    where: { retrieval: { poolId } },
    orderBy: { receivedAt: 'desc' },
    take: limit,
    select: { id: true, receivedAt: true, sopClassUid: true, size: true, retrievalId: true },
  });
  return rows.map((r) => ({ id: r.id, receivedAt: r.receivedAt, sopClassUid: r.sopClassUid, size: r.size, retrievalId: r.retrievalId }));
}

export interface PreviewResponse extends PreviewResult {
  source: 'staged' | 'upload';
  /** Where the research identity shown came from (an existing identity, the query row, a lookup table, the pseudonym). */
  identitySource: IdentitySource;
  fingerprint: string;
  /** The version these rules would be saved as (the current one when unchanged). */
  ruleVersion: number;
  /** Direct identifiers these rules keep (lib/anonymize/direct-identifiers.ts): shown as a warning. */
  keepsDirectIdentifiers: string[];
}

export async function previewRules(
  actor: Actor,
  pool: Pick<Pool, 'id' | 'secret' | 'rules' | 'ruleVersion'>,
  input: { rules?: unknown; stagedInstanceId?: string; file?: File },
): Promise<PreviewResponse> {
  const rules = input.rules === undefined ? currentRules(pool) : checkedRules(input.rules);
  const compiled = compileRules(rules);
  if (!!input.stagedInstanceId === !!input.file) {
    throw new AppError('VALIDATION', 'Choose one sample: a staged instance or a file', { sample: ['choose a staged instance or upload a file'] });
  }
  const max = previewMaxBytes();
  let bytes: Buffer;
  let patient: { sourcePatientId: string; researchId?: string | null; researchName?: string | null };
  let source: PreviewResponse['source'];
  if (input.stagedInstanceId) {
    const staged = await db.stagedInstance.findFirst({
      where: { id: input.stagedInstanceId, retrieval: { poolId: pool.id } },
      select: { id: true, path: true, retrieval: { select: { result: { select: { patientId: true, item: { select: { researchId: true, researchName: true } } } } } } },
    });
    if (!staged?.retrieval) throw new AppError('NOT_FOUND', 'No such staged instance in this pool (it may have been de-identified meanwhile)');
    const st = await fs.stat(staged.path).catch(() => null);
    if (!st) throw new AppError('NOT_FOUND', 'The staged instance is gone (it was de-identified meanwhile)');
    if (st.size > max) throw new AppError('PAYLOAD_TOO_LARGE', `Samples are limited to ${Math.round(max / 1024 / 1024)} MB`);
    bytes = await fs.readFile(staged.path);
    const res = staged.retrieval.result;
    patient = { sourcePatientId: res.patientId, researchId: res.item.researchId, researchName: res.item.researchName };
    source = 'staged';
  } else {
    const file = input.file!;
    if (file.size > max) throw new AppError('PAYLOAD_TOO_LARGE', `Samples are limited to ${Math.round(max / 1024 / 1024)} MB`);
    bytes = Buffer.from(await file.arrayBuffer());
    if (bytes.length > max) throw new AppError('PAYLOAD_TOO_LARGE', `Samples are limited to ${Math.round(max / 1024 / 1024)} MB`);
    const parsed = parsePart10(bytes);
    const el = parsed.els.find((e) => e.tag === 0x00100020);
    patient = { sourcePatientId: el ? valueString(parsed.buf, el).trim() : '' };
    source = 'upload';
  }

  const planned = await planPatientIdentity({ poolId: pool.id, poolSecret: pool.secret, ...patient });
  const tables = lookupTablesUsedBy(rules);
  const identity = tables.length ? { ...planned.identity, lookups: await loadLookupTables(pool.id, tables) } : planned.identity;
  const unchanged = canonical(rules) === canonical(currentRules(pool));
  const ruleVersion = unchanged ? pool.ruleVersion : pool.ruleVersion + 1;
  const result = previewInstance(bytes, compiled, { uidSecret: pool.secret }, identity, { ruleVersion });
  await audit({
    userId: actor.userId,
    action: 'pool.rules-preview',
    poolId: pool.id,
    targetType: source === 'staged' ? 'staged-instance' : 'upload',
    targetId: input.stagedInstanceId,
    detail: {
      source,
      bytes: bytes.length,
      fingerprint: compiled.fingerprint,
      removed: result.counts.removed,
      changed: result.counts.changed,
      kept: result.counts.kept,
      added: result.counts.added,
      quarantined: !!result.quarantine,
    },
  });
  return { ...result, source, identitySource: planned.source, fingerprint: compiled.fingerprint, ruleVersion, keepsDirectIdentifiers: keptDirectIdentifiers(compiled) };
}
