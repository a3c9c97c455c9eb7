/**
 * The pool's de-identification report: what its rules did, by rule version, for an IRB or a data
 * protection officer. Counts, codes and the owner's rule settings only: no identity, no value of
 * any element, no user names (docs/deidentification.md, "The de-identification report").
 *
 * Sources: DeidInstanceSummary (per-instance counts written with the index/quarantine row),
 * QuarantinedInstance (reasons, releases, drops), Instance (what the pool holds), PoolRuleVersion
 * (what each version turned on), and the OCR/redaction queries of ocr-findings.ts.
 */
import { QUARANTINE_RULES, POOL_RULE_CODE, POOL_RULE_TEXT } from '../anonymize/burned-in';
import { SUMMARY_ACTIONS, type SummaryAction } from '../anonymize/engine';
import { METHOD_CODE_MEANING } from '../anonymize/method-codes';
import { OPTION_LABELS } from '../anonymize/option-labels';
import { ruleSetSchema } from '../anonymize/rules-schema';
import { db } from '../db';
import { AppError } from '../errors';
import { countOcrFindings, countRedactions, type OcrFindingRow, type RedactionSourceRow } from './ocr-findings';

export const UNCLASSIFIED_REASON = 'unclassified';

export interface QuarantineReasonCount {
  code: string;
  text: string;
  pending: number;
  released: number;
  /** Released as a redacted copy (the OCR work's decision "redacted"). */
  redacted: number;
  dropped: number;
}

export interface ReportVersion {
  ruleVersion: number;
  savedAt: string | null;
  /** PS3.15 options the version turned on, by their standard names. */
  options: string[];
  quarantineBurnedIn: boolean;
  stamps: { clinicalTrial: boolean; longitudinal: boolean };
  /** Instances de-identified under this version (a summary recorded), by where they went. */
  deidentified: number;
  stored: number;
  quarantined: number;
  /** Instances of this version in the pool's index now (also those de-identified before the report existed). */
  indexed: number;
  /** Elements per kind of action, summed over the instances. */
  actions: Record<SummaryAction, number>;
  /** Instances per method code written into (0012,0064). */
  methodCodes: { code: string; meaning: string; instances: number }[];
  quarantine: { held: number; pending: number; released: number; redacted: number; dropped: number; reasons: QuarantineReasonCount[] };
  ocr: { scanned: number; withText: number; findings: Omit<OcrFindingRow, 'ruleVersion'>[] };
  /** Redacted instances written; by source, an instance with regions of two sources counts under both. */
  redactions: { instances: number; lossy: number; sources: Omit<RedactionSourceRow, 'ruleVersion'>[] };
}

export interface DeidReport {
  pool: { id: string; name: string };
  generatedAt: string;
  currentRuleVersion: number;
  versions: ReportVersion[];
  totals: Pick<ReportVersion, 'deidentified' | 'stored' | 'quarantined' | 'indexed' | 'actions'> & {
    quarantine: ReportVersion['quarantine'];
    redactedInstances: number;
    ocrFindings: number;
  };
}

const emptyActions = (): Record<SummaryAction, number> => Object.fromEntries(SUMMARY_ACTIONS.map((a) => [a, 0])) as Record<SummaryAction, number>;
const reasonText = (code: string): string =>
  code === POOL_RULE_CODE
    ? POOL_RULE_TEXT
    : code === UNCLASSIFIED_REASON
      ? 'Held before reason codes were recorded'
      : (QUARANTINE_RULES.find((r) => r.code === code)?.text ?? code);
const KNOWN_REASONS = new Set<string>([...QUARANTINE_RULES.map((r) => r.code), POOL_RULE_CODE]);
type Decision = 'pending' | 'released' | 'redacted' | 'dropped';
const decisionOf = (d: string | null): Decision => (d === 'released' || d === 'redacted' || d === 'dropped' ? d : 'pending');

