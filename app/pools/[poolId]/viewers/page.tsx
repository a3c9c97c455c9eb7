import Link from 'next/link';
import { decidePool } from '@/lib/auth/access';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { allowedOrigins } from '@/lib/dicomweb/cors';
import { dicomwebRoot } from '@/lib/dicomweb/route';
import { env } from '@/lib/env';
import { listTokens } from '@/lib/users/tokens';
import { ohifSnippet } from '@/lib/viewers/ohif';
import { MANIFEST_TTL_SECONDS, VIEWER_TOKEN_TTL_SECONDS } from '@/lib/viewers/weasis';
import { EmptyState, PageHeader, formatDicomDate } from '@/components/ui';
import { formatDate, formatDateTime } from '@/components/admin/format';
import { RevokeTokenButton } from '@/components/admin/tokens';
import { CopyButton } from '@/components/viewers/copy-button';
import { CreatePoolTokenForm } from '@/components/viewers/pool-tokens';
import { WeasisButton } from '@/components/viewers/weasis-button';
import { PoolTabs } from '../pool-tabs';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'read', 'Viewers & DICOMweb');
}

function Code({ children }: { children: React.ReactNode }) {
  return <code className="rounded bg-slate-100 px-1 py-0.5 font-mono text-xs">{children}</code>;
}

