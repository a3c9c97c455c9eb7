import Link from 'next/link';
import { keptDirectIdentifiersOrNone } from '@/lib/anonymize/direct-identifiers';
import { generatedRuleList, type RuleListRow, type RuleWhy } from '@/lib/anonymize/rule-list';
import { OPTION_LABELS } from '@/lib/anonymize/option-labels';
import { sopClassName } from '@/lib/anonymize/sop-classes';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { listLookupTables } from '@/lib/pools/lookups';
import { listPoolMembers } from '@/lib/pools/pools';
import { listPacsPreviewStudies, listPreviewSamples, previewMaxBytes } from '@/lib/pools/preview';
import { currentRules, fingerprintOf, getRuleVersion, listRuleVersions } from '@/lib/pools/rules';
import { PageHeader } from '@/components/ui';
import { DirectIdentifierWarning } from '@/components/pools/direct-identifier-warning';
import { MembersEditor } from '@/components/pools/members-editor';
import { CloseoutPanel } from '@/components/pools/closeout-panel';
import { closeoutCounts as countForCloseout, purgeStatus } from '@/lib/pools/purge';
import { PoolTabs } from '../pool-tabs';
import { QuarantineSummaryView } from './quarantine-summary';
import { RulesEditor } from './rules-editor';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'own', 'Rules & settings');
}

const WHY_LABEL: Record<RuleWhy, string> = {
  basic: 'Basic Profile',
  option: 'option',
  override: 'override',
  identity: 'research identity',
  'keep-list': 'keep-list',
  'safe-private': 'safe private',
  default: 'default',
};
const WHY_STYLE: Record<RuleWhy, string> = {
  basic: 'bg-slate-100 text-slate-700',
  option: 'bg-violet-100 text-violet-800',
  override: 'bg-amber-100 text-amber-900',
  identity: 'bg-sky-100 text-sky-800',
  'keep-list': 'bg-emerald-100 text-emerald-800',
  'safe-private': 'bg-emerald-100 text-emerald-800',
  default: 'bg-slate-100 text-slate-600',
};

