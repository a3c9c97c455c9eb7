import Link from 'next/link';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { listCohortChoices } from '@/lib/cohorts/sources';
import { listQueries } from '@/lib/queries/queries';
import { EmptyState, PageHeader, StateBadge } from '@/components/ui';
import { PoolTabs } from '../pool-tabs';
import { CohortForm, type CohortChoice } from './cohort-form';
import { QueryForm } from './query-form';
import { SpreadsheetForm } from './spreadsheet-form';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'coordinate', 'Query');
}

export default async function QueryPage({ params }: { params: Promise<{ poolId: string }> }) {
  const { poolId } = await params;
  const { pool, poolRole, isAdmin } = await pagePool(poolId, 'coordinate');
  const connectors = await db.connector.findMany({ select: { id: true, name: true, schedule: true }, orderBy: { name: 'asc' } });
  const { rows } = await listQueries(pool.id, 1, 25);
  const cohorts: CohortChoice[] = await listCohortChoices();
  return (
    <>
      <PageHeader title={pool.name} subtitle="Find a patient's studies at the PACS and retrieve them, de-identified, into this pool." crumbs={[{ href: '/pools', label: 'Pools' }]} />
      <PoolTabs poolId={pool.id} active="query" poolRole={poolRole} isAdmin={isAdmin} />
      <div className="grid gap-5 lg:grid-cols-[22rem_1fr]">
        <section className="card p-4">
          <h2 className="mb-3">One MRN</h2>
          {connectors.length === 0 ? (
            <p className="text-slate-600">No connector is configured yet. An administrator creates one under Connectors.</p>
          ) : (
            <QueryForm poolId={pool.id} connectors={connectors} />
          )}
          {connectors.length > 0 && (
            <>
              <h2 className="mb-2 mt-6 border-t border-slate-100 pt-4">From a spreadsheet</h2>
              <SpreadsheetForm poolId={pool.id} connectors={connectors} />
            </>
          )}
          {cohorts.length > 0 && (
            <>
              <h2 className="mb-2 mt-6 border-t border-slate-100 pt-4">From a database cohort</h2>
              <CohortForm poolId={pool.id} sources={cohorts} />
            </>
          )}
        </section>
        <section>
          <h2 className="mb-2">Recent queries</h2>
          {rows.length === 0 ? (
            <EmptyState title="No queries yet">Run a query on the left: its results, and the studies you retrieve, are listed here.</EmptyState>
          ) : (
            <div className="card overflow-x-auto">
              <table className="table">
                <thead>
                  <tr><th>Submitted</th><th>Source</th><th>Connector</th><th>By</th><th className="text-right">Rows</th><th className="text-right">Studies found</th><th className="text-right">Retrieving</th><th>Status</th></tr>
                </thead>
                <tbody>
                  {rows.map((q) => (
                    <tr key={q.id}>
                      <td className="tabular-nums"><Link href={`/pools/${pool.id}/queries/${q.id}`}>{q.createdAt.toISOString().slice(0, 16).replace('T', ' ')}</Link></td>
                      <td>{q.source === 'SINGLE' ? 'single MRN' : q.source === 'DB' ? `database: ${q.fileName ?? 'cohort source'}` : (q.fileName ?? 'spreadsheet')}</td>
                      <td>{q.connector.name}</td>
                      <td>{q.createdBy?.name ?? ''}</td>
                      <td className="text-right tabular-nums">{q._count.items}</td>
                      <td className="text-right tabular-nums">{q._count.results}</td>
                      <td className="text-right tabular-nums">{q._count.retrievals}</td>
                      <td><StateBadge state={q.status} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}
