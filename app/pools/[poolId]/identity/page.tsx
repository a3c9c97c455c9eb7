import Link from 'next/link';
import { identityListQuerySchema } from '@/lib/api/endpoints/deid';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { listIdentityMap } from '@/lib/pools/identity-map';
import { listLookupTables } from '@/lib/pools/lookups';
import { EmptyState, PageHeader } from '@/components/ui';
import { PoolTabs } from '../pool-tabs';
import { LookupTables } from './lookup-tables';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'identity', 'Identity map');
}
// PHI: never served from a cache.
export const dynamic = 'force-dynamic';

export default async function IdentityPage({ params, searchParams }: { params: Promise<{ poolId: string }>; searchParams: Promise<Record<string, string>> }) {
  const { poolId } = await params;
  // Owners only (not admins): lib/auth/access 'identity'. Anyone else gets the not-found page.
  const { actor, pool, poolRole, isAdmin } = await pagePool(poolId, 'identity');
  const parsed = identityListQuerySchema.safeParse(await searchParams);
  const query = parsed.success ? parsed.data : identityListQuerySchema.parse({});
  // Every view is audited (counts only).
  const map = await listIdentityMap(actor, pool.id, query, 'page');
  const tables = await listLookupTables(pool.id);
  const pages = Math.max(1, Math.ceil(map.total / map.pageSize));
  const link = (page: number) => `/pools/${pool.id}/identity?${new URLSearchParams({ ...(query.q ? { q: query.q } : {}), page: String(page) })}`;

  return (
    <>
      <PageHeader
        title={pool.name}
        subtitle="The link between real and research identities. Only this pool’s owners see it; every view and export is recorded in the audit log."
        crumbs={[{ href: '/pools', label: 'Pools' }]}
        actions={
          <>
            <a className="btn" href={`/api/v1/pools/${pool.id}/identity/export?table=patients`} download>Export patients (CSV)</a>
            <a className="btn" href={`/api/v1/pools/${pool.id}/identity/export?table=studies`} download>Export studies (CSV)</a>
          </>
        }
      />
      <PoolTabs poolId={pool.id} active="identity" poolRole={poolRole} isAdmin={isAdmin} />

      <p className="mb-3 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-amber-900">
        This page shows protected health information (MRNs and the source study UIDs). Do not share screenshots or exports outside the honest-broker process.
      </p>

      <form className="mb-3 flex gap-2" role="search">
        <label className="sr-only" htmlFor="q">Search the identity map</label>
        <input id="q" name="q" defaultValue={query.q ?? ''} className="input max-w-xs" placeholder="MRN, research ID or name" autoComplete="off" />
        <button className="btn" type="submit">Search</button>
        {query.q && <Link className="btn" href={`/pools/${pool.id}/identity`}>Clear</Link>}
        <span className="ml-auto self-center text-slate-500 tabular-nums">
          {map.total} {map.total === 1 ? 'patient' : 'patients'} · {map.totalStudies} {map.totalStudies === 1 ? 'study' : 'studies'}
        </span>
      </form>

      {map.total === 0 ? (
        <EmptyState title={query.q ? 'No patient matches this search' : 'No research identity yet'}>
          {query.q
            ? 'Search by the exact MRN, or part of a research ID or name.'
            : 'A patient gets a research identity the first time one of their studies is de-identified into this pool: from the ResearchID of the query row, the research-ID lookup table below, or the pool’s stable pseudonym.'}
        </EmptyState>
      ) : (
        <div className="card overflow-x-auto">
          <table className="table" aria-label="Identity map">
            <thead>
              <tr>
                <th>MRN</th>
                <th>Research ID</th>
                <th>Research name</th>
                <th className="text-right">Date offset (days)</th>
                <th>Studies (source → research Study Instance UID)</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {map.patients.map((p) => (
                <tr key={p.id} className="align-top">
                  <td className="font-mono text-xs">{p.mrn}</td>
                  <td className="font-mono text-xs">{p.researchId}</td>
                  <td>{p.researchName}</td>
                  <td className="text-right tabular-nums">{p.dateOffsetDays > 0 ? `+${p.dateOffsetDays}` : p.dateOffsetDays}</td>
                  <td className="text-xs">
                    {p.studies.length === 0 ? (
                      <span className="text-slate-400">none recorded</span>
                    ) : (
                      <details>
                        <summary className="cursor-pointer">{p.studies.length} {p.studies.length === 1 ? 'study' : 'studies'}</summary>
                        <ul className="mt-1 space-y-1 font-mono">
                          {p.studies.map((s) => (
                            <li key={s.sourceStudyUid} className="break-all">
                              {s.sourceStudyUid} → {s.researchStudyUid}
                            </li>
                          ))}
                        </ul>
                      </details>
                    )}
                  </td>
                  <td className="whitespace-nowrap tabular-nums">{p.createdAt.toISOString().slice(0, 10)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <nav className="mt-3 flex items-center gap-2" aria-label="Pages">
          {query.page > 1 && <Link className="btn btn-sm" href={link(query.page - 1)}>← Previous</Link>}
          <span className="text-slate-500">Page {query.page} of {pages}</span>
          {query.page < pages && <Link className="btn btn-sm" href={link(query.page + 1)}>Next →</Link>}
        </nav>
      )}

      <section className="card mt-6 p-4" aria-labelledby="lookups-title">
        <h2 id="lookups-title" className="mb-1">Lookup tables</h2>
        <p className="mb-3 text-slate-600">
          <strong>Research IDs</strong>: an MRN → ResearchID (, ResearchName) table gives patients the research identity you chose when they first enter the pool
          (a ResearchID column in the query spreadsheet wins over it; a patient who already has an identity keeps it).{' '}
          <strong>Named tables</strong> are used by the rules’ <em>look up</em> overrides (the override’s value is the table name): original value → replacement.
        </p>
        <LookupTables
          poolId={pool.id}
          tables={tables.map((t) => ({ table: t.table, entries: t.entries, updatedAt: t.updatedAt?.toISOString() ?? null, usedBy: t.usedBy }))}
        />
      </section>
    </>
  );
}
