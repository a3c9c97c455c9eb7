/**
 * The OCR and redaction sections of the de-identification report, read from what the OCR work
 * (issue 15 items 2-3, branch i-ocr) stores: OcrBox rows (boxes with the recognised text's
 * category, never the text), QuarantinedInstance.ocrStatus / ocrBoxCount, and Redaction rows
 * (a redacted copy written as a new instance, with its regions counted by source).
 * Counts and categories only, never text or coordinates.
 */
import { db } from '../db';

/** Instances the OCR step read, per rule version of the quarantined instance. */
export interface OcrScanRow {
  ruleVersion: number;
  /** ocrStatus done. */
  scanned: number;
  /** scanned with at least one box. */
  withText: number;
}

/** Per rule version and text category: instances with at least one such box, and the boxes. */
export interface OcrFindingRow {
  ruleVersion: number;
  /** date | id | name | word | other (the OCR step's categories). */
  category: string;
  instances: number;
  boxes: number;
}

/** Redacted instances written (each a new instance, new SOP Instance UID), per rule version. */
export interface RedactionVersionRow {
  ruleVersion: number;
  instances: number;
  /** Of which re-encoded lossily (JPEG baseline, where the pool allows it). */
  lossy: number;
}

/** Per rule version and where regions came from: instances with such regions, and the regions. */
export interface RedactionSourceRow {
  ruleVersion: number;
  /** signature | ocr | owner */
  source: string;
  instances: number;
  regions: number;
}

export async function countOcrFindings(poolId: string): Promise<{ scans: OcrScanRow[]; findings: OcrFindingRow[] }> {
  const [scans, findings] = await Promise.all([
    db.$queryRaw<OcrScanRow[]>`
      SELECT "ruleVersion", count(*) FILTER (WHERE "ocrStatus" = 'done')::int AS scanned,
             count(*) FILTER (WHERE "ocrStatus" = 'done' AND coalesce("ocrBoxCount", 0) > 0)::int AS "withText"
      FROM "QuarantinedInstance" WHERE "poolId" = ${poolId} GROUP BY 1 ORDER BY 1`,
    db.$queryRaw<OcrFindingRow[]>`
      SELECT q."ruleVersion", b.category, count(DISTINCT b."quarantinedInstanceId")::int AS instances, count(*)::int AS boxes
      FROM "OcrBox" b JOIN "QuarantinedInstance" q ON q.id = b."quarantinedInstanceId"
      WHERE b."poolId" = ${poolId} GROUP BY 1, 2 ORDER BY 1, 2`,
  ]);
  return { scans, findings };
}

export async function countRedactions(poolId: string): Promise<{ versions: RedactionVersionRow[]; sources: RedactionSourceRow[] }> {
  const [versions, sources] = await Promise.all([
    db.$queryRaw<RedactionVersionRow[]>`
      SELECT "ruleVersion", count(*)::int AS instances, count(*) FILTER (WHERE lossy)::int AS lossy
      FROM "Redaction" WHERE "poolId" = ${poolId} GROUP BY 1 ORDER BY 1`,
    db.$queryRaw<RedactionSourceRow[]>`
      SELECT r."ruleVersion", s.source, count(*) FILTER (WHERE s.n > 0)::int AS instances, coalesce(sum(s.n), 0)::int AS regions
      FROM "Redaction" r
      CROSS JOIN LATERAL (VALUES ('signature', r."signatureRegions"), ('ocr', r."ocrRegions"), ('owner', r."ownerRegions")) AS s(source, n)
      WHERE r."poolId" = ${poolId} GROUP BY 1, 2 HAVING sum(s.n) > 0 ORDER BY 1, 2`,
  ]);
  return { versions, sources };
}
