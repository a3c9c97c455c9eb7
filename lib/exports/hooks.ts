/**
 * Called once an export reaches COMPLETED, WARNING, FAILED or CANCELED (lib/exports/run-export.ts),
 * after its final counters are written: issues the export's signed receipt (lib/receipts/export.ts,
 * docs/exports.md "Receipts"). Idempotent: a job that ran again after a crash may call it twice
 * for the same export, and issueExportReceipt returns the receipt already issued for that attempt.
 * Errors are logged by the caller and do not change the export's outcome (a receipt not issued
 * here is issued on its first download).
 */
import { issueExportReceipt } from '../receipts/export';

export async function onExportFinished(exportId: string): Promise<void> {
  await issueExportReceipt(exportId);
}