export async function getDeidReport(poolId: string): Promise<DeidReport> {
  const pool = await db.pool.findUnique({ where: { id: poolId }, select: { id: true, name: true, ruleVersion: true } });
  if (!pool) throw new AppError('NOT_FOUND', 'Pool not found');

  const [summaries, codes, held, reasons, indexed, ruleVersions, ocr, redactions] = await Promise.all([
    db.deidInstanceSummary.groupBy({
      by: ['ruleVersion', 'outcome'],
      where: { poolId },
      _count: { _all: true },
      _sum: { removed: true, emptied: true, replaced: true, kept: true, shifted: true, uidRemapped: true, cleaned: true, added: true },
    }),
    db.$queryRaw<{ ruleVersion: number; code: string; instances: number }[]>`
      SELECT s."ruleVersion", c.code, count(*)::int AS instances
      FROM "DeidInstanceSummary" s, unnest(s."methodCodes") AS c(code)
      WHERE s."poolId" = ${poolId}
      GROUP BY 1, 2`,
    db.quarantinedInstance.groupBy({ by: ['ruleVersion', 'decision'], where: { poolId }, _count: { _all: true } }),
    db.$queryRaw<{ ruleVersion: number; code: string; decision: string | null; instances: number }[]>`
      SELECT q."ruleVersion", r.code, q."decision", count(*)::int AS instances
      FROM "QuarantinedInstance" q, unnest(string_to_array(q."reason", ' ')) AS r(code)
      WHERE q."poolId" = ${poolId} AND r.code <> ''
      GROUP BY 1, 2, 3`,
    db.instance.groupBy({ by: ['ruleVersion'], where: { poolId }, _count: { _all: true } }),
    db.poolRuleVersion.findMany({ where: { poolId }, select: { version: true, rules: true, createdAt: true } }),
    countOcrFindings(poolId),
    countRedactions(poolId),
  ]);

  const versionNumbers = new Set<number>([pool.ruleVersion]);
  for (const x of [...summaries, ...held, ...indexed]) versionNumbers.add(x.ruleVersion);
  for (const x of [...codes, ...reasons, ...ocr.findings, ...ocr.scans, ...redactions.versions, ...redactions.sources]) versionNumbers.add(x.ruleVersion);

  const versions: ReportVersion[] = [...versionNumbers]
    .sort((a, b) => b - a)
    .map((v) => {
      const saved = ruleVersions.find((r) => r.version === v);
      const parsed = saved ? ruleSetSchema.safeParse(saved.rules) : null;
      const rules = parsed?.success ? parsed.data : null;
      const actions = emptyActions();
      let stored = 0;
      let quarantined = 0;
      for (const s of summaries.filter((x) => x.ruleVersion === v)) {
        if (s.outcome === 'quarantined') quarantined += s._count._all;
        else stored += s._count._all;
        for (const a of SUMMARY_ACTIONS) actions[a] += s._sum[a] ?? 0;
      }
      const q = { held: 0, pending: 0, released: 0, redacted: 0, dropped: 0 };
      for (const h of held.filter((x) => x.ruleVersion === v)) {
        q.held += h._count._all;
        q[decisionOf(h.decision)] += h._count._all;
      }
      const byReason = new Map<string, QuarantineReasonCount>();
      for (const r of reasons.filter((x) => x.ruleVersion === v)) {
        const code = KNOWN_REASONS.has(r.code) ? r.code : UNCLASSIFIED_REASON;
        const row = byReason.get(code) ?? { code, text: reasonText(code), pending: 0, released: 0, redacted: 0, dropped: 0 };
        row[decisionOf(r.decision)] += r.instances;
        byReason.set(code, row);
      }
      const scan = ocr.scans.find((x) => x.ruleVersion === v);
      const redacted = redactions.versions.find((x) => x.ruleVersion === v);
      return {
        ruleVersion: v,
        savedAt: saved ? saved.createdAt.toISOString() : null,
        options: rules ? rules.options.map((o) => OPTION_LABELS[o].name) : [],
        quarantineBurnedIn: rules?.quarantineBurnedIn ?? true,
        stamps: { clinicalTrial: !!rules?.stamps?.clinicalTrial, longitudinal: !!rules?.stamps?.longitudinal },
        deidentified: stored + quarantined,
        stored,
        quarantined,
        indexed: indexed.find((x) => x.ruleVersion === v)?._count._all ?? 0,
        actions,
        methodCodes: codes
          .filter((x) => x.ruleVersion === v)
          .map((x) => ({ code: x.code, meaning: METHOD_CODE_MEANING[x.code] ?? x.code, instances: x.instances }))
          .sort((a, b) => a.code.localeCompare(b.code)),
        quarantine: { ...q, reasons: [...byReason.values()].sort((a, b) => a.code.localeCompare(b.code)) },
        ocr: {
          scanned: scan?.scanned ?? 0,
          withText: scan?.withText ?? 0,
          findings: ocr.findings.filter((x) => x.ruleVersion === v).map(({ ruleVersion: _v, ...rest }) => rest),
        },
        redactions: {
          instances: redacted?.instances ?? 0,
          lossy: redacted?.lossy ?? 0,
          sources: redactions.sources.filter((x) => x.ruleVersion === v).map(({ ruleVersion: _v, ...rest }) => rest),
        },
      };
    });

  const totals: DeidReport['totals'] = {
    deidentified: 0,
    stored: 0,
    quarantined: 0,
    indexed: 0,
    actions: emptyActions(),
    quarantine: { held: 0, pending: 0, released: 0, redacted: 0, dropped: 0, reasons: [] },
    redactedInstances: 0,
    ocrFindings: 0,
  };
  const reasonTotals = new Map<string, QuarantineReasonCount>();
  for (const v of versions) {
    totals.deidentified += v.deidentified;
    totals.stored += v.stored;
    totals.quarantined += v.quarantined;
    totals.indexed += v.indexed;
    for (const a of SUMMARY_ACTIONS) totals.actions[a] += v.actions[a];
    for (const k of ['held', 'pending', 'released', 'redacted', 'dropped'] as const) totals.quarantine[k] += v.quarantine[k];
    for (const r of v.quarantine.reasons) {
      const t = reasonTotals.get(r.code) ?? { ...r, pending: 0, released: 0, redacted: 0, dropped: 0 };
      t.pending += r.pending;
      t.released += r.released;
      t.redacted += r.redacted;
      t.dropped += r.dropped;
      reasonTotals.set(r.code, t);
    }
    totals.redactedInstances += v.redactions.instances;
    totals.ocrFindings += v.ocr.findings.reduce((n, f) => n + f.boxes, 0);
  }
  totals.quarantine.reasons = [...reasonTotals.values()].sort((a, b) => a.code.localeCompare(b.code));

  return { pool: { id: pool.id, name: pool.name }, generatedAt: new Date().toISOString(), currentRuleVersion: pool.ruleVersion, versions, totals };
}
