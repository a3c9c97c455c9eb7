/**
 * Called once an export reaches COMPLETED, WARNING, FAILED or CANCELED (lib/exports/run-export.ts),
 * after its final counters are written. This is where the receipt is issued (lib/receipts'
 * issueExportReceipt, wired when that capability is merged). It must be idempotent: a job that
 * ran again after a crash may call it twice for the same export. Errors are logged by the
 * caller and do not change the export's outcome.
 */
export async function onExportFinished(_exportId: string): Promise<void> {
  // Intentionally empty in this build.
}
