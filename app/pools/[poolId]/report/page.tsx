import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { SUMMARY_ACTIONS } from '@/lib/anonymize/engine';
import { ACTION_MEANINGS } from '@/lib/reports/action-meanings';
import { type ReportVersion, getDeidReport } from '@/lib/reports/get-deid-report';
import { EmptyState, PageHeader } from '@/components/ui';
import { PoolTabs } from '../pool-tabs';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'own', 'De-identification report');
}

const n = (x: number) => x.toLocaleString('en');

function ActionsTable({ actions, caption }: { actions: ReportVersion['actions']; caption: string }) {
  return (
    <table className="table w-full max-w-3xl text-sm">
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr>
          <th scope="col" className="text-left">Action</th>
          <th scope="col" className="text-right">Elements</th>
          <th scope="col" className="text-left">What it means</th>
        </tr>
      </thead>
      <tbody>
        {SUMMARY_ACTIONS.map((a) => (
          <tr key={a}>
            <th scope="row" className="text-left font-medium">{ACTION_MEANINGS[a].label}</th>
            <td className="text-right tabular-nums">{n(actions[a])}</td>
            <td className="text-slate-600">{ACTION_MEANINGS[a].help}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function VersionSection({ v, current }: { v: ReportVersion; current: boolean }) {
  const id = `version-${v.ruleVersion}`;
  return (
    <section className="mb-8 border-t border-slate-200 pt-4" aria-labelledby={id}>
      <h2 id={id} className="mb-1 text-lg font-semibold">
        Rule version {v.ruleVersion}
        {current && <span className="ml-2 text-sm font-normal text-sky-800">current</span>}
        {v.savedAt && <span className="ml-2 text-sm font-normal text-slate-500">saved {v.savedAt.slice(0, 10)}</span>}
      </h2>
      <p className="text-sm text-slate-700">
        Options: {v.options.length ? v.options.join('; ') : 'none (Basic Profile only)'}. Quarantine of burned-in risks {v.quarantineBurnedIn ? 'on' : 'off'}; clinical-trial stamps{' '}
        {v.stamps.clinicalTrial ? 'on' : 'off'}; longitudinal offset {v.stamps.longitudinal ? 'on' : 'off'}.
      </p>
      <p className="mb-3 text-sm text-slate-700">
        <span className="tabular-nums">{n(v.deidentified)}</span> instances de-identified (<span className="tabular-nums">{n(v.stored)}</span> stored,{' '}
        <span className="tabular-nums">{n(v.quarantined)}</span> quarantined); <span className="tabular-nums">{n(v.indexed)}</span> in the pool now.
        {v.indexed > v.stored + v.quarantine.released + v.quarantine.redacted && ' Instances de-identified before this report existed are in the pool but not in the counts.'}
      </p>
      <div className="grid gap-6 lg:grid-cols-2">
        <div>
          <h3 className="mb-1 font-medium">Per action</h3>
          <ActionsTable actions={v.actions} caption={`Elements per action, rule version ${v.ruleVersion}`} />
        </div>
        <div className="space-y-4">
          <div>
            <h3 className="mb-1 font-medium">Per option (De-identification Method Code Sequence)</h3>
            {v.methodCodes.length === 0 ? (
              <p className="text-sm text-slate-600">None recorded.</p>
            ) : (
              <table className="table w-full text-sm">
                <thead>
                  <tr>
                    <th scope="col" className="text-left">Code</th>
                    <th scope="col" className="text-left">Option</th>
                    <th scope="col" className="text-right">Instances</th>
                  </tr>
                </thead>
                <tbody>
                  {v.methodCodes.map((m) => (
                    <tr key={m.code}>
                      <td className="font-mono">{m.code}</td>
                      <td>{m.meaning}</td>
                      <td className="text-right tabular-nums">{n(m.instances)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
          <div>
            <h3 className="mb-1 font-medium">Quarantine</h3>
            <p className="text-sm text-slate-700">
              {n(v.quarantine.held)} held: {n(v.quarantine.pending)} waiting, {n(v.quarantine.released)} released, {n(v.quarantine.redacted)} released as a redacted copy,{' '}
              {n(v.quarantine.dropped)} dropped.
            </p>
            {v.quarantine.reasons.length > 0 && (
              <table className="table mt-1 w-full text-sm">
                <thead>
                  <tr>
                    <th scope="col" className="text-left">Reason</th>
                    <th scope="col" className="text-right">Waiting</th>
                    <th scope="col" className="text-right">Released</th>
                    <th scope="col" className="text-right">Redacted</th>
                    <th scope="col" className="text-right">Dropped</th>
                  </tr>
                </thead>
                <tbody>
                  {v.quarantine.reasons.map((q) => (
                    <tr key={q.code}>
                      <td>
                        <span className="font-mono text-xs">{q.code}</span> <span className="block text-xs text-slate-600">{q.text}</span>
                      </td>
                      <td className="text-right tabular-nums">{n(q.pending)}</td>
                      <td className="text-right tabular-nums">{n(q.released)}</td>
                      <td className="text-right tabular-nums">{n(q.redacted)}</td>
                      <td className="text-right tabular-nums">{n(q.dropped)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <p className="mt-1 text-xs text-slate-500">An instance held for several reasons counts under each.</p>
          </div>
          <div>
            <h3 className="mb-1 font-medium">Burned-in text</h3>
            <p className="text-sm text-slate-700">
              OCR: {n(v.ocr.scanned)} instances scanned, {n(v.ocr.withText)} with text found.
              {v.ocr.findings.length > 0 && ` Findings by category: ${v.ocr.findings.map((f) => `${f.category} ${n(f.boxes)} boxes in ${n(f.instances)} instances`).join('; ')}.`}
            </p>
            <p className="text-sm text-slate-700">
              Pixel redactions:{' '}
              {v.redactions.instances === 0
                ? 'none recorded.'
                : `${n(v.redactions.instances)} redacted instances written (${n(v.redactions.lossy)} re-encoded lossily); regions by source: ${v.redactions.sources.map((x) => `${x.source} ${n(x.regions)} in ${n(x.instances)} instances`).join('; ')}.`}
            </p>
          </div>
        </div>
      </div>
    </section>
  );
}

export default async function DeidReportPage({ params }: { params: Promise<{ poolId: string }> }) {
  const { poolId } = await params;
  // Counts only, no identities: owners and administrators (like the quarantine list and the rules).
  const { pool, poolRole, isAdmin } = await pagePool(poolId, 'own');
  const report = await getDeidReport(pool.id);
  const t = report.totals;
  return (
    <>
      <PageHeader
        title={pool.name}
        subtitle="De-identification report: what this pool’s rules did to the instances that entered it, by rule version. Counts only: no identity and no value of any element."
        crumbs={[{ href: '/pools', label: 'Pools' }]}
        actions={
          <div className="flex gap-2">
            <a className="btn btn-sm" href={`/api/v1/pools/${pool.id}/deid-report/export?format=pdf`} download>
              Download PDF
            </a>
            <a className="btn btn-sm" href={`/api/v1/pools/${pool.id}/deid-report/export?format=csv`} download>
              Download CSV
            </a>
          </div>
        }
      />
      <PoolTabs poolId={pool.id} active="report" poolRole={poolRole} isAdmin={isAdmin} />
      {report.versions.every((v) => v.deidentified === 0 && v.indexed === 0 && v.quarantine.held === 0) ? (
        <EmptyState title="Nothing de-identified yet">The report fills in as instances are retrieved, pushed or stored into this pool.</EmptyState>
      ) : (
        <>
          <section className="mb-8" aria-labelledby="totals-title">
            <h2 id="totals-title" className="mb-1 text-lg font-semibold">All versions</h2>
            <p className="mb-3 text-sm text-slate-700">
              {n(t.deidentified)} instances de-identified ({n(t.stored)} stored, {n(t.quarantined)} quarantined); quarantine: {n(t.quarantine.pending)} waiting,{' '}
              {n(t.quarantine.released)} released, {n(t.quarantine.redacted)} released as redacted copies, {n(t.quarantine.dropped)} dropped; {n(t.redactedInstances)} pixel redactions; {n(t.ocrFindings)} OCR text boxes.
            </p>
            <ActionsTable actions={t.actions} caption="Elements per action, all versions" />
          </section>
          {report.versions.map((v) => (
            <VersionSection key={v.ruleVersion} v={v} current={v.ruleVersion === report.currentRuleVersion} />
          ))}
        </>
      )}
      <p className="text-xs text-slate-500">Generated {report.generatedAt}. See the documentation, “The de-identification report”, for what each count means.</p>
    </>
  );
}
