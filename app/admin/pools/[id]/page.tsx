import Link from 'next/link';
import { notFound } from 'next/navigation';
import { keptDirectIdentifiersOrNone } from '@/lib/anonymize/direct-identifiers';
import { currentRules } from '@/lib/pools/rules';
import { pageAdmin } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { listUsers } from '@/lib/users/users';
import { PageHeader } from '@/components/ui';
import { DirectIdentifierWarning } from '@/components/pools/direct-identifier-warning';
import { PoolSenders } from '@/components/admin/pool-senders';
import { DeletePool, PoolMembers, PoolSettings, type MemberRow, type UserOption } from '@/components/admin/pools';

export const metadata = { title: 'Pool · Manage pools' };

export default async function AdminPoolPage({ params }: { params: Promise<{ id: string }> }) {
  await pageAdmin();
  const { id } = await params;
  if (!id || id.length > 64) notFound();
  // Explicit select: the pool secret never leaves the server.
  const pool = await db.pool.findUnique({
    where: { id },
    select: {
      id: true,
      name: true,
      aeTitle: true,
      description: true,
      kind: true,
      ruleVersion: true,
      rules: true,
      members: { select: { role: true, user: { select: { id: true, name: true, email: true, active: true } } }, orderBy: { createdAt: 'asc' } },
      queryConnectors: { select: { id: true, name: true } },
      receivingConnectors: { select: { id: true, name: true } },
      allowedDevices: { select: { deviceId: true } },
      _count: { select: { studies: true, queries: true } },
    },
  });
  if (!pool) notFound();
  const devices = pool.kind === 'RESEARCH' ? await db.device.findMany({ select: { id: true, name: true, aeTitle: true, host: true, port: true }, orderBy: { name: 'asc' } }) : [];
  const users: UserOption[] = (await listUsers()).map((u) => ({ id: u.id, name: u.name, email: u.email, active: u.active }));
  const members: MemberRow[] = pool.members.map((m) => ({ userId: m.user.id, name: m.user.name, email: m.user.email, active: m.user.active, role: m.role }));
  const connectors = [
    ...pool.queryConnectors.map((c) => ({ ...c, as: 'query AE' })),
    ...pool.receivingConnectors.map((c) => ({ ...c, as: 'receiving AE' })),
  ];

  return (
    <>
      <PageHeader
        title={pool.name}
        subtitle={
          <>
            <span className="font-mono text-xs">{pool.aeTitle}</span> · {pool.kind === 'RESEARCH' ? 'research pool' : 'infrastructure pool'} ·{' '}
            <span className="tabular-nums">{pool._count.studies}</span> {pool._count.studies === 1 ? 'study' : 'studies'}
          </>
        }
        crumbs={[{ href: '/admin/pools', label: 'Manage pools' }]}
        actions={
          pool.kind === 'RESEARCH' ? (
            <Link className="btn" href={`/pools/${pool.id}`}>
              Open pool
            </Link>
          ) : undefined
        }
      />
      <DirectIdentifierWarning keywords={keptDirectIdentifiersOrNone(currentRules(pool))} what={`Rule set version ${pool.ruleVersion}`} />
      <div className="grid gap-4 lg:grid-cols-5">
        <div className="space-y-4 lg:col-span-3">
          <section className="card p-4" aria-labelledby="settings-title">
            <h2 id="settings-title" className="mb-3">Settings</h2>
            <PoolSettings pool={{ id: pool.id, name: pool.name, aeTitle: pool.aeTitle, description: pool.description, kind: pool.kind }} />
          </section>
          <section className="card p-4" aria-labelledby="members-title">
            <h2 id="members-title" className="mb-3">
              Members <span className="font-normal text-slate-500 tabular-nums">({members.length})</span>
            </h2>
            <PoolMembers poolId={pool.id} kind={pool.kind} members={members} users={users} />
          </section>
          {pool.kind === 'RESEARCH' && (
            <section className="card p-4" aria-labelledby="senders-title">
              <h2 id="senders-title" className="mb-2">Devices that may send into this pool</h2>
              <PoolSenders poolId={pool.id} poolAe={pool.aeTitle} devices={devices} allowed={pool.allowedDevices.map((d) => d.deviceId)} />
            </section>
          )}
        </div>
        <div className="space-y-4 lg:col-span-2">
          <section className="card p-4" aria-labelledby="usage-title">
            <h2 id="usage-title" className="mb-2">Used by connectors</h2>
            {connectors.length === 0 ? (
              <p className="text-slate-500">
                {pool.kind === 'INFRASTRUCTURE'
                  ? 'No connector uses this AE yet. Choose it as the query or receiving pool of a connector.'
                  : 'None. Research pools are the target of queries; connectors normally use infrastructure pools as their AEs.'}
              </p>
            ) : (
              <ul className="space-y-1">
                {connectors.map((c) => (
                  <li key={`${c.id}-${c.as}`}>
                    <Link href="/admin/connectors">{c.name}</Link> <span className="text-slate-500">as {c.as}</span>
                  </li>
                ))}
              </ul>
            )}
            <p className="mt-2 text-xs text-slate-500">
              Rule set version <span className="tabular-nums">{pool.ruleVersion}</span> ·{' '}
              <span className="tabular-nums">{pool._count.queries}</span> {pool._count.queries === 1 ? 'query' : 'queries'} run in this pool
            </p>
          </section>
          <section className="card border-rose-200 p-4" aria-labelledby="danger-title">
            <h2 id="danger-title" className="mb-1 text-rose-800">Delete pool</h2>
            <p className="mb-3 text-slate-600">
              Removes the pool with its studies, identity map, queries and tokens scoped to it.
              {connectors.length > 0 && ' A pool used by a connector cannot be deleted: change or delete the connector first.'}
            </p>
            <DeletePool pool={{ id: pool.id, name: pool.name }} studies={pool._count.studies} />
          </section>
        </div>
      </div>
    </>
  );
}
