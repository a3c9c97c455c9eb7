'use client';
/**
 * Preview: one sample instance (staged for this pool, one instance fetched from the connector's
 * PACS for a study this pool's queries found, or a .dcm file; the last two read by the server in
 * memory and never stored) before and after the rules being edited. The "before" column is original,
 * identifying data: owners only, and every preview is audited (without values).
 */
import { useMemo, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { FormAlert, Spinner } from '@/components/admin/kit';
import { DirectIdentifierWarning } from '@/components/pools/direct-identifier-warning';

export interface Sample {
  id: string;
  receivedAt: string;
  sopClassName: string;
  size: number;
}

export interface PacsStudy {
  id: string;
  researchId: string | null;
  studyDate: string;
  modalities: string;
  numInstances: number | null;
  connectorName: string;
  retrieveMethod: string;
  fetchable: boolean;
}

type Mode = 'staged' | 'pacs' | 'upload';

type RowAction = 'removed' | 'changed' | 'kept' | 'added';

interface PreviewRow {
  tag: string;
  keyword?: string;
  path?: string;
  before?: string;
  after?: string;
  action: RowAction;
}

interface PreviewData {
  rows: PreviewRow[];
  counts: Record<RowAction, number>;
  quarantine?: { reason: string; codes?: string[] };
  sopClassUid: string;
  transferSyntaxUid: string;
  identitySource: 'existing' | 'query-row' | 'lookup' | 'pseudonym';
  fingerprint: string;
  ruleVersion: number;
  keepsDirectIdentifiers: string[];
}

const ACTION_STYLE: Record<RowAction, string> = {
  removed: 'bg-rose-100 text-rose-800',
  changed: 'bg-amber-100 text-amber-900',
  added: 'bg-sky-100 text-sky-800',
  kept: 'bg-slate-100 text-slate-700',
};

const IDENTITY_SOURCE: Record<PreviewData['identitySource'], string> = {
  existing: 'the identity this patient already has in the pool',
  'query-row': 'the ResearchID of the query row',
  lookup: 'the pool’s research-ID lookup table',
  pseudonym: 'the pool’s stable pseudonym (no identity is created by a preview)',
};

const fmtDate = (d: string) => (/^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : d || 'no date');

export function PreviewPanel({ poolId, rules, samples, pacsStudies = [], maxMb, beforePreview }: { poolId: string; rules: unknown; samples: Sample[]; pacsStudies?: PacsStudy[]; maxMb: number; beforePreview: () => boolean }) {
  const fetchable = pacsStudies.filter((p) => p.fetchable);
  const [mode, setMode] = useState<Mode>(samples.length ? 'staged' : fetchable.length ? 'pacs' : 'upload');
  const [stagedId, setStagedId] = useState(samples[0]?.id ?? '');
  const [pacsId, setPacsId] = useState(fetchable[0]?.id ?? '');
  const [file, setFile] = useState<File | null>(null);
  const [data, setData] = useState<PreviewData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [show, setShow] = useState<Record<RowAction, boolean>>({ removed: true, changed: true, added: true, kept: false });
  const [q, setQ] = useState('');

  async function run() {
    setError(null);
    if (!beforePreview()) return;
    if (mode === 'upload' && !file) return setError('Choose a DICOM file first.');
    if (mode === 'upload' && file && file.size > maxMb * 1024 * 1024) return setError(`Samples are limited to ${maxMb} MB.`);
    if (mode === 'staged' && !stagedId) return setError('Choose a staged instance.');
    if (mode === 'pacs' && !pacsId) return setError('Choose a study from the PACS.');
    const form = new FormData();
    form.set('rules', JSON.stringify(rules));
    if (mode === 'staged') form.set('stagedInstanceId', stagedId);
    else if (mode === 'pacs') form.set('queryResultId', pacsId);
    else form.set('file', file!);
    setBusy(true);
    const res = await apiFetch<PreviewData>(`/pools/${poolId}/preview`, { form });
    setBusy(false);
    if (!res.ok) {
      setData(null);
      const fieldText = Object.entries(res.error.fields ?? {}).map(([k, m]) => `${k.replace(/^rules\./, '')}: ${m.join(' ')}`);
      return setError([res.error.message, ...fieldText].join(' — '));
    }
    setData(res.data);
  }

  const rows = useMemo(() => {
    if (!data) return [];
    const needle = q.trim().toLowerCase();
    return data.rows.filter(
      (r) =>
        show[r.action] &&
        (!needle || [r.tag, r.keyword, r.path, r.before, r.after].some((v) => v?.toLowerCase().includes(needle))),
    );
  }, [data, show, q]);

  return (
    <div className="space-y-3">
      <p className="text-slate-600">
        Runs the rules above (saved or not) on one instance and lists every attribute removed, changed, added or kept.
        The <strong>before</strong> column shows the original, identifying values: only pool owners can preview, and each preview is recorded in the audit log (without values).
      </p>
      <div className="flex flex-wrap items-end gap-3">
        <fieldset className="flex gap-3">
          <legend className="sr-only">Sample</legend>
          <label className="flex items-center gap-1">
            <input type="radio" name="sample" checked={mode === 'staged'} onChange={() => setMode('staged')} disabled={!samples.length} /> Staged instance
          </label>
          <label className="flex items-center gap-1">
            <input type="radio" name="sample" checked={mode === 'pacs'} onChange={() => setMode('pacs')} disabled={!fetchable.length} /> From the PACS
          </label>
          <label className="flex items-center gap-1">
            <input type="radio" name="sample" checked={mode === 'upload'} onChange={() => setMode('upload')} /> Upload a .dcm
          </label>
        </fieldset>
        {mode === 'staged' ? (
          <div className="min-w-64">
            <label className="label" htmlFor="preview-staged">Staged instance (waiting for de-identification)</label>
            <select id="preview-staged" className="input" value={stagedId} onChange={(e) => setStagedId(e.target.value)}>
              {samples.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.receivedAt.slice(0, 16).replace('T', ' ')} · {s.sopClassName} · {Math.max(1, Math.round(s.size / 1024))} KB
                </option>
              ))}
            </select>
          </div>
        ) : mode === 'pacs' ? (
          <div className="min-w-64">
            <label className="label" htmlFor="preview-pacs">Study found by this pool’s queries (one instance is fetched, never stored)</label>
            <select id="preview-pacs" className="input" value={pacsId} onChange={(e) => setPacsId(e.target.value)}>
              {fetchable.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.researchId ?? 'no research ID'} · {fmtDate(p.studyDate)} · {p.modalities || 'modality unknown'}{p.numInstances != null ? ` · ${p.numInstances} instances` : ''} · {p.connectorName}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <div className="min-w-64">
            <label className="label" htmlFor="preview-file">DICOM file (read in memory, never stored; at most {maxMb} MB)</label>
            <input id="preview-file" type="file" accept=".dcm,application/dicom" className="input" onChange={(e) => { setFile(e.target.files?.[0] ?? null); setData(null); }} />
          </div>
        )}
        <button type="button" className="btn" onClick={run} disabled={busy}>
          {busy && <Spinner />} Preview
        </button>
      </div>
      {!samples.length && mode === 'upload' && (
        <p className="text-xs text-slate-500">No staged instance of this pool right now (staged originals exist only while a retrieval is being de-identified), so upload a sample.</p>
      )}
      {pacsStudies.length > fetchable.length && (
        <p className="text-xs text-slate-500">
          Studies found through C-MOVE connectors cannot be fetched for a preview (their instances go to the receiving AE, not to this page): for those, use a staged instance or upload a file. C-GET connectors offer “From the PACS”.
        </p>
      )}
      <FormAlert message={error} />

      {data && (
        <div className="space-y-2" role="region" aria-label="Preview result">
          <DirectIdentifierWarning keywords={data.keepsDirectIdentifiers ?? []} what="The previewed rules" />
          <p>
            {data.quarantine ? (
              <span className="badge bg-amber-100 text-amber-900">would be quarantined{data.quarantine.codes?.length ? ` (${data.quarantine.codes.join(', ')})` : ''}: {data.quarantine.reason}</span>
            ) : (
              <span className="badge bg-emerald-100 text-emerald-800">would enter the pool</span>
            )}{' '}
            <span className="text-slate-600">
              {data.counts.removed} removed · {data.counts.changed} changed · {data.counts.added} added · {data.counts.kept} kept · rules #{data.fingerprint} (as version {data.ruleVersion}) · research identity from {IDENTITY_SOURCE[data.identitySource]}
            </span>
          </p>
          <div className="flex flex-wrap items-center gap-3">
            {(['removed', 'changed', 'added', 'kept'] as RowAction[]).map((a) => (
              <label key={a} className="flex items-center gap-1">
                <input type="checkbox" checked={show[a]} onChange={(e) => setShow({ ...show, [a]: e.target.checked })} /> {a} ({data.counts[a]})
              </label>
            ))}
            <label className="sr-only" htmlFor="preview-q">Filter rows</label>
            <input id="preview-q" className="input max-w-xs" placeholder="Filter by tag, keyword or value" value={q} onChange={(e) => setQ(e.target.value)} />
          </div>
          <div className="card max-h-[32rem] overflow-auto" tabIndex={0} role="region" aria-label="Before and after (scrolls)">
            <table className="table w-full table-fixed" aria-label="Before and after">
              <colgroup>
                <col className="w-28" />
                <col className="w-[22%]" />
                <col />
                <col />
                <col className="w-24" />
              </colgroup>
              <thead>
                <tr><th>Tag</th><th>Attribute</th><th>Before</th><th>After</th><th>Result</th></tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={`${r.path ?? ''}|${r.tag}|${i}`}>
                    <td className="whitespace-nowrap font-mono text-xs">{r.tag}</td>
                    <td className="truncate text-xs" title={[r.path, r.keyword].filter(Boolean).join(' › ')}>
                      {r.path && <span className="text-slate-500">{r.path} › </span>}
                      {r.keyword ?? <span className="text-slate-500">private / unknown</span>}
                    </td>
                    {/* One line per value (the full value on hover and for screen readers' title), so long values do not wrap into three lines. */}
                    <td className="truncate font-mono text-xs" title={r.before ?? undefined}>{r.before ?? <span className="text-slate-400">—</span>}</td>
                    <td className="truncate font-mono text-xs" title={r.after ?? undefined}>{r.after ?? <span className="text-slate-400">—</span>}</td>
                    <td><span className={`badge ${ACTION_STYLE[r.action]}`}>{r.action}</span></td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr><td colSpan={5} className="py-4 text-center text-slate-500">No row matches these filters.</td></tr>
                )}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </div>
  );
}
