'use client';
/**
 * Live view of one query: rows, the studies found, selection, and per-study retrieval progress.
 * Polls the API while anything is still running (no manual reload needed).
 */
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { ProgressBar, StateBadge, formatDicomDate, formatPersonName } from '@/components/ui';

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
  error: string | null;
  source: string;
  items: Item[];
  results: Result[];
  progress: { rows: number; rowsDone: number; studies: number; studiesDone: number; instancesExpected: number; instancesStored: number; instancesFailed: number };
}

const ACTIVE_QUERY = ['PENDING', 'RUNNING'];
const ACTIVE_RETRIEVAL = ['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING'];

export function QueryLive({ poolId, initial }: { poolId: string; initial: QueryDetailJson }) {
  const [data, setData] = useState(initial);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const running = ACTIVE_QUERY.includes(data.status) || data.results.some((r) => r.retrieval && ACTIVE_RETRIEVAL.includes(r.retrieval.state));

  const refresh = useCallback(async () => {
    const res = await apiFetch<QueryDetailJson>(`/queries/${data.id}`);
    if (res.ok) setData(res.data);
  }, [data.id]);

  useEffect(() => {
    if (!running) return;
    const t = setInterval(refresh, 1500);
    return () => clearInterval(t);
  }, [running, refresh]);

  const selectable = useMemo(() => data.results.filter((r) => !r.retrieval || ['FAILED', 'PARTIAL', 'CANCELLED'].includes(r.retrieval.state)), [data.results]);
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
    if (!res.ok) return setMessage(res.error.message);
    setChecked(new Set());
    setMessage(`${res.data.queued + res.data.retried} ${res.data.queued + res.data.retried === 1 ? 'study' : 'studies'} queued for retrieval.`);
    await refresh();
  }

  async function act(path: string, okText: string) {
    const res = await apiFetch(path, { method: 'POST' });
    setMessage(res.ok ? okText : res.error.message);
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
            <span className="tabular-nums text-slate-600">{p.rowsDone}/{p.rows} rows answered</span>
          </div>
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
          {message && <p className="mt-2 text-slate-700" role="status">{message}</p>}
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
          {message && <p className="px-3 pt-2 text-sm text-slate-700" role="status">{message}</p>}
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
                {data.results.map((r) => {
                  const can = !r.retrieval || ['FAILED', 'PARTIAL', 'CANCELLED'].includes(r.retrieval.state);
                  const ret = r.retrieval;
                  return (
                    <tr key={r.id}>
                      <td>
                        <input type="checkbox" aria-label={`Select study ${formatDicomDate(r.studyDate)} ${r.studyDescription}`} disabled={!can} checked={checked.has(r.studyInstanceUid)} onChange={() => toggle(r.studyInstanceUid)} />
                      </td>
                      <td className="tabular-nums text-slate-500">{itemsById.get(r.itemId)?.rowNumber}</td>
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
          <table className="table">
            <thead><tr><th>Row</th><th>MRN</th><th>Status</th><th>Reason</th></tr></thead>
            <tbody>
              {[...failedRows, ...noResultRows].map((i) => (
                <tr key={i.id}>
                  <td className="tabular-nums">{i.rowNumber}</td>
                  <td className="font-mono text-xs">{i.patientId}</td>
                  <td><StateBadge state={i.status} /></td>
                  <td className="text-slate-600">{i.error ?? 'No study found at the PACS'}</td>
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
