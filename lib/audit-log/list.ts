/**
 * The audit log as people read it (/admin/audit and its CSV export): events with readable action
 * names, the people, pools and things they name resolved to names and links, filtered and paged.
 *
 * Who may read it: administrators only, decided here (requireAdmin) for the page and the CSV
 * alike. What it shows: what audit rows hold (ids, counts, AE titles; never PHI) plus names
 * resolved from ids — users, pools, devices, connectors, and for a study its research ID (the
 * de-identified patient ID an administrator also sees in the pool). Never a source identity: no
 * MRN, patient name, accession number or source UID is read for this page.
 */
import type { Actor } from '../auth/actor';
import { requireAdmin } from '../auth/access';
import { db } from '../db';
import { actionLabel } from './labels';
import { auditWhere, type AuditFilter } from './filters';

export const AUDIT_PAGE_SIZE = 100;
/** The CSV holds at most this many events (newest first); narrow the filters for more. */
export const AUDIT_CSV_MAX = 50_000;

export interface AuditTarget {
  type: string;
  id: string;
  label: string;
  href: string | null;
}

export interface AuditRow {
  id: string;
  at: Date;
  action: string;
  label: string;
  user: { id: string; name: string; email: string } | null;
  userId: string | null;
  pool: { id: string; name: string | null } | null;
  target: AuditTarget | null;
  detail: [string, string][];
}

type EventRow = { id: string; at: Date; userId: string | null; action: string; poolId: string | null; targetType: string | null; targetId: string | null; detail: unknown };

function detailEntries(detail: unknown): [string, string][] {
  if (detail === null || detail === undefined) return [];
  if (typeof detail === 'object' && !Array.isArray(detail))
    return Object.entries(detail as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  return [['value', JSON.stringify(detail)]];
}

const idsOf = (events: EventRow[], type: string) => [...new Set(events.filter((e) => e.targetType === type && e.targetId).map((e) => e.targetId!))];

/** Names and links for the ids on one page of events (a handful of batched look-ups). */
async function resolve(events: EventRow[]): Promise<AuditRow[]> {
  const userIds = new Set<string>();
  const poolIds = new Set<string>();
  for (const e of events) {
    if (e.userId) userIds.add(e.userId);
    if (e.poolId) poolIds.add(e.poolId);
  }
  for (const id of idsOf(events, 'user')) userIds.add(id);
  for (const id of idsOf(events, 'pool')) poolIds.add(id);
  const [users, pools, studies, devices, connectors, retrievals] = await Promise.all([
    db.user.findMany({ where: { id: { in: [...userIds] } }, select: { id: true, name: true, email: true } }),
    db.pool.findMany({ where: { id: { in: [...poolIds] } }, select: { id: true, name: true } }),
    // The research ID only (de-identified); the source identity is never read here.
    db.study.findMany({ where: { id: { in: idsOf(events, 'study') } }, select: { id: true, poolId: true, patientId: true } }),
    db.device.findMany({ where: { id: { in: idsOf(events, 'device') } }, select: { id: true, name: true } }),
    db.connector.findMany({ where: { id: { in: idsOf(events, 'connector') } }, select: { id: true, name: true } }),
    db.retrieval.findMany({ where: { id: { in: idsOf(events, 'retrieval') } }, select: { id: true, poolId: true, queryId: true } }),
  ]);
  const user = new Map(users.map((u) => [u.id, u]));
  const pool = new Map(pools.map((p) => [p.id, p.name]));
  const study = new Map(studies.map((s) => [s.id, s]));
  const device = new Map(devices.map((d) => [d.id, d.name]));
  const connector = new Map(connectors.map((c) => [c.id, c.name]));
  const retrieval = new Map(retrievals.map((r) => [r.id, r]));

  const target = (e: EventRow): AuditTarget | null => {
    if (!e.targetType) return null;
    const id = e.targetId ?? '';
    const t = { type: e.targetType, id, label: id, href: null as string | null };
    switch (e.targetType) {
      case 'user': {
        const u = user.get(id);
        return u ? { ...t, label: u.name, href: `/admin/audit?user=${encodeURIComponent(id)}` } : t;
      }
      case 'pool': {
        const name = pool.get(id);
        return name ? { ...t, label: name, href: `/pools/${encodeURIComponent(id)}` } : t;
      }
      case 'study': {
        const s = study.get(id);
        return s ? { ...t, label: `research ID ${s.patientId || '(none)'}`, href: `/pools/${encodeURIComponent(s.poolId)}/studies/${encodeURIComponent(id)}` } : { ...t, label: `${id} (deleted)` };
      }
      case 'device': {
        const name = device.get(id);
        return name ? { ...t, label: name, href: '/admin/devices' } : t;
      }
      case 'connector': {
        const name = connector.get(id);
        return name ? { ...t, label: name, href: '/admin/connectors' } : t;
      }
      case 'query':
        return e.poolId ? { ...t, label: 'query', href: `/pools/${encodeURIComponent(e.poolId)}/queries/${encodeURIComponent(id)}` } : t;
      case 'receipt':
        // The purge receipt (pool.purge): counts and hashes, downloadable by the pool's owner and administrators.
        return e.action === 'pool.purge' && e.poolId ? { ...t, label: 'purge receipt', href: `/api/v1/pools/${encodeURIComponent(e.poolId)}/purge/receipt` } : t;
      case 'retrieval': {
        const r = retrieval.get(id);
        return r ? { ...t, label: 'a study of a query', href: `/pools/${encodeURIComponent(r.poolId)}/queries/${encodeURIComponent(r.queryId)}` } : t;
      }
      default:
        return t;
    }
  };

  return events.map((e) => {
    const u = e.userId ? user.get(e.userId) : undefined;
    return {
      id: e.id,
      at: e.at,
      action: e.action,
      label: actionLabel(e.action),
      userId: e.userId,
      user: u ? { id: u.id, name: u.name, email: u.email } : null,
      pool: e.poolId ? { id: e.poolId, name: pool.get(e.poolId) ?? null } : null,
      target: target(e),
      detail: detailEntries(e.detail),
    };
  });
}

/** One page of events, newest first, with the total and what the filter menus offer. */
export async function listAuditEvents(actor: Actor | null, filter: AuditFilter, page = 1) {
  requireAdmin(actor);
  const where = auditWhere(filter);
  const [events, total, actions, pools, users] = await Promise.all([
    db.auditEvent.findMany({ where, orderBy: [{ at: 'desc' }, { id: 'desc' }], skip: (page - 1) * AUDIT_PAGE_SIZE, take: AUDIT_PAGE_SIZE }),
    db.auditEvent.count({ where }),
    db.auditEvent.groupBy({ by: ['action'], orderBy: { action: 'asc' } }),
    db.pool.findMany({ select: { id: true, name: true }, orderBy: { name: 'asc' } }),
    db.user.findMany({ select: { id: true, name: true, email: true }, orderBy: { name: 'asc' } }),
  ]);
  return {
    rows: await resolve(events),
    total,
    page,
    pages: Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE)),
    actions: actions.map((a) => ({ action: a.action, label: actionLabel(a.action) })).sort((a, b) => a.label.localeCompare(b.label)),
    pools,
    users,
  };
}

