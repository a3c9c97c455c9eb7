/**
 * Records what de-identifying one instance did (counts per kind of action, method codes) for the
 * pool's de-identification report. Returned as a statement for the caller's transaction: it is
 * committed with the index row or the quarantine row of the same instance, and keyed by the
 * research SOP Instance UID, so a retry after a crash overwrites the row instead of adding a second.
 */
import type { DeidSummary } from '../anonymize/engine';
import { db } from '../db';

export function recordDeidSummary(opts: {
  poolId: string;
  sopInstanceUid: string;
  ruleVersion: number;
  outcome: 'stored' | 'quarantined';
  summary: DeidSummary;
}) {
  const { methodCodes, ...counts } = opts.summary;
  const data = { ruleVersion: opts.ruleVersion, outcome: opts.outcome, ...counts, methodCodes };
  return db.deidInstanceSummary.upsert({
    where: { poolId_sopInstanceUid: { poolId: opts.poolId, sopInstanceUid: opts.sopInstanceUid } },
    create: { poolId: opts.poolId, sopInstanceUid: opts.sopInstanceUid, ...data },
    update: data,
  });
}
