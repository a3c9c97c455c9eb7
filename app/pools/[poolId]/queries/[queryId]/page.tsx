import { notFound } from 'next/navigation';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { getQueryDetail } from '@/lib/queries/queries';
import { PageHeader } from '@/components/ui';
import { QueryLive, type QueryDetailJson } from './query-live';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'coordinate', 'Query results');
}

export default async function QueryDetailPage({ params }: { params: Promise<{ poolId: string; queryId: string }> }) {
  const { poolId, queryId } = await params;
  const { pool, actor } = await pagePool(poolId, 'coordinate');
  const detail = await getQueryDetail(queryId, { viewer: actor }).catch(() => null);
  if (!detail || detail.poolId !== pool.id) notFound();
  const initial = JSON.parse(JSON.stringify(detail)) as QueryDetailJson;
  return (
    <>
      <PageHeader
        title="Query results"
        subtitle={`${detail.source === 'SINGLE' ? 'Single MRN' : detail.source === 'DB' ? `Database cohort ${detail.fileName ?? ''}`.trim() : (detail.fileName ?? 'Spreadsheet')} via ${detail.connector.name} · submitted ${detail.createdAt.toISOString().slice(0, 16).replace('T', ' ')}`}
        crumbs={[{ href: '/pools', label: 'Pools' }, { href: `/pools/${pool.id}`, label: pool.name }, { href: `/pools/${pool.id}/query`, label: 'Query & retrieve' }]}
      />
      <QueryLive poolId={pool.id} initial={initial} />
    </>
  );
}
