import Link from 'next/link';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { STUDY_PAGE_SIZES, studyListQuerySchema, type StudyListQuery } from '@/lib/pools/schema';
import { auditPoolView, listPoolModalities, listStudies, summarizeStudies } from '@/lib/pools/studies';
import { exportChoices } from '@/lib/exports/exporters';
import { EmptyState, PageHeader } from '@/components/ui';
import { ExportButton } from '@/components/exports/export-dialog';
import { PoolTabs } from './pool-tabs';
import { StudiesTable, type SortHeader } from './studies-table';

const COLUMNS: { key: StudyListQuery['sort']; label: string; right?: boolean; firstDir: 'asc' | 'desc' }[] = [
  { key: 'patientId', label: 'Research ID', firstDir: 'asc' },
  { key: 'studyDate', label: 'Study date', firstDir: 'desc' },
  { key: 'studyDescription', label: 'Description', firstDir: 'asc' },
  { key: 'modalities', label: 'Modalities', firstDir: 'asc' },
  { key: 'numSeries', label: 'Series', right: true, firstDir: 'desc' },
  { key: 'numInstances', label: 'Instances', right: true, firstDir: 'desc' },
];

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'read', 'Studies');
}

export default async function PoolPage({ params, searchParams }: { params: Promise<{ poolId: string }>; searchParams: Promise<Record<string, string>> }) {
  const { poolId } = await params;
  const access = await pagePool(poolId, 'read');
  const { actor, pool, poolRole, isAdmin } = access;
  const sp = await searchParams;
  // The page opens grouped by patient (research ID, each patient's studies newest first); the API's
  // default order (newest study first) is unchanged.
  const withDefault = sp.sort ? sp : { ...sp, sort: 'patientId', dir: sp.dir ?? 'asc' };
  const parsed = studyListQuerySchema.safeParse(withDefault);
  const q = parsed.success ? parsed.data : studyListQuerySchema.parse({ sort: 'patientId', dir: 'asc' });
  const [{ rows, total, totalEstimated }, modalities, exporters] = await Promise.all([listStudies(pool.id, q), listPoolModalities(pool.id), exportChoices(access.actor, access)]);
  const { byStudy, studiesOfPatient } = await summarizeStudies(pool.id, rows);
  await auditPoolView(actor, pool.id, 'page');
  const pages = Math.max(1, Math.ceil(total / q.pageSize));
  const filtered = Boolean(q.q || q.modality);

  const link = (over: Partial<Record<keyof StudyListQuery, string | number>>) => {
    const base: Record<string, string> = { sort: q.sort, dir: q.dir, page: String(q.page), pageSize: String(q.pageSize) };
    if (q.q) base.q = q.q;
    if (q.modality) base.modality = q.modality;
    for (const [k, v] of Object.entries(over)) base[k] = String(v);
    if (base.pageSize === '50') delete base.pageSize;
    if (base.page === '1') delete base.page;
    return `/pools/${pool.id}?${new URLSearchParams(base)}`;
  };
  const headers: SortHeader[] = COLUMNS.map((c) => ({
    label: c.label,
    right: c.right,
    active: q.sort === c.key ? q.dir : null,
    href: link({ sort: c.key, dir: q.sort === c.key ? (q.dir === 'desc' ? 'asc' : 'desc') : c.firstDir, page: 1 }),
  }));
  headers.splice(3, 0, { label: 'Body part', href: null, active: null });
  const first = total === 0 ? 0 : (q.page - 1) * q.pageSize + 1;
  const last = totalEstimated ? first + rows.length - 1 : Math.min(total, q.page * q.pageSize);
  // Past STUDY_COUNT_EXACT_UP_TO matches the total is PostgreSQL's estimate: said as "about",
  // rounded, and the pager offers no "Last" page (its number would be a guess).
  const about = (n: number) => `about ${Number(n.toPrecision(2)).toLocaleString('en-US')}`;
  const totalText = totalEstimated ? about(total) : total.toLocaleString('en-US');
  const hasNext = totalEstimated ? rows.length === q.pageSize : q.page < pages;

  return (
    <>
      <PageHeader
        title={pool.name}
        subtitle={pool.description}
        crumbs={[{ href: '/pools', label: 'Pools' }]}
        actions={exporters?.length && total > 0 ? <ExportButton poolId={pool.id} exporters={exporters} scope={{ wholePool: true, label: `the whole pool “${pool.name}”` }} /> : undefined}
      />
      <PoolTabs poolId={pool.id} active="studies" poolRole={poolRole} isAdmin={isAdmin} />
      {pool.closedAt && (
        <p className="card mb-3 border-amber-200 bg-amber-50 p-3 text-amber-900" role="status">
          {pool.purgedAt
            ? `This pool was closed out: its data was purged on ${pool.purgedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`
            : 'This pool is being closed out: its data is being purged.'}{' '}
          It takes no new data.
          {pool.purgedAt && (poolRole === 'OWNER' || isAdmin) && (
            <>
              {' '}
              <a href={`/api/v1/pools/${pool.id}/purge/receipt`} download>Download the signed purge receipt</a>
            </>
          )}
        </p>
      )}
      <form className="mb-3 flex flex-wrap items-end gap-2" role="search" aria-label="Find studies">
        <div>
          <label className="label" htmlFor="q">Search</label>
          <input id="q" name="q" type="search" defaultValue={q.q ?? ''} placeholder="Research ID, name or description" className="input w-72" />
        </div>
        <div>
          <label className="label" htmlFor="modality">Modality</label>
          <select id="modality" name="modality" defaultValue={q.modality ?? ''} className="input w-28">
            <option value="">Any</option>
            {modalities.map((m) => (
              <option key={m} value={m}>{m}</option>
            ))}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="pageSize">Per page</label>
          <select id="pageSize" name="pageSize" defaultValue={String(q.pageSize)} className="input w-20">
            {STUDY_PAGE_SIZES.map((n) => (
              <option key={n} value={n}>{n}</option>
            ))}
          </select>
        </div>
        <input type="hidden" name="sort" value={q.sort} />
        <input type="hidden" name="dir" value={q.dir} />
        <button className="btn" type="submit">Search</button>
        {filtered && (
          <Link className="btn" href={`/pools/${pool.id}`}>
            Clear
          </Link>
        )}
        <span className="ml-auto self-center tabular-nums text-slate-500" aria-live="polite">
          {totalText} {total === 1 ? 'study' : 'studies'}
          {filtered ? ' match' : ''}
        </span>
      </form>
      {total === 0 ? (
        <EmptyState title={filtered ? 'No study matches this search' : 'This pool has no studies yet'}>
          {filtered
            ? 'Try another research ID, part of a description or another modality, or clear the search.'
            : 'Studies appear here once a coordinator retrieves them from the PACS and they have been de-identified with this pool’s rules.'}
        </EmptyState>
      ) : rows.length === 0 ? (
        <EmptyState title={`There is no page ${q.page}`}>
          <Link href={link({ page: pages })}>Go to the last page ({pages})</Link>
        </EmptyState>
      ) : (
        <StudiesTable
          poolId={pool.id}
          headers={headers}
          grouped={q.sort === 'patientId'}
          exporters={exporters}
          rows={rows.map((s) => {
            const sum = byStudy.get(s.id);
            const first = sum?.series.find((x) => x.numInstances > 0);
            return {
              id: s.id,
              studyInstanceUid: s.studyInstanceUid,
              patientId: s.patientId,
              studyDate: s.studyDate,
              studyDescription: s.studyDescription,
              modalities: s.modalities,
              numSeries: s.numSeries,
              numInstances: s.numInstances,
              seriesLabels: (sum?.series ?? []).map((x) => x.seriesDescription.trim() || `S${x.seriesNumber ?? '?'} ${x.modality}`.trim()),
              bodyParts: sum?.bodyParts ?? [],
              thumbnail: first ? { seriesId: first.id, version: first.numInstances } : null,
              studiesOfPatient: studiesOfPatient.get(s.patientId) ?? 1,
            };
          })}
        />
      )}
      {total > 0 && (
        <nav className="mt-3 flex flex-wrap items-center gap-2" aria-label="Pages">
          <span className="tabular-nums text-slate-500">
            {first.toLocaleString('en-US')}–{last.toLocaleString('en-US')} of {totalText}
          </span>
          {pages > 1 && (
            <span className="ml-auto flex items-center gap-1">
              {q.page > 1 ? (
                <>
                  <Link className="btn btn-sm" href={link({ page: 1 })} aria-label="First page">« First</Link>
                  <Link className="btn btn-sm" href={link({ page: q.page - 1 })} rel="prev">‹ Previous</Link>
                </>
              ) : null}
              <span className="px-2 tabular-nums text-slate-600">
                Page {q.page} of {totalEstimated ? about(pages) : pages}
              </span>
              {hasNext ? (
                <>
                  <Link className="btn btn-sm" href={link({ page: q.page + 1 })} rel="next">Next ›</Link>
                  {!totalEstimated && <Link className="btn btn-sm" href={link({ page: pages })} aria-label="Last page">Last »</Link>}
                </>
              ) : null}
            </span>
          )}
        </nav>
      )}
    </>
  );
}
