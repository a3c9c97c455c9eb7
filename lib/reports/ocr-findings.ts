/**
 * The OCR and redaction sections of the de-identification report, read from what the OCR work
 * (issue 15 items 2-3, branch i-ocr) stores: OcrBox rows (boxes with the recognised text's
 * category, never the text), QuarantinedInstance.ocrStatus / ocrBoxCount, and Redaction rows
 * (a redacted copy written as a new instance, with its regions counted by source).
 *
 * MERGE POINT: on this branch those tables do not exist yet, so both queries return no rows and
 * the report says "none recorded". At merge, replace the two bodies with the grouped counts given
 * in the branch report of helper "stamps" (the row shapes below stay; counts and categories only,
 * never text or coordinates).
 */

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

export async function countOcrFindings(_poolId: string): Promise<{ scans: OcrScanRow[]; findings: OcrFindingRow[] }> {
  return { scans: [], findings: [] };
}

export async function countRedactions(_poolId: string): Promise<{ versions: RedactionVersionRow[]; sources: RedactionSourceRow[] }> {
  return { versions: [], sources: [] };
}
