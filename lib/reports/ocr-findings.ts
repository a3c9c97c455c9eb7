/**
 * The OCR and redaction sections of the de-identification report, read from what the OCR work
 * (issue 15 items 2-3, branch i-ocr) stores: OCR findings as boxes with the recognised text's
 * category (never the text), and redactions as new instances.
 *
 * MERGE POINT: until that work is merged these two queries return no rows, and the report says
 * "no OCR findings / no redactions recorded". At merge, replace the bodies with grouped counts over
 * the OCR branch's tables, keeping the row shapes below (counts and categories only; never text,
 * never coordinates that could be matched to a face). See the branch report of helper "stamps".
 */

/** Per rule version and text category: instances with at least one finding, and boxes found. */
export interface OcrFindingRow {
  ruleVersion: number;
  /** The category the OCR step gives the recognised text (e.g. name, date, digits, other). */
  category: string;
  instances: number;
  boxes: number;
}

/** Per rule version and where the regions came from (signature rule, OCR, drawn by the owner). */
export interface RedactionRow {
  ruleVersion: number;
  source: string;
  /** Redacted instances written (each a new instance with its own SOP Instance UID). */
  instances: number;
  /** Instances whose redaction was refused (e.g. lossy re-encoding not allowed). */
  refused: number;
}

/** Instances the OCR step scanned, per rule version (with or without findings). */
export interface OcrScanRow {
  ruleVersion: number;
  scanned: number;
  withText: number;
}

export async function countOcrFindings(_poolId: string): Promise<{ scans: OcrScanRow[]; findings: OcrFindingRow[] }> {
  return { scans: [], findings: [] };
}

export async function countRedactions(_poolId: string): Promise<RedactionRow[]> {
  return [];
}
