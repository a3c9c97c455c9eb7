import Link from 'next/link';
import { pageActor } from '@/lib/auth/page';
import { listPools } from '@/lib/pools/pools';
import { env } from '@/lib/env';
import { listTokens } from '@/lib/users/tokens';
import { EmptyState, PageHeader } from '@/components/ui';
import { formatDate, formatDateTime } from '@/components/admin/format';
import { CreateTokenForm, RevokeTokenButton } from '@/components/admin/tokens';

export const metadata = { title: 'Account' };

const ROLE_TEXT: Record<string, string> = {
  ADMIN: 'Administrator: you manage devices, pools, connectors and users, and can open every pool.',
  COORDINATOR: 'Coordinator: you work in the pools you are a member of, as your pool role allows.',
  RESEARCHER: 'Researcher: you see the pools you are a member of.',
};
const POOL_ROLE_TEXT: Record<string, string> = {
  OWNER: 'owner',
  COORDINATOR: 'coordinator',
  RESEARCHER: 'researcher',
};

export default async function AccountPage() {
  const actor = await pageActor();
  const [pools, tokens] = await Promise.all([listPools(actor), listTokens(actor)]);
  const memberOf = pools.filter((p) => p.members[0]);
  const scopable = pools.filter((p) => p.kind === 'RESEARCH' || p.members[0]).map((p) => ({ id: p.id, name: p.name }));
  const now = Date.now();

  return (
    <>
      <PageHeader title="Your account" subtitle="Your profile, your pools and your API tokens." />
      <div className="grid gap-4 lg:grid-cols-3">
        <section className="card p-4" aria-labelledby="profile-title">
          <h2 id="profile-title" className="mb-3">Profile</h2>
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5">
            <dt className="text-slate-500">Name</dt>
            <dd className="font-medium">{actor.name}</dd>
            <dt className="text-slate-500">E-mail</dt>
            <dd>{actor.email}</dd>
            <dt className="text-slate-500">Role</dt>
            <dd>{actor.role.toLowerCase()}</dd>
          </dl>
          <p className="mt-3 text-xs text-slate-500">{ROLE_TEXT[actor.role]} Ask an administrator to change your name, role or password.</p>
        </section>

        <section className="card p-4 lg:col-span-2" aria-labelledby="pools-title">
          <h2 id="pools-title" className="mb-3">Your pools</h2>
          {memberOf.length === 0 ? (
            <p className="text-slate-500">
              {actor.role === 'ADMIN'
                ? 'You are not a member of any pool. As an administrator you can still open every pool.'
                : 'You are not a member of any pool yet. A pool owner or an administrator adds you to a study’s pool.'}
            </p>
          ) : (
            <table className="table" aria-label="Your pools">
              <thead>
                <tr>
                  <th>Pool</th>
                  <th>AE title</th>
                  <th>Your pool role</th>
                  <th className="text-right">Studies</th>
                </tr>
              </thead>
              <tbody>
                {memberOf.map((p) => (
                  <tr key={p.id}>
                    <td className="font-medium">
                      <Link href={`/pools/${p.id}`}>{p.name}</Link>
                    </td>
                    <td className="font-mono text-xs">{p.aeTitle}</td>
                    <td>{POOL_ROLE_TEXT[p.members[0].role]}</td>
                    <td className="text-right tabular-nums">{p._count.studies}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {actor.role === 'ADMIN' && memberOf.length > 0 && <p className="mt-2 text-xs text-slate-500">As an administrator you can also open every other pool.</p>}
        </section>
      </div>

      <section className="mt-6" aria-labelledby="tokens-title">
        <h2 id="tokens-title" className="mb-1">API tokens</h2>
        <p className="mb-3 text-slate-500">
          For scripts, the <code className="font-mono">tributary</code> command line and DICOMweb viewers. See the API at{' '}
          <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
        </p>
        <div className="card mb-4 p-4">
          <h3 className="mb-3 text-sm font-semibold">New token</h3>
          <CreateTokenForm pools={scopable} defaultDays={env().API_TOKEN_DEFAULT_DAYS} />
        </div>
        {tokens.length === 0 ? (
          <EmptyState title="You have no API token">
            Create one above to call the REST API or open a pool in a viewer. It is shown once; store it in your password manager.
          </EmptyState>
        ) : (
          <div className="card overflow-x-auto">
            <table className="table" aria-label="API tokens">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Prefix</th>
                  <th>Scope</th>
                  <th>Created</th>
                  <th>Last used</th>
                  <th>Expires</th>
                  <th>Status</th>
                  <th className="w-px"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((t) => {
                  const expired = t.expiresAt !== null && t.expiresAt.getTime() < now;
                  const usable = !t.revokedAt && !expired;
                  return (
                    <tr key={t.id} className={usable ? '' : 'text-slate-500'}>
                      <td className="font-medium">{t.name}</td>
                      <td className="font-mono text-xs">{t.prefix}…</td>
                      <td>{t.poolId ? (t.pool?.name ?? 'one pool') : <span className="text-slate-500">all my access</span>}</td>
                      <td className="whitespace-nowrap tabular-nums">{formatDate(t.createdAt)}</td>
                      <td className="whitespace-nowrap tabular-nums">{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : <span className="text-slate-400">never</span>}</td>
                      <td className="whitespace-nowrap tabular-nums">{t.expiresAt ? formatDate(t.expiresAt) : <span className="text-slate-400">never</span>}</td>
                      <td className="whitespace-nowrap">
                        {t.revokedAt ? (
                          <span className="badge bg-slate-200 text-slate-600" title={formatDateTime(t.revokedAt)}>
                            revoked {formatDate(t.revokedAt)}
                          </span>
                        ) : expired ? (
                          <span className="badge bg-amber-100 text-amber-800">expired</span>
                        ) : (
                          <span className="badge bg-emerald-100 text-emerald-800">active</span>
                        )}
                      </td>
                      <td className="text-right">{usable && <RevokeTokenButton id={t.id} name={t.name} />}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