export default async function ViewersPage({ params }: { params: Promise<{ poolId: string }> }) {
  const { poolId } = await params;
  const { actor, pool, poolRole, isAdmin } = await pagePool(poolId, 'read');
  const root = dicomwebRoot(pool.id);
  const [tokens, recent] = await Promise.all([
    listTokens(actor).then((all) => all.filter((t) => t.poolId === pool.id)),
    db.study.findMany({
      where: { poolId: pool.id },
      orderBy: [{ studyDate: 'desc' }, { id: 'asc' }],
      take: 10,
      select: { id: true, patientId: true, studyDate: true, studyDescription: true, modalities: true, numInstances: true },
    }),
  ]);
  const canStore = decidePool(actor, pool.id, poolRole, 'ingest') === 'allow';
  const origins = allowedOrigins();
  const snippet = ohifSnippet(pool.id, pool.name);
  const now = Date.now();
  const today = new Date().toISOString().slice(0, 10);

  return (
    <>
      <PageHeader title={pool.name} subtitle={pool.description} crumbs={[{ href: '/pools', label: 'Pools' }]} />
      <PoolTabs poolId={pool.id} active="viewers" poolRole={poolRole} isAdmin={isAdmin} />

      <section className="card mb-4 p-4" aria-labelledby="dicomweb-title">
        <h2 id="dicomweb-title" className="mb-2">DICOMweb of this pool</h2>
        <p className="mb-2 text-slate-600">
          Viewers and scripts reach this pool’s de-identified studies here, and nothing else. Every request needs{' '}
          <Code>Authorization: Bearer &lt;token&gt;</Code> with a token that can read this pool (create one below).
        </p>
        <div className="mb-3 flex flex-wrap items-center gap-2">
          <label className="sr-only" htmlFor="dicomweb-root">DICOMweb root</label>
          <input id="dicomweb-root" readOnly value={root} className="input max-w-2xl font-mono text-xs" />
          <CopyButton text={root} label="Copy URL" />
        </div>
        <table className="table max-w-3xl" aria-label="DICOMweb services">
          <tbody>
            <tr>
              <td className="w-32 font-medium">QIDO-RS</td>
              <td><Code>/studies</Code>, <Code>/series</Code>, <Code>/instances</Code>, <Code>/studies/&#123;study&#125;/series</Code>, <Code>…/instances</Code></td>
            </tr>
            <tr>
              <td className="font-medium">WADO-RS</td>
              <td><Code>/studies/&#123;study&#125;[/series/&#123;series&#125;[/instances/&#123;instance&#125;]]</Code>, <Code>…/metadata</Code>, <Code>…/frames/&#123;n&#125;</Code></td>
            </tr>
            <tr>
              <td className="font-medium">WADO-URI</td>
              <td><Code>/wado?requestType=WADO&amp;studyUID=…&amp;seriesUID=…&amp;objectUID=…&amp;contentType=application/dicom</Code></td>
            </tr>
            <tr>
              <td className="font-medium">STOW-RS</td>
              <td>
                <Code>POST /studies</Code> —{' '}
                {canStore
                  ? 'you may store: objects are de-identified with this pool’s rules (use a token that is not limited to this pool; pool tokens are read-only).'
                  : 'the pool’s owners only (what is stored reveals research identities); coordinators bring data in through connectors.'}
              </td>
            </tr>
          </tbody>
        </table>
        <p className="mt-2 text-xs text-slate-500">Details, limits and examples: docs/dicomweb.md.</p>
      </section>

      <section className="card mb-4 p-4" aria-labelledby="tokens-title">
        <h2 id="tokens-title" className="mb-1">Your tokens for this pool</h2>
        <p className="mb-3 text-slate-600">
          A pool token reads this pool only (it cannot store, query the PACS or reach another pool). Give one to each viewer or script, and revoke it
          when it is no longer needed. All your tokens are on <Link href="/account">your account page</Link>.
        </p>
        <CreatePoolTokenForm poolId={pool.id} defaultName={`Viewer ${today}`} defaultDays={env().API_TOKEN_DEFAULT_DAYS} />
        {tokens.length > 0 && (
          <div className="mt-4 overflow-x-auto">
            <table className="table" aria-label="Your tokens for this pool">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Prefix</th>
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
                      <td className="whitespace-nowrap tabular-nums">{formatDate(t.createdAt)}</td>
                      <td className="whitespace-nowrap tabular-nums">{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : <span className="text-slate-400">never</span>}</td>
                      <td className="whitespace-nowrap tabular-nums">{t.expiresAt ? formatDate(t.expiresAt) : <span className="text-slate-400">never</span>}</td>
                      <td className="whitespace-nowrap">
                        {t.revokedAt ? (
                          <span className="badge bg-slate-200 text-slate-600">revoked</span>
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

      <div className="space-y-4">
        <section className="card p-4" aria-labelledby="weasis-title">
          <h2 id="weasis-title" className="mb-2">Weasis</h2>
          <ol className="mb-3 list-inside list-decimal space-y-1 text-slate-700">
            <li>
              Install Weasis from <a href="https://weasis.org" rel="noreferrer">weasis.org</a> once; it opens <Code>weasis://</Code> links.
            </li>
            <li>
              Click <strong>Open in Weasis</strong> on a study (here, on the pool’s study list or on a study page). Weasis downloads a manifest
              that works once, within {MANIFEST_TTL_SECONDS / 60} minutes, then the images with a read-only access that ends after{' '}
              {VIEWER_TOKEN_TTL_SECONDS / 3600} hours and reaches only the studies you opened. The link your browser opens holds only that
              one-time code, never the access itself, because browsers keep opened links in their history.
            </li>
            <li>
              <strong>Copy Weasis link</strong> gives the same launch as a link, for another machine or a script.
            </li>
          </ol>
          <p className="mb-3 text-xs text-slate-500">
            Weasis can also browse the pool itself: add a DICOMweb node with the URL above and the HTTP header{' '}
            <Code>Authorization: Bearer &lt;pool token&gt;</Code>, or launch <Code>weasis://$dicom:rs --url &quot;{root}&quot; -r &quot;studyUID=…&quot; -H &quot;Authorization: Bearer …&quot;</Code>{' '}
            (Weasis sends the token in a header, never in a URL it requests; but that link contains the token, so copy it rather than open it
            from the browser, which would keep it in its history).
          </p>
          {recent.length === 0 ? (
            <EmptyState title="No studies in this pool yet">Open in Weasis appears here once studies have arrived.</EmptyState>
          ) : (
            <>
              <div className="mb-2 flex items-center justify-between gap-2">
                <h3 className="text-sm font-semibold">Latest studies</h3>
                {recent.length > 1 && <WeasisButton poolId={pool.id} studyIds={recent.map((s) => s.id)} label={`Open these ${recent.length} in Weasis`} />}
              </div>
              <div className="overflow-x-auto">
                <table className="table" aria-label="Latest studies">
                  <thead>
                    <tr>
                      <th>Research ID</th>
                      <th>Date</th>
                      <th>Description</th>
                      <th className="text-right">Instances</th>
                      <th><span className="sr-only">Weasis</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    {recent.map((s) => (
                      <tr key={s.id}>
                        <td className="font-mono text-xs">
                          <Link href={`/pools/${pool.id}/studies/${s.id}`}>{s.patientId}</Link>
                        </td>
                        <td className="whitespace-nowrap tabular-nums">{formatDicomDate(s.studyDate)}</td>
                        <td>{s.studyDescription || <span className="text-slate-400">—</span>} <span className="text-xs text-slate-500">{s.modalities.split('\\').filter(Boolean).join(', ')}</span></td>
                        <td className="text-right tabular-nums">{s.numInstances}</td>
                        <td className="text-right">
                          <WeasisButton poolId={pool.id} studyIds={[s.id]} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </section>

        <section className="card p-4" aria-labelledby="ohif-title">
          <h2 id="ohif-title" className="mb-2">OHIF</h2>
          <p className="mb-2 text-slate-600">
            Add this data source to the <Code>dataSources</Code> of OHIF’s <Code>app-config.js</Code> (and set <Code>defaultDataSourceName: &apos;tributary&apos;</Code>):
          </p>
          <div className="relative">
            <pre className="max-h-96 overflow-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100" aria-label="OHIF data source" tabIndex={0}>{snippet}</pre>
            <div className="absolute right-2 top-2">
              <CopyButton text={snippet} label="Copy" className="btn btn-sm" />
            </div>
          </div>
          <ul className="mt-3 list-inside list-disc space-y-1 text-xs text-slate-600">
            <li>
              OHIF must send <Code>Authorization: Bearer &lt;pool token&gt;</Code> with every request: give it through OHIF’s user authentication service
              (<Code>getAuthorizationHeader</Code>) or a reverse proxy in front of OHIF that adds the header. Never put the token in a URL.
            </li>
            <li>
              {origins.length
                ? `A viewer served from another origin may call this server from: ${origins.join(', ')}.`
                : 'A viewer served from another origin needs the administrator to list its origin in DICOMWEB_CORS_ORIGINS; served from this server’s origin it needs nothing.'}
            </li>
            <li>Search supports wildcards (<Code>*</Code>, <Code>?</Code>) but not fuzzy matching.</li>
          </ul>
        </section>
      </div>
    </>
  );
}
