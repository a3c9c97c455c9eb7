/**
 * The audit log, newest first, 100 events a page, filtered through the URL by action, pool,
 * user and date range (?action=&pool=&user=&from=&to=&page=), with a CSV of the same filter.
 * Events hold ids and counts only, never PHI; names and research IDs are resolved for reading
 * (lib/audit-log/list.ts, which also decides who may read it: administrators).
 */
import Link from 'next/link';
import { pageAdmin } from '@/lib/auth/page';
import { auditPageSchema, auditParams } from '@/lib/audit-log/filters';
import { AUDIT_CSV_MAX, listAuditEvents } from '@/lib/audit-log/list';
import { EmptyState, PageHeader } from '@/components/ui';
import { formatDateTime } from '@/components/admin/format';

export const metadata = { title: 'Audit log' };

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await pageAdmin();
  const sp = await searchParams;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) || undefined;
  const f = auditPageSchema.parse({ page: first(sp.page), action: first(sp.action), pool: first(sp.pool), user: first(sp.user), from: first(sp.from), to: first(sp.to) });
  const { rows, total, pages, actions, pools, users } = await listAuditEvents(actor, f, f.page);

  const poolNames = new Map(pools.map((p) => [p.id, p.name]));
  const userNames = new Map(users.map((u) => [u.id, u.name]));
  const link = (over: Partial<typeof f>) => {
    const s = auditParams({ ...f, page: undefined, ...over }).toString();
    return `/admin/audit${s ? `?${s}` : ''}`;
  };
  const csvHref = `/api/v1/admin/audit/export${auditParams({ ...f, page: undefined }).toString() ? `?${auditParams({ ...f, page: undefined })}` : ''}`;
  const filtered = Boolean(f.action || f.pool || f.user || f.from || f.to);

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Who did what to which pool, and when. Events record ids and counts only, never patient data."
        actions={
          <a className="btn" href={csvHref} download>
            Download CSV{total > AUDIT_CSV_MAX ? ` (newest ${AUDIT_CSV_MAX.toLocaleString('en')})` : ''}
          </a>
        }
      />
      <form className="card mb-3 flex flex-wrap items-end gap-3 p-3" role="search" aria-label="Filter audit events">
        <div>
          <label className="label" htmlFor="action">
            Event
          </label>
          <select id="action" name="action" className="input w-auto" defaultValue={f.action ?? ''}>
            <option value="">All events</option>
            {actions.map((a) => (
              <option key={a.action} value={a.action}>
                {a.label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="user">
            User
          </label>
          <select id="user" name="user" className="input w-auto" defaultValue={f.user ?? ''}>
            <option value="">Everyone</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name} ({u.email})
              </option>
            ))}
            {f.user && !userNames.has(f.user) && <option value={f.user}>(deleted user {f.user})</option>}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="pool">
            Pool
          </label>
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
        <div>
          <label className="label" htmlFor="from">
            From (UTC day)
          </label>
          <input id="from" name="from" type="date" className="input w-auto" defaultValue={f.from ?? ''} />
        </div>
        <div>
          <label className="label" htmlFor="to">
            To (UTC day, included)
          </label>
          <input id="to" name="to" type="date" className="input w-auto" defaultValue={f.to ?? ''} />
        </div>
        <button type="submit" className="btn btn-primary">
          Filter
        </button>
        {filtered && (
          <Link href="/admin/audit" className="btn">
            Clear
          </Link>
        )}
        <span className="ml-auto self-center text-slate-700 tabular-nums" role="status">
          {total.toLocaleString('en')} {total === 1 ? 'event' : 'events'}
        </span>
      </form>

      {rows.length === 0 ? (
        <EmptyState title={filtered ? 'No event matches these filters' : f.page > 1 ? 'No events on this page' : 'No audit events yet'}>
          {filtered ? (
            <>
              Choose other filters, or <Link href="/admin/audit">show every event</Link>.
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
                <th scope="col">Time</th>
                <th scope="col">User</th>
                <th scope="col">Event</th>
                <th scope="col">Pool</th>
                <th scope="col">About</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id}>
                  <td className="whitespace-nowrap tabular-nums text-slate-700" title={e.at.toISOString()}>
                    {formatDateTime(e.at, true)}
                  </td>
                  <td className="whitespace-nowrap">
                    {e.user ? (
                      <Link href={link({ user: e.user.id })} title={`${e.user.email}: show only this user’s events`}>
                        {e.user.name}
                      </Link>
                    ) : e.userId ? (
                      <span className="font-mono text-xs text-slate-600">{e.userId}</span>
                    ) : (
                      <span className="text-slate-600">system</span>
                    )}
                  </td>
                  <td className="whitespace-nowrap">
                    <Link href={link({ action: e.action })} title={`${e.action}: show only these events`}>
                      {e.label}
                    </Link>
                  </td>
                  <td className="whitespace-nowrap">
                    {e.pool ? (
                      e.pool.name ? (
                        <Link href={link({ pool: e.pool.id })} title="Show only this pool’s events">
                          {e.pool.name}
                        </Link>
                      ) : (
                        <span className="font-mono text-xs text-slate-600" title="deleted pool">
                          {e.pool.id}
                        </span>
                      )
                    ) : (
                      <span className="text-slate-600" aria-label="none">
                        —
                      </span>
                    )}
                  </td>
                  <td className="whitespace-nowrap">
                    {e.target ? (
                      <>
                        <span className="text-slate-600">{e.target.type}</span>{' '}
                        {e.target.href ? (
                          <Link href={e.target.href} title={e.target.id}>
                            {e.target.label}
                          </Link>
                        ) : (
                          <span className={e.target.label === e.target.id ? 'font-mono text-xs' : ''} title={e.target.id}>
                            {e.target.label}
                          </span>
                        )}
                      </>
                    ) : (
                      <span className="text-slate-600" aria-label="none">
                        —
                      </span>
                    )}
                  </td>
                  <td className="min-w-48 text-xs">
                    {e.detail.length ? (
                      <details>
                        <summary className="cursor-pointer text-slate-700">
                          {e.detail.length} {e.detail.length === 1 ? 'field' : 'fields'}: {e.detail.slice(0, 2).map(([k]) => k).join(', ')}
                          {e.detail.length > 2 ? '…' : ''}
                        </summary>
                        <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5">
                          {e.detail.map(([k, v]) => (
                            <div key={k} className="contents">
                              <dt className="text-slate-600">{k}</dt>
                              <dd className="break-all font-mono">{v}</dd>
                            </div>
                          ))}
                        </dl>
                      </details>
                    ) : (
                      <span className="text-slate-600" aria-label="none">
                        —
                      </span>
                    )}
                  </td>
                </tr>
              ))}
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
          <span className="text-slate-700 tabular-nums">
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
