/**
 * The audit log, newest first, 100 events a page, filtered by action and pool through the URL
 * (?action=&pool=&page=). Events hold ids and counts only, never PHI (lib/audit.ts).
 */
import Link from 'next/link';
import { z } from 'zod';
import { pageAdmin } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { EmptyState, PageHeader } from '@/components/ui';
import { formatDateTime } from '@/components/admin/format';

export const metadata = { title: 'Audit log' };

const PAGE_SIZE = 100;

const filterSchema = z.object({
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
  action: z.string().trim().max(64).optional().catch(undefined),
  pool: z.string().trim().max(64).optional().catch(undefined),
});

function compactDetail(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail === 'object' && !Array.isArray(detail))
    return Object.entries(detail as Record<string, unknown>)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
  return JSON.stringify(detail);
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await pageAdmin();
  const sp = await searchParams;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) || undefined;
  const f = filterSchema.parse({ page: first(sp.page), action: first(sp.action), pool: first(sp.pool) });

  const where = { ...(f.action ? { action: f.action } : {}), ...(f.pool ? { poolId: f.pool } : {}) };
  const [events, total, actions, pools] = await Promise.all([
    db.auditEvent.findMany({ where, orderBy: [{ at: 'desc' }, { id: 'desc' }], skip: (f.page - 1) * PAGE_SIZE, take: PAGE_SIZE }),
    db.auditEvent.count({ where }),
    db.auditEvent.groupBy({ by: ['action'], orderBy: { action: 'asc' } }),
    db.pool.findMany({ select: { id: true, name: true }, orderBy: { name: 'asc' } }),
  ]);

  // Names for the ids on this page: users (actor and user targets) and pools (deleted ones keep their id).
  const userIds = new Set<string>();
  for (const e of events) {
    if (e.userId) userIds.add(e.userId);
    if (e.targetType === 'user' && e.targetId) userIds.add(e.targetId);
  }
  const users = new Map((await db.user.findMany({ where: { id: { in: [...userIds] } }, select: { id: true, name: true, email: true } })).map((u) => [u.id, u]));
  const poolNames = new Map(pools.map((p) => [p.id, p.name]));

  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const link = (over: { page?: number }) => {
    const u = new URLSearchParams();
    if (f.action) u.set('action', f.action);
    if (f.pool) u.set('pool', f.pool);
    const page = over.page ?? f.page;
    if (page > 1) u.set('page', String(page));
    const s = u.toString();
    return `/admin/audit${s ? `?${s}` : ''}`;
  };
  const filtered = Boolean(f.action || f.pool);

  return (
    <>
      <PageHeader title="Audit log" subtitle="Who did what to which pool, and when. Events record ids and counts only, never patient data." />
      <form className="mb-3 flex flex-wrap items-end gap-2" role="search" aria-label="Filter audit events">
        <div>
          <label className="label" htmlFor="action">Action</label>
          <select id="action" name="action" className="input w-auto font-mono text-xs" defaultValue={f.action ?? ''}>
            <option value="">All actions</option>
            {actions.map((a) => (
              <option key={a.action} value={a.action}>
                {a.action}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="pool">Pool</label>
          <select id="pool" name="pool" className="input w-auto" defaultValue={f.pool ?? ''}>
            <option value="">All pools</option>
            {pools.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
            {f.pool && !poolNames.has(f.pool) && <option value={f.pool}>(deleted pool {f.pool})</option>}
          </select>
        </div>
        <button type="submit" className="btn">
          Filter
        </button>
        {filtered && (
          <Link href="/admin/audit" className="btn">
            Clear
          </Link>
        )}
        <span className="ml-auto self-center text-slate-500 tabular-nums">
          {total.toLocaleString('en')} {total === 1 ? 'event' : 'events'}
        </span>
      </form>

      {events.length === 0 ? (
        <EmptyState title={filtered ? 'No event matches these filters' : f.page > 1 ? 'No events on this page' : 'No audit events yet'}>
          {filtered ? (
            <>
              Choose another action or pool, or <Link href="/admin/audit">show every event</Link>.
            </>
          ) : (
            'Sign-ins, changes to users, devices, pools and connectors, queries, retrievals, views and downloads are recorded here as they happen.'
          )}
        </EmptyState>
      ) : (
        <div className="card overflow-x-auto">
          <table className="table" aria-label="Audit events">
            <thead>
              <tr>
                <th>Time</th>
                <th>User</th>
                <th>Action</th>
                <th>Pool</th>
                <th>Target</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => {
                const user = e.userId ? users.get(e.userId) : undefined;
                const targetUser = e.targetType === 'user' && e.targetId ? users.get(e.targetId) : undefined;
                const detail = compactDetail(e.detail);
                return (
                  <tr key={e.id}>
                    <td className="whitespace-nowrap tabular-nums text-slate-600" title={e.at.toISOString()}>
                      {formatDateTime(e.at, true)}
                    </td>
                    <td className="whitespace-nowrap">
                      {user ? <span title={user.email}>{user.name}</span> : e.userId ? <span className="font-mono text-xs text-slate-400">{e.userId}</span> : <span className="text-slate-400">system</span>}
                    </td>
                    <td className="whitespace-nowrap">
                      <Link href={`/admin/audit?${new URLSearchParams({ action: e.action, ...(f.pool ? { pool: f.pool } : {}) })}`} className="font-mono text-xs">
                        {e.action}
                      </Link>
                    </td>
                    <td className="whitespace-nowrap">
                      {e.poolId ? (
                        poolNames.has(e.poolId) ? (
                          <Link href={`/admin/audit?${new URLSearchParams({ pool: e.poolId, ...(f.action ? { action: f.action } : {}) })}`}>{poolNames.get(e.poolId)}</Link>
                        ) : (
                          <span className="font-mono text-xs text-slate-400">{e.poolId}</span>
                        )
                      ) : (
                        <span className="text-slate-400">—</span>
                      )}
                    </td>
                    <td className="whitespace-nowrap text-xs">
                      {e.targetType ? (
                        <>
                          <span className="text-slate-500">{e.targetType}</span>{' '}
                          {targetUser ? (
                            <span title={e.targetId ?? ''}>{targetUser.name}</span>
                          ) : e.targetType === 'pool' && e.targetId && poolNames.has(e.targetId) ? (
                            <span title={e.targetId}>{poolNames.get(e.targetId)}</span>
                          ) : (
                            <span className="font-mono">{e.targetId}</span>
                          )}
                        </>
                      ) : (
                        <span className="text-slate-400">—</span>
                      )}
                    </td>
                    <td className="max-w-md truncate font-mono text-xs text-slate-600" title={detail}>
                      {detail}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {pages > 1 && (
        <nav className="mt-3 flex items-center gap-2" aria-label="Pages">
          {f.page > 1 && (
            <Link className="btn btn-sm" href={link({ page: f.page - 1 })}>
              ← Newer
            </Link>
          )}
          <span className="text-slate-500 tabular-nums">
            Page {f.page} of {pages}
          </span>
          {f.page < pages && (
            <Link className="btn btn-sm" href={link({ page: f.page + 1 })}>
              Older →
            </Link>
          )}
        </nav>
      )}
    </>
  );
}
