/**
 * What the pool's Exports page shows: its exports, newest first, with counts, and one export's
 * failed and warned instances (research UIDs and reasons), paged. Read-only; the pool is already
 * authorized by the page (lib/auth/page.ts pagePool). Ids and research UIDs only: nothing here
 * is source identity.
 */
import { db } from '../db';

export const FINISHED_EXPORT_STATES = ['COMPLETED', 'WARNING', 'FAILED', 'CANCELED'] as const;
export const ACTIVE_EXPORT_STATES = ['QUEUED', 'SCHEDULED', 'RUNNING'] as const;
export const FAILURES_PAGE_SIZE = 50;

export interface ExportRowView {
  id: string;
  state: string;
  exporter: { id: string; name: string };
  destination: { name: string; type: 'DICOMWEB' | 'DICOM' };
  scope: { kind: string; studies: number | null };
  resend: boolean;
  requestedBy: string | null;
  total: number;
  sent: number;
  warnings: number;
  failed: number;
  skipped: number;
  lastError: string | null;
  cancelRequested: boolean;
  scheduledFor: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

function scopeOf(raw: unknown): { kind: string; studies: number | null } {
  const s = (raw ?? {}) as { kind?: unknown; studyIds?: unknown };
  return { kind: typeof s.kind === 'string' ? s.kind : 'selection', studies: Array.isArray(s.studyIds) ? s.studyIds.length : null };
}

export async function listPoolExports(poolId: string, limit = 100): Promise<ExportRowView[]> {
  const rows = await db.export.findMany({
    where: { poolId },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit,
    include: { exporter: { select: { id: true, name: true, destination: { select: { name: true, type: true } } } } },
  });
  const userIds = [...new Set(rows.map((r) => r.requestedById).filter((x): x is string => !!x))];
  const users = new Map((await db.user.findMany({ where: { id: { in: userIds } }, select: { id: true, name: true } })).map((u) => [u.id, u.name]));
  return rows.map((r) => ({
    id: r.id,
    state: r.state,
    exporter: { id: r.exporter.id, name: r.exporter.name },
    destination: r.exporter.destination,
    scope: scopeOf(r.scope),
    resend: r.resend,
    requestedBy: r.requestedById ? (users.get(r.requestedById) ?? null) : null,
    total: r.total,
    sent: r.sent,
    warnings: r.warnings,
    failed: r.failed,
    skipped: r.skipped,
    lastError: r.lastError,
    cancelRequested: r.cancelRequested,
    scheduledFor: r.scheduledFor?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
  }));
}

export interface ExportProblemView {
  id: string;
  state: string;
  reason: string | null;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

/** One page of an export's FAILED and WARNING instances (null when the export is not this pool's). */
export async function exportProblems(poolId: string, exportId: string, page: number): Promise<{ total: number; page: number; pages: number; rows: ExportProblemView[] } | null> {
  const ex = await db.export.findUnique({ where: { id: exportId }, select: { poolId: true } });
  if (!ex || ex.poolId !== poolId) return null;
  const where = { exportId, state: { in: ['FAILED', 'WARNING'] } };
  const total = await db.exportInstance.count({ where });
  const pages = Math.max(1, Math.ceil(total / FAILURES_PAGE_SIZE));
  const p = Math.min(Math.max(1, page), pages);
  const rows = await db.exportInstance.findMany({
    where,
    orderBy: [{ state: 'asc' }, { studyInstanceUid: 'asc' }, { seriesInstanceUid: 'asc' }, { sopInstanceUid: 'asc' }],
    skip: (p - 1) * FAILURES_PAGE_SIZE,
    take: FAILURES_PAGE_SIZE,
    select: { id: true, state: true, reason: true, studyInstanceUid: true, seriesInstanceUid: true, sopInstanceUid: true, sopClassUid: true },
  });
  return { total, page: p, pages, rows };
}
