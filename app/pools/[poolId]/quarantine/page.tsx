import Link from 'next/link';
import { quarantineListQuerySchema } from '@/lib/api/endpoints/deid';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { listQuarantine } from '@/lib/pools/quarantine';
import { EmptyState, PageHeader } from '@/components/ui';
import { PoolTabs } from '../pool-tabs';
import { QuarantineTable } from './quarantine-table';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'own', 'Quarantine');
}

const STATUSES = [
  { key: 'pending', label: 'Waiting for a decision' },
  { key: 'released', label: 'Released' },
  { key: 'dropped', label: 'Dropped' },
  { key: 'redacted', label: 'Redacted' },
  { key: 'all', label: 'All' },
] as const;

export default async function QuarantinePage({ params, searchParams }: { params: Promise<{ poolId: string }>; searchParams: Promise<Record<string, string>> }) {
  const { poolId } = await params;
  // The list carries no identifying data: owners and admins see it; only owners decide.
  const { pool, poolRole, isAdmin, isOwner } = await pagePool(poolId, 'own');
  const parsed = quarantineListQuerySchema.safeParse(await searchParams);
  const query = parsed.success ? parsed.data : quarantineListQuerySchema.parse({});
  const data = await listQuarantine(pool.id, query);
  const canDecide = isOwner;
  const pages = Math.max(1, Math.ceil(data.total / data.pageSize));
  const link = (over: Record<string, string | number>) =>
    `/pools/${pool.id}/quarantine?${new URLSearchParams({ status: query.status, page: String(query.page), ...Object.fromEntries(Object.entries(over).map(([k, v]) => [k, String(v)])) })}`;

  return (
    <>
      <PageHeader
        title={pool.name}
        subtitle="De-identified instances held back because their pixels may show burned-in text or faces. They are not in the pool until released."
        crumbs={[{ href: '/pools', label: 'Pools' }]}
      />
      <PoolTabs poolId={pool.id} active="quarantine" poolRole={poolRole} isAdmin={isAdmin} />

      <nav className="mb-3 flex flex-wrap items-center gap-1" aria-label="Filter by decision">
        {STATUSES.map((s) => (
          <Link
            key={s.key}
            href={link({ status: s.key, page: 1 })}
            aria-current={query.status === s.key ? 'page' : undefined}
            className={`btn btn-sm ${query.status === s.key ? 'border-sky-700 text-sky-800' : ''}`}
          >
            {s.label}
            {s.key === 'pending' && <span className="tabular-nums"> ({data.pending})</span>}
          </Link>
        ))}
        <span className="ml-auto text-slate-500 tabular-nums">{data.total} shown</span>
      </nav>

      {!canDecide && (
        <p className="mb-3 text-slate-600">Only the pool’s owner (the honest broker) can release or drop quarantined instances.</p>
      )}

      {data.total === 0 ? (
        <EmptyState title={query.status === 'pending' ? 'Nothing is waiting in quarantine' : 'No instance here'}>
          With the pool’s rules set to quarantine burned-in risks, ultrasound, secondary captures, screenshots, documents and instances marked with burned-in annotation are held here
          after de-identification, for {canDecide ? 'you' : 'the owner'} to look at and release into the pool or drop.
        </EmptyState>
      ) : (
        <QuarantineTable
          poolId={pool.id}
          canDecide={canDecide}
          rows={data.rows.map((r) => ({
            id: r.id,
            reason: r.reason,
            reasonCodes: r.reasonCodes,
            modality: r.modality,
            sopClassName: r.sopClassName,
            studyInstanceUid: r.studyInstanceUid,
            studyId: r.studyId,
            researchId: r.researchId,
            size: r.size,
            ruleVersion: r.ruleVersion,
            createdAt: r.createdAt.toISOString(),
            decision: r.decision,
            ocr: r.ocr,
            decidedAt: r.decidedAt?.toISOString() ?? null,
            decidedBy: r.decidedBy,
          }))}
        />
      )}
      {pages > 1 && (
        <nav className="mt-3 flex items-center gap-2" aria-label="Pages">
          {query.page > 1 && <Link className="btn btn-sm" href={link({ page: query.page - 1 })}>← Previous</Link>}
          <span className="text-slate-500">Page {query.page} of {pages}</span>
          {query.page < pages && <Link className="btn btn-sm" href={link({ page: query.page + 1 })}>Next →</Link>}
        </nav>
      )}
    </>
  );
}