function positiveInt(v: string | undefined): number | undefined {
  if (!v || !/^\d{1,7}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 1 ? n : undefined;
}

const RULE_ROWS = 400;

export default async function PoolSettingsPage({ params, searchParams }: { params: Promise<{ poolId: string }>; searchParams: Promise<Record<string, string | undefined>> }) {
  const { poolId } = await params;
  const { actor, pool, poolRole, isAdmin, isOwner } = await pagePool(poolId, 'own');
  const sp = await searchParams;
  // Saving rules, the preview and the lookup tables are the owner's (an admin account never is).
  const owner = isOwner;
  const current = currentRules(pool);
  const purge = await purgeStatus(pool.id);
  const closeoutCounts = await countForCloseout(pool.id);
  const versions = await listRuleVersions(pool.id);

  // ?version=N shows that version's rule list; ?edit=N loads it into the editor (to restore it).
  const viewVersion = positiveInt(sp.version);
  const editVersion = positiveInt(sp.edit);
  const viewed = viewVersion && viewVersion !== pool.ruleVersion ? await getRuleVersion(pool.id, viewVersion).catch(() => null) : null;
  const loaded = editVersion && editVersion !== pool.ruleVersion ? await getRuleVersion(pool.id, editVersion).catch(() => null) : null;
  const listRules = viewed?.rules ?? current;
  const currentKept = keptDirectIdentifiersOrNone(current);
  const listKept = viewed ? viewed.keepsDirectIdentifiers : currentKept;
  let list: RuleListRow[] = [];
  let listError: string | null = null;
  try {
    list = generatedRuleList(listRules);
  } catch {
    listError = 'This version no longer compiles against the current dictionary; its JSON is shown instead.';
  }
  const q = (sp.q ?? '').trim().toLowerCase().slice(0, 100);
  const why = (Object.keys(WHY_LABEL) as RuleWhy[]).includes(sp.why as RuleWhy) ? (sp.why as RuleWhy) : undefined;
  const shown = list.filter(
    (r) => (!why || r.why === why) && (!q || [r.tag, r.keyword, r.name, r.action, r.code, r.via].some((v) => v?.toLowerCase().includes(q))),
  );

  // The keep-list makes the full list a few thousand rows: the first RULE_ROWS unless asked for all.
  const visible = sp.all === '1' ? shown : shown.slice(0, RULE_ROWS);

  const [members, samples, pacsStudies, tables] = await Promise.all([
    listPoolMembers(pool.id),
    owner ? listPreviewSamples(pool.id) : Promise.resolve([]),
    owner ? listPacsPreviewStudies(pool.id) : Promise.resolve([]),
    owner ? listLookupTables(pool.id) : Promise.resolve([]),
  ]);
  const link = (over: Record<string, string | number | undefined>) => {
    const u = new URLSearchParams();
    const merged = { version: viewed ? String(viewed.version) : undefined, q: sp.q, why, ...over };
    for (const [k, v] of Object.entries(merged)) if (v !== undefined && v !== '') u.set(k, String(v));
    const s = u.toString();
    return `/pools/${pool.id}/settings${s ? `?${s}` : ''}`;
  };
  const savedVersion = positiveInt(sp.saved);

  return (
    <>
      <PageHeader title={pool.name} subtitle="De-identification rules, their versions, and who is in this pool." crumbs={[{ href: '/pools', label: 'Pools' }]} />
      <PoolTabs poolId={pool.id} active="settings" poolRole={poolRole} isAdmin={isAdmin} />

      {savedVersion === pool.ruleVersion && (
        <p role="status" className="mb-4 rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-emerald-900">
          Saved as version {pool.ruleVersion} (#{fingerprintOf(current)}). Instances de-identified from now on record version {pool.ruleVersion}.
        </p>
      )}

      <RulesSummary
        version={pool.ruleVersion}
        fingerprint={fingerprintOf(current)}
        saved={versions.find((v) => v.version === pool.ruleVersion)}
        options={current.options.map((o) => OPTION_LABELS[o]?.name ?? o)}
        overrides={current.overrides.length}
        quarantine={current.quarantineBurnedIn}
        kept={currentKept}
        counts={viewed ? null : countByWhy(list)}
        members={members.length}
      />

      <div className="space-y-5">
        <section className="card p-4" aria-labelledby="rules-title">
          <h2 id="rules-title" className="mb-1">Rules <span className="font-normal text-slate-500">· version {pool.ruleVersion} · #{fingerprintOf(current)}</span></h2>
          <p className="mb-4 text-slate-600">
            Every instance that enters this pool goes through these rules. Saving creates version {pool.ruleVersion + 1}; each stored instance records the version that produced it.
            {!owner && ' You can read and check the rules; only the pool’s owner saves them and previews them on real data (administration never changes what identity reaches researchers).'}
          </p>
          <DirectIdentifierWarning keywords={currentKept} what={`Version ${pool.ruleVersion} (current)`} />
          <RulesEditor
            key={`${pool.ruleVersion}-${loaded?.version ?? 'current'}`}
            poolId={pool.id}
            baseVersion={pool.ruleVersion}
            initial={loaded?.rules ?? current}
            loadedFrom={loaded?.version}
            canPreview={owner}
            canSave={owner}
            samples={samples.map((s) => ({ id: s.id, receivedAt: s.receivedAt.toISOString(), sopClassName: sopClassName(s.sopClassUid), size: s.size }))}
            pacsStudies={pacsStudies}
            lookupTables={tables.map((t) => t.table).filter((t) => t !== 'research-id' && t !== 'research-name')}
            previewMaxMb={Math.floor(previewMaxBytes() / 1024 / 1024)}
          />
        </section>

        <div className="grid gap-5 lg:grid-cols-2">
          <section className="card p-4" aria-labelledby="versions-title">
            <h2 id="versions-title" className="mb-2">Versions</h2>
            <div className="max-h-72 overflow-y-auto" tabIndex={0} role="region" aria-label="Rule versions (scrolls)">
              <table className="table" aria-label="Rule versions">
                <thead><tr><th>Version</th><th>Saved</th><th>By</th><th><span className="sr-only">Actions</span></th></tr></thead>
                <tbody>
                  {versions.map((v) => (
                    <tr key={v.version} className={viewed?.version === v.version || (!viewed && v.version === pool.ruleVersion) ? 'bg-sky-50' : ''}>
                      <td className="tabular-nums">
                        {v.version} {v.version === pool.ruleVersion && <span className="badge bg-emerald-100 text-emerald-800">current</span>}
                      </td>
                      <td className="tabular-nums">{v.createdAt.toISOString().slice(0, 16).replace('T', ' ')}</td>
                      <td>{v.createdBy ?? <span className="text-slate-400">—</span>}</td>
                      <td className="whitespace-nowrap text-right">
                        <Link href={link({ version: v.version === pool.ruleVersion ? undefined : v.version })}>view</Link>
                        {v.version !== pool.ruleVersion && (
                          <>
                            {' · '}
                            <Link href={`/pools/${pool.id}/settings?edit=${v.version}`}>load into editor</Link>
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>

          <section className="card p-4" aria-labelledby="members-title">
            <h2 id="members-title" className="mb-2">Members <span className="font-normal text-slate-500 tabular-nums">({members.length})</span></h2>
            {owner ? (
              <MembersEditor poolId={pool.id} members={members} selfId={actor.userId} />
            ) : (
              <>
                {members.length === 0 ? (
                  <p className="text-slate-500">Nobody is a member of this pool yet.</p>
                ) : (
                  <table className="table" aria-label="Members">
                    <thead><tr><th>Name</th><th>E-mail</th><th>Role in pool</th></tr></thead>
                    <tbody>
                      {members.map((m) => (
                        <tr key={m.userId}>
                          <td>{m.name} {!m.active && <span className="badge bg-slate-200 text-slate-600">inactive</span>}</td>
                          <td>{m.email}</td>
                          <td>{m.role.toLowerCase()}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
                <p className="mt-2 text-xs text-slate-500">
                  The pool’s owners change who is in it{isAdmin ? <>; as an administrator, use <Link href={`/admin/pools/${pool.id}`}>Manage pools</Link></> : ''}.
                </p>
              </>
            )}
          </section>
        </div>
      </div>

      <details className="card mt-5 p-4" open={Boolean(viewed || sp.q || why || sp.all)}>
        <summary className="cursor-pointer font-semibold">
          Generated rule list · version {viewed?.version ?? pool.ruleVersion} <span className="font-normal text-slate-600 tabular-nums">({list.length} rows: what happens to each attribute)</span>
        </summary>
      <section className="mt-3" aria-labelledby="list-title">
        <div className="mb-2 flex flex-wrap items-end justify-between gap-3">
          <div>
            <h2 id="list-title">
              Generated rule list · version {viewed?.version ?? pool.ruleVersion}
              {viewed && <span className="ml-2 badge bg-amber-100 text-amber-900">past version</span>}
            </h2>
            <p className="text-slate-600">
              What the engine does with every attribute Table E.1-1 names, every override, the keep-list and the defaults, in the engine’s order.
              {viewed && (
                <>
                  {' '}Saved {viewed.createdAt.toISOString().slice(0, 16).replace('T', ' ')}{viewed.createdBy ? ` by ${viewed.createdBy}` : ''}.{' '}
                  <Link href={link({ version: undefined })}>Back to the current version</Link>
                </>
              )}
            </p>
          </div>
          <form className="flex flex-wrap gap-2" role="search" action={`/pools/${pool.id}/settings`}>
            {viewed && <input type="hidden" name="version" value={viewed.version} />}
            <label className="sr-only" htmlFor="rl-q">Search the rule list</label>
            <input id="rl-q" name="q" defaultValue={sp.q ?? ''} className="input w-56" placeholder="Tag, keyword, action…" />
            <label className="sr-only" htmlFor="rl-why">Why</label>
            <select id="rl-why" name="why" defaultValue={why ?? ''} className="input w-40">
              <option value="">any reason</option>
              {(Object.keys(WHY_LABEL) as RuleWhy[]).map((w) => <option key={w} value={w}>{WHY_LABEL[w]}</option>)}
            </select>
            <button className="btn" type="submit">Search</button>
          </form>
        </div>
        <DirectIdentifierWarning keywords={listKept} what={`Version ${viewed?.version ?? pool.ruleVersion}`} />
        <QuarantineSummaryView rules={listRules} />
        {listError ? (
          <p className="text-amber-800">{listError}</p>
        ) : (
          <>
            <p className="mb-1 text-xs text-slate-500 tabular-nums">
              {shown.length} of {list.length} rows
              {visible.length < shown.length && (
                <>
                  {' '}· showing the first {visible.length}: search or choose a reason to narrow the list, or{' '}
                  <Link href={link({ all: 1 })}>show all {shown.length}</Link>
                </>
              )}
            </p>
            <div className="max-h-[36rem] overflow-y-auto rounded border border-slate-200" tabIndex={0} role="region" aria-label="Generated rule list (scrolls)">
              <table className="table" aria-label="Generated rule list">
                <thead><tr><th>Tag</th><th>Keyword</th><th>Attribute</th><th>Action</th><th>Code</th><th>Why</th></tr></thead>
                <tbody>
                  {visible.map((r) => (
                    <tr key={r.key}>
                      <td className="whitespace-nowrap font-mono text-xs">{r.tag}</td>
                      <td className="font-mono text-xs">{r.keyword ?? ''}</td>
                      <td>{r.name}</td>
                      <td>{r.action}</td>
                      <td className="font-mono text-xs">{r.code ?? ''}</td>
                      <td className="whitespace-nowrap">
                        <span className={`badge ${WHY_STYLE[r.why]}`}>{WHY_LABEL[r.why]}</span>
                        {r.via && <span className="ml-1 text-xs text-slate-500">{r.via}</span>}
                      </td>
                    </tr>
                  ))}
                  {shown.length === 0 && (
                    <tr><td colSpan={6} className="py-4 text-center text-slate-500">No rule matches this search.</td></tr>
                  )}
                </tbody>
              </table>
            </div>
          </>
        )}
        <details className="mt-3">
          <summary className="cursor-pointer text-slate-600">Rule set JSON (version {viewed?.version ?? pool.ruleVersion})</summary>
          <pre className="mt-2 max-h-96 overflow-auto rounded bg-slate-50 p-3 text-xs" tabIndex={0}>{JSON.stringify(listRules, null, 2)}</pre>
        </details>
      </section>
      </details>
      <CloseoutPanel
        poolId={pool.id}
        poolName={pool.name}
        canPurge={owner}
        purge={purge ? { step: purge.step, done: purge.done, startedAt: purge.startedAt.toISOString(), finishedAt: purge.finishedAt?.toISOString() ?? null, lastError: purge.lastError, receiptId: purge.receiptId } : null}
        counts={closeoutCounts}
      />
    </>
  );
}

function countByWhy(list: RuleListRow[]): [RuleWhy, number][] {
  const m = new Map<RuleWhy, number>();
  for (const r of list) m.set(r.why, (m.get(r.why) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

/** The rules in a few lines, before the editor and the full list. */
function RulesSummary(props: {
  version: number;
  fingerprint: string;
  saved?: { createdAt: Date; createdBy: string | null };
  options: string[];
  overrides: number;
  quarantine: boolean;
  kept: string[];
  counts: [RuleWhy, number][] | null;
  members: number;
}) {
  return (
    <section className="card mb-5 p-4" aria-labelledby="summary-title">
      <h2 id="summary-title" className="mb-2">
        Summary
      </h2>
      <dl className="grid gap-x-6 gap-y-2 sm:grid-cols-2 xl:grid-cols-4">
        <div>
          <dt className="label">Rules in force</dt>
          <dd>
            Version {props.version} <span className="font-mono text-xs text-slate-600">#{props.fingerprint}</span>
            {props.saved && (
              <span className="block text-xs text-slate-600">
                saved {props.saved.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC{props.saved.createdBy ? ` by ${props.saved.createdBy}` : ''}
              </span>
            )}
          </dd>
        </div>
        <div>
          <dt className="label">Profile and options</dt>
          <dd>
            DICOM Basic Profile{props.options.length ? ` + ${props.options.join(', ')}` : ', no options'}
            {props.overrides > 0 && <span className="block text-xs text-slate-600">{props.overrides} override{props.overrides === 1 ? '' : 's'}</span>}
          </dd>
        </div>
        <div>
          <dt className="label">Identifiers kept</dt>
          <dd>{props.kept.length ? <span className="font-medium text-rose-800">{props.kept.join(', ')}</span> : 'No direct identifier'}</dd>
        </div>
        <div>
          <dt className="label">Burned-in text</dt>
          <dd>{props.quarantine ? 'Suspect images are quarantined for the owner' : 'Not quarantined'}</dd>
        </div>
      </dl>
      {props.counts && (
        <p className="mt-3 text-xs text-slate-700 tabular-nums">
          Generated rule list: {props.counts.map(([why, n]) => `${n} ${WHY_LABEL[why]}`).join(' · ')}. {props.members} member{props.members === 1 ? '' : 's'}.
        </p>
      )}
    </section>
  );
}
