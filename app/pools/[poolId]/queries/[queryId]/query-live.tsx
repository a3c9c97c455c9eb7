'use client';
/**
 * Live view of one query: rows, the studies found, selection, and per-study retrieval progress.
 * Polls the API while anything is still running (no manual reload needed).
 */
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { ProgressBar, StateBadge, formatDicomDate, formatPersonName } from '@/components/ui';
import { rowOutcome, summarizeRows } from '@/lib/queries/summary';

interface Retrieval {
  id: string;
  state: string;
  expected: number;
  received: number;
  stored: number;
  failed: number;
  lastError: string | null;
  scheduledFor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}
interface Result {
  id: string;
  itemId: string;
  studyInstanceUid: string;
  patientId: string;
  patientName: string;
  studyDate: string;
  studyDescription: string;
  accessionNumber: string;
  modalities: string;
  numSeries: number | null;
  numInstances: number | null;
  selected: boolean;
  retrieval: Retrieval | null;
  /** The study's de-identified copy in the pool, when the viewer may follow it (lib/queries/queries.ts). */
  poolStudyId?: string | null;
}
interface Item {
  id: string;
  rowNumber: number;
  patientId: string;
  accessionNumber: string | null;
  modality: string | null;
  status: string;
  error: string | null;
  resultCount: number;
}
export interface QueryDetailJson {
  id: string;
  status: string;
  connector: { id: string; name: string; schedule: string | null };
  error: string | null;
  source: string;
  /** The connector's next window opening while work of this query waits for it; else null. */
  scheduledFor: string | null;
  items: Item[];
  results: Result[];
  progress: { rows: number; rowsDone: number; studies: number; studiesDone: number; instancesExpected: number; instancesStored: number; instancesFailed: number };
}

const ACTIVE_QUERY = ['PENDING', 'RUNNING'];
const ACTIVE_RETRIEVAL = ['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING'];

