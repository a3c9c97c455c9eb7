import Link from 'next/link';
import { pageActor } from '@/lib/auth/page';
import { listPools } from '@/lib/pools/pools';
import { EmptyState, PageHeader } from '@/components/ui';

export const metadata = { title: 'Pools' };

export default async function PoolsPage() {
  const actor = await pageActor();
  const pools = (await listPools(actor)).filter((p) => p.kind === 'RESEARCH' || actor.role === 'ADMIN');
  return (
    <>
      <PageHeader title="Pools" subtitle="Isolated, de-identified research collections you can open." />
      {pools.length === 0 ? (
        <EmptyState title="You are not a member of any pool yet">
          A pool owner or an administrator adds you to a study&apos;s pool; it then appears here.
        </EmptyState>
      ) : (
        <div className="card overflow-x-auto">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th>AE title</th>
                <th>Your role</th>
                <th className="text-right">Studies</th>
              </tr>
            </thead>
            <tbody>
              {pools.map((p) => (
                <tr key={p.id}>
                  <td className="font-medium">
                    <Link href={`/pools/${p.id}`}>{p.name}</Link>
                    {p.kind === 'INFRASTRUCTURE' && <span className="badge ml-2 bg-slate-100 text-slate-600">infrastructure</span>}
                  </td>
                  <td className="text-slate-600">{p.description}</td>
                  <td className="font-mono text-xs">{p.aeTitle}</td>
                  <td>{p.members[0]?.role.toLowerCase() ?? (actor.role === 'ADMIN' ? 'admin' : '')}</td>
                  <td className="text-right tabular-nums">{p._count.studies}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
