import Link from 'next/link';
import { pageAdmin } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { EmptyState, PageHeader } from '@/components/ui';
import { CreatePool } from '@/components/admin/pools';
import { KIND_HELP } from '@/components/admin/pool-kinds';

export const metadata = { title: 'Manage pools' };

export default async function AdminPoolsPage() {
  await pageAdmin();
  // Explicit select: the pool secret never leaves the server.
  const pools = await db.pool.findMany({
    orderBy: [{ kind: 'asc' }, { name: 'asc' }],
    select: {
      id: true,
      name: true,
      aeTitle: true,
      description: true,
      kind: true,
      _count: { select: { members: true, studies: true, queryConnectors: true, receivingConnectors: true } },
    },
  });
  return (
    <>
      <PageHeader
        title="Manage pools"
        subtitle="Research pools hold de-identified studies; infrastructure pools are the AE titles connectors use towards the PACS."
        actions={pools.length > 0 ? <CreatePool startOpen={false} /> : undefined}
      />
      {pools.length === 0 ? (
        <div className="space-y-4">
          <CreatePool startOpen />
          <EmptyState title="No pool yet">
            <p>
              <strong>{KIND_HELP.RESEARCH.label}s</strong>: {KIND_HELP.RESEARCH.help}
            </p>
            <p className="mt-2">
              <strong>{KIND_HELP.INFRASTRUCTURE.label}s</strong>: {KIND_HELP.INFRASTRUCTURE.help} Create two of them (for example{' '}
              <code className="font-mono">TRIB_QUERY</code> and <code className="font-mono">TRIB_RECEIVE</code>) before your first connector.
            </p>
          </EmptyState>
        </div>
      ) : (
        <div className="card overflow-x-auto">
          <table className="table" aria-label="Pools">
            <thead>
              <tr>
                <th>Name</th>
                <th>AE title</th>
                <th>Kind</th>
                <th>Description</th>
                <th className="text-right">Members</th>
                <th className="text-right">Studies</th>
              </tr>
            </thead>
            <tbody>
              {pools.map((p) => {
                const connectors = p._count.queryConnectors + p._count.receivingConnectors;
                return (
                  <tr key={p.id}>
                    <td className="font-medium">
                      <Link href={`/admin/pools/${p.id}`}>{p.name}</Link>
                    </td>
                    <td className="font-mono text-xs">{p.aeTitle}</td>
                    <td>
                      {p.kind === 'RESEARCH' ? (
                        <span className="badge bg-sky-100 text-sky-800">research</span>
                      ) : (
                        <span className="badge bg-slate-100 text-slate-700" title={KIND_HELP.INFRASTRUCTURE.help}>
                          infrastructure
                        </span>
                      )}
                      {connectors > 0 && (
                        <span className="ml-2 text-xs text-slate-500">
                          {p._count.queryConnectors > 0 && 'query AE'}
                          {p._count.queryConnectors > 0 && p._count.receivingConnectors > 0 && ' · '}
                          {p._count.receivingConnectors > 0 && 'receiving AE'}
                        </span>
                      )}
                    </td>
                    <td className="max-w-md truncate text-slate-600" title={p.description}>
                      {p.description}
                    </td>
                    <td className="text-right tabular-nums">{p._count.members}</td>
                    <td className="text-right tabular-nums">{p._count.studies}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
