/**
 * Export receipts: a signed statement of what one export attempt sent where (docs/exports.md,
 * "Receipts"). Issued when an export finishes (lib/exports/hooks.ts onExportFinished), or on the
 * first download of a finished export that has none yet.
 *
 * One receipt per export attempt (Export.attempts): issuing again for the same attempt returns
 * the stored receipt unchanged, a retry (next attempt) gets its own receipt and the earlier ones
 * are kept; the download gives the latest.
 *
 * Contents: research UIDs only (an export never carries source UIDs), no credentials: the STOW-RS
 * URL loses its user info, query and fragment.
 */
import { db } from '../db';
import { AppError } from '../errors';
import { signReceipt, type Json, type ReceiptDocument } from './index';

/** Export states after which nothing more is sent for the attempt. */
export const FINISHED_EXPORT_STATES = ['COMPLETED', 'WARNING', 'FAILED', 'CANCELED'] as const;

/** A URL as it may appear in a receipt: no user:password, no query (tokens), no fragment. */
export function publicUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return null;
  }
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Builds the receipt body of an export's current attempt (exported for tests). */
export async function exportReceiptBody(exportId: string): Promise<{ poolId: string; attempt: number; body: { [k: string]: Json } }> {
  const exp = await db.export.findUnique({
    where: { id: exportId },
    include: { pool: { select: { id: true, name: true } }, exporter: { include: { destination: { include: { device: true } } } } },
  });
  if (!exp) throw new AppError('NOT_FOUND', 'Export not found');
  const instances = await db.exportInstance.findMany({ where: { exportId }, orderBy: { sopInstanceUid: 'asc' } });
  const ids = instances.map((i) => i.instanceId).filter((x): x is string => !!x);
  const versions = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 5000) {
    const rows = await db.instance.findMany({ where: { id: { in: ids.slice(i, i + 5000) } }, select: { id: true, ruleVersion: true } });
    for (const r of rows) versions.set(r.id, r.ruleVersion);
  }
  const dest = exp.exporter.destination;
  const destination: { [k: string]: Json } =
    dest.type === 'DICOM'
      ? { id: dest.id, name: dest.name, type: 'DICOM', aeTitle: dest.device?.aeTitle ?? null, host: dest.device?.host ?? null, port: dest.device?.port ?? null }
      : { id: dest.id, name: dest.name, type: 'DICOMWEB', stowUrl: publicUrl(dest.webStowUrl) };
  const ruleVersions = [...new Set(versions.values())].sort((a, b) => a - b);
  const body: { [k: string]: Json } = {
    export: {
      id: exp.id,
      attempt: exp.attempts,
      state: exp.state,
      resend: exp.resend,
      requestedAt: iso(exp.createdAt),
      startedAt: iso(exp.startedAt),
      finishedAt: iso(exp.finishedAt),
      counts: { total: exp.total, sent: exp.sent, warnings: exp.warnings, failed: exp.failed, skipped: exp.skipped },
    },
    pool: { id: exp.pool.id, name: exp.pool.name },
    exporter: { id: exp.exporter.id, name: exp.exporter.name, storageCommitment: exp.exporter.storageCommitment },
    destination,
    ruleVersions,
    instances: instances.map((i) => ({
      studyInstanceUid: i.studyInstanceUid,
      seriesInstanceUid: i.seriesInstanceUid,
      sopInstanceUid: i.sopInstanceUid,
      sopClassUid: i.sopClassUid,
      state: i.state,
      reason: i.reason,
      transferSyntax: i.transferSyntaxSent,
      sha256: i.sha256,
      commitment: i.commitment,
      sentAt: iso(i.sentAt),
      ruleVersion: i.instanceId ? (versions.get(i.instanceId) ?? null) : null,
    })),
  };
  return { poolId: exp.poolId, attempt: exp.attempts, body };
}

/** Signs and stores the receipt of the export's current attempt (idempotent per attempt). */
export async function issueExportReceipt(exportId: string): Promise<{ id: string; document: ReceiptDocument }> {
  const { poolId, attempt, body } = await exportReceiptBody(exportId);
  return signReceipt('export', poolId, body, { exportId, attempt });
}

/**
 * The receipt to download for an export of `poolId`: the latest issued, or, for a finished export
 * without one (issued lazily), a new one. 404 for an export of another pool; 409 while it runs.
 */
export async function exportReceiptFor(poolId: string, exportId: string): Promise<ReceiptDocument> {
  const exp = await db.export.findFirst({ where: { id: exportId, poolId }, select: { id: true, state: true, attempts: true } });
  if (!exp) throw new AppError('NOT_FOUND', 'Export not found');
  const current = await db.receipt.findFirst({ where: { exportId, poolId, attempt: exp.attempts } });
  if (current) return current.document as unknown as ReceiptDocument;
  if ((FINISHED_EXPORT_STATES as readonly string[]).includes(exp.state)) return (await issueExportReceipt(exportId)).document;
  const earlier = await db.receipt.findFirst({ where: { exportId, poolId }, orderBy: { createdAt: 'desc' } });
  if (earlier) return earlier.document as unknown as ReceiptDocument;
  throw new AppError('CONFLICT', 'The export has not finished yet: its receipt is issued when it finishes');
}