export function QueryLive({ poolId, initial }: { poolId: string; initial: QueryDetailJson }) {
  const [data, setData] = useState(initial);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [message, setMessageState] = useState<{ text: string; kind: 'info' | 'error' } | null>(null);
  const setMessage = (text: string | null, kind: 'info' | 'error' = 'info') => setMessageState(text === null ? null : { text, kind });
  const [busy, setBusy] = useState(false);

  const running = ACTIVE_QUERY.includes(data.status) || data.results.some((r) => r.retrieval && ACTIVE_RETRIEVAL.includes(r.retrieval.state));

  // "3 studies queued", "Retry queued", "Cancelled" stop being true once the work they announce
  // has ended: they go when nothing runs any more (the badges and counts say how it ended).
  const wasRunning = useRef(running);
  useEffect(() => {
    if (wasRunning.current && !running) setMessageState((m) => (m?.kind === 'info' ? null : m));
    wasRunning.current = running;
  }, [running]);

  const refresh = useCallback(async () => {
    const res = await apiFetch<QueryDetailJson>(`/queries/${data.id}`);
    if (res.ok) setData(res.data);
  }, [data.id]);

  useEffect(() => {
    if (!running) return;
    const t = setInterval(refresh, 1500);
    return () => clearInterval(t);
  }, [running, refresh]);

  // Rate of instances stored over the last minute gives the ETA.
  const samples = useRef<{ t: number; stored: number }[]>([]);
  useEffect(() => {
    const now = Date.now();
    samples.current = [...samples.current.filter((x) => now - x.t < 60_000), { t: now, stored: data.progress.instancesStored }];
  }, [data.progress.instancesStored]);
  const eta = useMemo(() => {
    const sm = samples.current;
    const left = data.progress.instancesExpected - data.progress.instancesStored;
    if (sm.length < 2 || left <= 0) return null;
    const rate = (sm[sm.length - 1].stored - sm[0].stored) / ((sm[sm.length - 1].t - sm[0].t) / 1000);
    return rate > 0 ? Math.round(left / rate) : null;
  }, [data.progress.instancesExpected, data.progress.instancesStored]);

  const itemRow = useMemo(() => new Map(data.items.map((i) => [i.id, i.rowNumber])), [data.items]);
  // Grouped by spreadsheet row, then by study date (newest first).
  const results = useMemo(
    () => [...data.results].sort((a, b) => (itemRow.get(a.itemId) ?? 0) - (itemRow.get(b.itemId) ?? 0) || b.studyDate.localeCompare(a.studyDate)),
    [data.results, itemRow],
  );
  const modalities = useMemo(() => [...new Set(data.results.flatMap((r) => r.modalities.split('\\').filter(Boolean)))].sort(), [data.results]);
  const [range, setRange] = useState({ from: '', to: '' });
  const selectable = useMemo(() => data.results.filter((r) => !r.retrieval || ['FAILED', 'PARTIAL', 'CANCELLED'].includes(r.retrieval.state)), [data.results]);
  const selectWhere = (pred: (r: Result) => boolean) => setChecked(new Set(selectable.filter(pred).map((r) => r.studyInstanceUid)));
  const allChecked = selectable.length > 0 && selectable.every((r) => checked.has(r.studyInstanceUid));

  function toggle(uid: string) {
    setChecked((prev) => {
      const n = new Set(prev);
      if (n.has(uid)) n.delete(uid);
      else n.add(uid);
      return n;
    });
  }

  async function retrieve() {
    setBusy(true);
    setMessage(null);
    const res = await apiFetch<{ queued: number; retried: number }>(`/queries/${data.id}/retrieve`, { body: { studyInstanceUids: [...checked] } });
    setBusy(false);
    if (!res.ok) return setMessage(res.error.message, 'error');
    setChecked(new Set());
    setMessage(`${res.data.queued + res.data.retried} ${res.data.queued + res.data.retried === 1 ? 'study' : 'studies'} queued for retrieval.`);
    await refresh();
  }

  async function act(path: string, okText: string) {
    const res = await apiFetch(path, { method: 'POST' });
    if (res.ok) setMessage(okText);
    else setMessage(res.error.message, 'error');
    await refresh();
  }

  const p = data.progress;
  const itemsById = new Map(data.items.map((i) => [i.id, i]));
  const noResultRows = data.items.filter((i) => i.status === 'DONE' && i.resultCount === 0);
  const failedRows = data.items.filter((i) => i.status === 'FAILED' || i.status === 'INVALID');

  return (
    <div className="space-y-4">
      <section className="card grid gap-3 p-3 sm:grid-cols-3" aria-label="Progress">
        <div>
          <div className="label">Query</div>
          <div className="flex items-center gap-2">
            <StateBadge state={data.status} />
            <span className="tabular-nums text-slate-700" data-testid="row-summary">
              {ACTIVE_QUERY.includes(data.status) && p.rows > 1 ? `${p.rowsDone}/${p.rows} rows asked · ` : ''}
              {summarizeRows(data.items)}
            </span>
          </div>
          {p.rows > 1 && <ProgressBar value={p.rowsDone} max={p.rows} label="Rows answered" />}
          {data.scheduledFor && (
            <p className="text-xs text-violet-700" data-testid="query-scheduled">
              scheduled for {new Date(data.scheduledFor).toLocaleString()} (the connector&apos;s window: {data.connector.schedule})
            </p>
          )}
          {data.error && <p className="field-error">{data.error}</p>}
          {!ACTIVE_QUERY.includes(data.status) && data.items.some((i) => i.status === 'FAILED' || i.status === 'CANCELLED') && (
            <button type="button" className="btn btn-sm mt-2" onClick={() => act(`/queries/${data.id}/retry`, 'Failed rows queued again.')}>
              Run failed rows again
            </button>
          )}
        </div>
        <div className="sm:col-span-2">
          <div className="label">Retrieval</div>
          {p.studies === 0 ? (
            <p className="text-slate-500">Tick studies below and press Retrieve.</p>
          ) : (
            <>
              <ProgressBar value={p.instancesStored} max={Math.max(p.instancesExpected, 1)} label="Instances stored in the pool" />
              <p className="mt-1 tabular-nums text-slate-600">
                {p.studiesDone}/{p.studies} studies finished · {p.instancesStored}/{p.instancesExpected} instances stored
                {p.instancesFailed > 0 && <span className="text-rose-700"> · {p.instancesFailed} failed</span>}
                {eta !== null && running && <span> · about {eta < 90 ? `${eta} s` : `${Math.round(eta / 60)} min`} left</span>}
              </p>
            </>
          )}
        </div>
      </section>

      {ACTIVE_QUERY.includes(data.status) && data.results.length === 0 ? (
        <p className="text-slate-600" aria-live="polite">Asking the PACS…</p>
      ) : data.results.length === 0 ? (
        <div className="card p-6 text-center text-slate-600">
          {data.status === 'FAILED'
            ? 'The PACS could not be queried. Check the connector (an administrator can run “Test connection”), then run the failed rows again.'
            : 'No study matched. Check the MRN and the filters, then run a new query.'}
          {message && <p className={`mt-2 ${message.kind === 'error' ? 'text-rose-700' : 'text-slate-700'}`} role={message.kind === 'error' ? 'alert' : 'status'}>{message.text}</p>}
        </div>
      ) : (
        <section className="card">
          <header className="flex items-center gap-3 border-b border-slate-100 px-3 py-2">
            <h2>Studies found ({data.results.length})</h2>
            <span className="text-xs text-slate-500">Identifying details are shown to coordinators only; the pool receives de-identified copies.</span>
            <button type="button" className="btn btn-primary ml-auto" disabled={checked.size === 0 || busy} onClick={retrieve}>
              Retrieve {checked.size > 0 ? `${checked.size} ` : ''}selected
            </button>
          </header>
          {message && <p className={`px-3 pt-2 text-sm ${message.kind === 'error' ? 'text-rose-700' : 'text-slate-700'}`} role={message.kind === 'error' ? 'alert' : 'status'}>{message.text}</p>}
          <div className="flex flex-wrap items-end gap-2 border-b border-slate-100 px-3 py-2 text-xs" aria-label="Select studies">
            <span className="text-slate-500">Select:</span>
            <button type="button" className="btn btn-sm" onClick={() => selectWhere(() => true)}>All</button>
            <button type="button" className="btn btn-sm" onClick={() => setChecked(new Set())}>None</button>
            {modalities.map((m) => (
              <button key={m} type="button" className="btn btn-sm" onClick={() => selectWhere((r) => r.modalities.split('\\').includes(m))}>{m}</button>
            ))}
            <label className="ml-3 text-slate-500" htmlFor="selFrom">Study date</label>
            <input id="selFrom" type="date" className="input w-36 py-0.5 text-xs" value={range.from} onChange={(e) => setRange({ ...range, from: e.target.value })} aria-label="Select from study date" />
            <span>–</span>
            <input type="date" className="input w-36 py-0.5 text-xs" value={range.to} onChange={(e) => setRange({ ...range, to: e.target.value })} aria-label="Select to study date" />
            <button
              type="button"
              className="btn btn-sm"
              disabled={!range.from && !range.to}
              onClick={() => {
                const from = range.from.replaceAll('-', '') || '00000000';
                const to = range.to.replaceAll('-', '') || '99999999';
                selectWhere((r) => r.studyDate >= from && r.studyDate <= to);
              }}
            >
              Select in range
            </button>
          </div>
          <div className="overflow-x-auto">
            <table className="table" aria-label="Studies found">
              <thead>
                <tr>
                  <th className="w-8">
                    <input
                      type="checkbox"
                      aria-label="Select all studies"
                      checked={allChecked}
                      onChange={() => setChecked(allChecked ? new Set() : new Set(selectable.map((r) => r.studyInstanceUid)))}
                    />
                  </th>
                  <th>Row</th><th>MRN</th><th>Patient</th><th>Study date</th><th>Description</th><th>Modalities</th><th>Accession</th>
                  <th className="text-right">Instances</th><th className="w-64">Retrieval</th>
                </tr>
              </thead>
              <tbody>
                {results.map((r, idx) => {
                  const firstOfRow = idx === 0 || results[idx - 1].itemId !== r.itemId;
                  const can = !r.retrieval || ['FAILED', 'PARTIAL', 'CANCELLED'].includes(r.retrieval.state);
                  const ret = r.retrieval;
                  return (
                    <tr key={r.id} className={firstOfRow && idx > 0 ? 'border-t-2 border-slate-200' : ''}>
                      <td>
                        <input type="checkbox" aria-label={`Select study ${formatDicomDate(r.studyDate)} ${r.studyDescription}`} disabled={!can} checked={checked.has(r.studyInstanceUid)} onChange={() => toggle(r.studyInstanceUid)} />
                      </td>
                      <td className="tabular-nums text-slate-500">{firstOfRow ? itemsById.get(r.itemId)?.rowNumber : ''}</td>
                      <td className="font-mono text-xs">{r.patientId}</td>
                      <td>{formatPersonName(r.patientName)}</td>
                      <td className="tabular-nums">{formatDicomDate(r.studyDate)}</td>
                      <td>{r.studyDescription}</td>
                      <td>{r.modalities.split('\\').join(', ')}</td>
                      <td className="font-mono text-xs">{r.accessionNumber}</td>
                      <td className="text-right tabular-nums">{r.numInstances ?? '—'}</td>
                      <td>
                        {ret ? (
                          <div className="space-y-1" data-testid="retrieval">
                            <div className="flex items-center gap-2">
                              <StateBadge state={ret.state} />
                              <span className="tabular-nums text-xs text-slate-600">
                                {ret.received} received · {ret.stored} stored{ret.failed ? ` · ${ret.failed} failed` : ''}
                                {ret.expected ? ` / ${ret.expected}` : ''}
                              </span>
                            </div>
                            {ACTIVE_RETRIEVAL.includes(ret.state) && <ProgressBar value={ret.stored} max={Math.max(ret.expected, 1)} label="Study progress" />}
                            {ret.state === 'SCHEDULED' && ret.scheduledFor && <p className="text-xs text-violet-700">scheduled for {new Date(ret.scheduledFor).toLocaleString()}</p>}
                            {ret.lastError && <p className="text-xs text-rose-700">{ret.lastError}</p>}
                            <div className="flex gap-2">
                              {r.poolStudyId && (
                                <Link href={`/pools/${poolId}/studies/${r.poolStudyId}`} className="btn btn-sm hover:no-underline">
                                  Open in pool
                                </Link>
                              )}
                              {['FAILED', 'PARTIAL', 'CANCELLED'].includes(ret.state) && (
                                <button type="button" className="btn btn-sm" onClick={() => act(`/retrievals/${ret.id}/retry`, 'Retry queued.')}>Retry</button>
                              )}
                              {['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING'].includes(ret.state) && (
                                <button type="button" className="btn btn-sm btn-danger" onClick={() => act(`/retrievals/${ret.id}/cancel`, 'Cancelled.')}>Cancel</button>
                              )}
                            </div>
                          </div>
                        ) : (
                          <span className="text-xs text-slate-400">not requested</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </section>
      )}

      {(noResultRows.length > 0 || failedRows.length > 0) && (
        <section className="card p-3">
          <h2 className="mb-2">Rows without studies</h2>
          <table className="table" aria-label="Rows without studies">
            <thead><tr><th>Row</th><th>MRN</th><th>Status</th><th>Reason</th></tr></thead>
            <tbody>
              {[...failedRows, ...noResultRows].map((i) => (
                <tr key={i.id}>
                  <td className="tabular-nums">{i.rowNumber}</td>
                  <td className="font-mono text-xs">{i.patientId}</td>
                  <td>{rowOutcome(i) === 'no match' ? <span className="badge bg-amber-100 text-amber-900">no match</span> : <StateBadge state={i.status} />}</td>
                  <td className="text-slate-700">{i.error ?? 'No study found at the PACS'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <p><Link href={`/pools/${poolId}`}>Open the pool’s studies →</Link></p>
    </div>
  );
}