/** A CSV cell: quoted, and a leading = + - @ (a spreadsheet formula) defused with a quote mark. */
export function csvCell(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return `"${safe.replace(/"/g, '""')}"`;
}

export const AUDIT_CSV_COLUMNS = ['time_utc', 'event', 'action', 'user', 'user_email', 'pool', 'pool_id', 'target_type', 'target', 'target_id', 'detail'] as const;

/** The filtered events as CSV (newest first, at most AUDIT_CSV_MAX), the same fields the page shows. */
export async function auditCsv(actor: Actor | null, filter: AuditFilter): Promise<{ csv: string; rows: number; truncated: boolean }> {
  requireAdmin(actor);
  const where = auditWhere(filter);
  const lines = [AUDIT_CSV_COLUMNS.join(',')];
  let rows = 0;
  let cursor: { at: Date; id: string } | null = null;
  const BATCH = 2_000;
  while (rows < AUDIT_CSV_MAX) {
    const c: { at: Date; id: string } | null = cursor;
    const batch: EventRow[] = await db.auditEvent.findMany({
      where: c ? { AND: [where, { OR: [{ at: { lt: c.at } }, { at: c.at, id: { lt: c.id } }] }] } : where,
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: Math.min(BATCH, AUDIT_CSV_MAX - rows),
    });
    if (!batch.length) break;
    for (const r of await resolve(batch)) {
      lines.push(
        [
          r.at.toISOString(),
          r.label,
          r.action,
          r.user?.name ?? (r.userId ? r.userId : 'system'),
          r.user?.email ?? '',
          r.pool?.name ?? '',
          r.pool?.id ?? '',
          r.target?.type ?? '',
          r.target?.label ?? '',
          r.target?.id ?? '',
          r.detail.map(([k, v]) => `${k}=${v}`).join(' '),
        ]
          .map(csvCell)
          .join(','),
      );
    }
    rows += batch.length;
    const last = batch[batch.length - 1];
    cursor = { at: last.at, id: last.id };
    if (batch.length < BATCH) break;
  }
  const truncated = rows >= AUDIT_CSV_MAX && (await db.auditEvent.count({ where, take: AUDIT_CSV_MAX + 1 })) > AUDIT_CSV_MAX;
  return { csv: lines.join('\r\n') + '\r\n', rows, truncated };
}
