import Link from 'next/link';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { exportChoices } from '@/lib/exports/exporters';
import { exportProblems, listPoolExports } from '@/lib/exports/views';
import { EmptyState, PageHeader } from '@/components/ui';
import { ExportButton } from '@/components/exports/export-dialog';
import { ExportsLive } from '@/components/exports/exports-live';
import { PoolTabs } from '../pool-tabs';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'read', 'Exports');
}

function positiveInt(v: string | undefined): number {
  return v && /^\d{1,6}$/.test(v) && Number(v) >= 1 ? Number(v) : 1;
}

export default async function PoolExportsPage({ params, searchParams }: { params: Promise<{ poolId: string }>; searchParams: Promise<Record<string, string | undefined>> }) {
  const { poolId } = await params;
  const access = await pagePool(poolId, 'read');
  const { pool, poolRole, isAdmin, isOwner } = access;
  const sp = await searchParams;
  const [exports, exporters] = await Promise.all([listPoolExports(pool.id), exportChoices(access.actor, access)]);
  const selectedId = sp.export && exports.some((e) => e.id === sp.export) ? sp.export : null;
  const problems = selectedId ? await exportProblems(pool.id, selectedId, positiveInt(sp.page)) : null;
  const selected = selectedId ? exports.find((e) => e.id === selectedId)! : null;
  const pageLink = (p: number) => `/pools/${pool.id}/exports?export=${selectedId}&page=${p}#problems`;
  return (
    <>
      <PageHeader
        title={pool.name}
        subtitle="Exports: studies of this pool sent to an archive, with their progress, failures and receipts."
        crumbs={[{ href: '/pools', label: 'Pools' }]}
        actions={exporters && exporters.length > 0 ? <ExportButton poolId={pool.id} exporters={exporters} scope={{ wholePool: true, label: `the whole pool “${pool.name}”` }} /> : undefined}
      />
      <PoolTabs poolId={pool.id} active="exports" poolRole={poolRole} isAdmin={isAdmin} />
      {exports.length === 0 ? (
        <EmptyState title="Nothing has been exported from this pool yet">
          {exporters && exporters.length > 0 ? (
            <>
              Tick studies on the <Link href={`/pools/${pool.id}`}>Studies</Link> page and choose <strong>Export…</strong>, or export the whole pool with the
              button above. Each export shows its progress here, and a signed receipt once it has finished.
            </>
          ) : isOwner ? (
            <>
              This pool has no exporter yet. Set one up on the <Link href={`/pools/${pool.id}/exporters`}>Exporters</Link> page: it names the archive (a
              destination an administrator registered) and how to send to it.
            </>
          ) : (
            <>This pool has no exporter yet. Its owner sets one up; then members can send studies to that archive from the Studies page.</>
          )}
        </EmptyState>
      ) : (
        <ExportsLive poolId={pool.id} exports={exports} selected={selectedId} canAct={!!exporters} />
      )}
      {selected && problems && (problems.total > 0 || ['COMPLETED', 'WARNING', 'FAILED', 'CANCELED'].includes(selected.state)) && (
        <section id="problems" className="card mt-4 p-4" aria-labelledby="problems-title">
          <h2 id="problems-title" className="mb-1">
            Failures and warnings of the export to {selected.destination.name}
          </h2>
          <p className="mb-3 text-sm text-slate-600">
            {problems.total === 0
              ? 'No instance failed or was sent with a warning.'
              : `${problems.total.toLocaleString('en-US')} instance(s); the reason is what the destination answered, or why the instance could not be sent. Research UIDs.`}
          </p>
          {problems.total > 0 && (
            <div className="overflow-x-auto">
              <table className="table" aria-label="Failed and warned instances">
                <thead>
                  <tr>
                    <th>Outcome</th>
                    <th>Reason</th>
                    <th>SOP Instance UID</th>
                    <th>Series / study</th>
                  </tr>
                </thead>
                <tbody>
                  {problems.rows.map((r) => (
                    <tr key={r.id}>
                      <td>{r.state === 'FAILED' ? <span className="badge bg-rose-100 text-rose-800">failed</span> : <span className="badge bg-amber-100 text-amber-800">warning</span>}</td>
                      <td className="max-w-md text-sm">{r.reason ?? '—'}</td>
                      <td className="break-all font-mono text-xs">{r.sopInstanceUid}</td>
                      <td className="break-all font-mono text-xs text-slate-600">
                        {r.seriesInstanceUid}
                        <span className="block">{r.studyInstanceUid}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {problems.pages > 1 && (
            <nav className="mt-3 flex items-center gap-2" aria-label="Failure pages">
              {problems.page > 1 && (
                <Link className="btn btn-sm" href={pageLink(problems.page - 1)} rel="prev">
                  ‹ Previous
                </Link>
              )}
              <span className="tabular-nums text-slate-600">
                Page {problems.page} of {problems.pages}
              </span>
              {problems.page < problems.pages && (
                <Link className="btn btn-sm" href={pageLink(problems.page + 1)} rel="next">
                  Next ›
                </Link>
              )}
            </nav>
          )}
        </section>
      )}
    </>
  );
}
