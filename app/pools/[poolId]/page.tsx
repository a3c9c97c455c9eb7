import Link from 'next/link';
import { pagePool } from '@/lib/auth/page';
import { studyListQuerySchema } from '@/lib/pools/schema';
import { listStudies } from '@/lib/pools/studies';
import { EmptyState, PageHeader, formatDicomDate } from '@/components/ui';
import { PoolTabs } from './pool-tabs';

const COLUMNS = [
  { key: 'patientId', label: 'Research ID' },
  { key: 'studyDate', label: 'Study date' },
  { key: 'studyDescription', label: 'Description' },
  { key: null, label: 'Modalities' },
  { key: null, label: 'Series', right: true },
  { key: 'numInstances', label: 'Instances', right: true },
] as const;

export default async function PoolPage({ params, searchParams }: { params: Promise<{ poolId: string }>; searchParams: Promise<Record<string, string>> }) {
  const { poolId } = await params;
  const { pool, poolRole, isAdmin } = await pagePool(poolId, 'read');
  const sp = await searchParams;
  const parsed = studyListQuerySchema.safeParse(sp);
  const q = parsed.success ? parsed.data : studyListQuerySchema.parse({});
  const { rows, total } = await listStudies(pool.id, q);
  const pages = Math.max(1, Math.ceil(total / q.pageSize));
  const link = (over: Record<string, string | number>) => {
    const u = new URLSearchParams({ ...(q.q ? { q: q.q } : {}), sort: q.sort, dir: q.dir, page: String(q.page), ...Object.fromEntries(Object.entries(over).map(([k, v]) => [k, String(v)])) });
    return `/pools/${pool.id}?${u}`;
  };
  return (
    <>
      <PageHeader title={pool.name} subtitle={pool.description} crumbs={[{ href: '/pools', label: 'Pools' }]} />
      <PoolTabs poolId={pool.id} active="studies" poolRole={poolRole} isAdmin={isAdmin} />
      <form className="mb-3 flex gap-2" role="search">
        <label className="sr-only" htmlFor="q">Search studies</label>
        <input id="q" name="q" defaultValue={q.q ?? ''} placeholder="Search research ID or description" className="input max-w-xs" />
        <input type="hidden" name="sort" value={q.sort} />
        <input type="hidden" name="dir" value={q.dir} />
        <button className="btn" type="submit">Search</button>
        <span className="ml-auto self-center text-slate-500 tabular-nums">{total} {total === 1 ? 'study' : 'studies'}</span>
      </form>
      {total === 0 ? (
        <EmptyState title={q.q ? 'No study matches this search' : 'This pool has no studies yet'}>
          {q.q
            ? 'Try another research ID or part of a description.'
            : 'Studies appear here once a coordinator retrieves them from the PACS and they have been de-identified with this pool’s rules.'}
        </EmptyState>
      ) : (
        <div className="card overflow-x-auto">
          <table className="table" aria-label="Studies">
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th key={c.label} className={'right' in c && c.right ? 'text-right' : ''} aria-sort={c.key && q.sort === c.key ? (q.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
                    {c.key ? (
                      <Link href={link({ sort: c.key, dir: q.sort === c.key && q.dir === 'desc' ? 'asc' : 'desc', page: 1 })} className="text-slate-600">
                        {c.label} {q.sort === c.key ? (q.dir === 'asc' ? '▲' : '▼') : ''}
                      </Link>
                    ) : (
                      c.label
                    )}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.id}>
                  <td className="font-mono text-xs">
                    <Link href={`/pools/${pool.id}/studies/${s.id}`}>{s.patientId}</Link>
                  </td>
                  <td className="tabular-nums">{formatDicomDate(s.studyDate)}</td>
                  <td>{s.studyDescription}</td>
                  <td>{s.modalities.split('\\').join(', ')}</td>
                  <td className="text-right tabular-nums">{s.numSeries}</td>
                  <td className="text-right tabular-nums">{s.numInstances}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <nav className="mt-3 flex items-center gap-2" aria-label="Pages">
          {q.page > 1 && <Link className="btn btn-sm" href={link({ page: q.page - 1 })}>← Previous</Link>}
          <span className="text-slate-500">Page {q.page} of {pages}</span>
          {q.page < pages && <Link className="btn btn-sm" href={link({ page: q.page + 1 })}>Next →</Link>}
        </nav>
      )}
    </>
  );
}
