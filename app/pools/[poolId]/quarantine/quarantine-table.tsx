'use client';
/** Quarantined instances with release / drop for the owner (one, or a selection), each confirmed. */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';
import { FormAlert, Spinner } from '@/components/admin/kit';
import { InspectPanel } from './inspect-panel';

function ocrLabel(o: QuarantineRow['ocr']): string {
  if (o.status === 'done') return o.boxes ? `${o.boxes} text box${o.boxes === 1 ? '' : 'es'}` : 'no text found';
  return { pending: 'waiting', unsupported: 'cannot read', unavailable: 'not installed', failed: 'failed', skipped: '—' }[o.status] ?? o.status;
}

export interface QuarantineRow {
  id: string;
  /** The owner's text: why this instance is held. */
  reason: string;
  /** Its stable reason codes (lib/anonymize/burned-in.ts); empty for a reason stored before them. */
  reasonCodes: string[];
  modality: string;
  sopClassName: string;
  studyInstanceUid: string;
  studyId: string | null;
  researchId: string | null;
  size: number;
  ruleVersion: number;
  createdAt: string;
  decision: 'released' | 'dropped' | 'redacted' | null;
  ocr: { status: string; boxes: number | null; error: string | null };
  decidedAt: string | null;
  decidedBy: string | null;
}

const when = (iso: string) => iso.slice(0, 16).replace('T', ' ');
const kb = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`);

export function QuarantineTable({ poolId, rows, canDecide }: { poolId: string; rows: QuarantineRow[]; canDecide: boolean }) {
  const router = useRouter();
  const [confirm, confirmDialog] = useConfirm();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [inspecting, setInspecting] = useState<string | null>(null);
  const pending = rows.filter((r) => r.decision === null);

  async function decide(ids: string[], decision: 'release' | 'drop') {
    if (!ids.length) return;
    const n = ids.length === 1 ? 'this instance' : `these ${ids.length} instances`;
    const ok = await confirm(
      decision === 'release'
        ? { title: `Release ${n} into the pool?`, body: <p>Researchers will see the pixels as they are: check them for burned-in names, dates or faces first.</p>, confirmLabel: 'Release', danger: true }
        : { title: `Drop ${n}?`, body: <p>The de-identified file{ids.length === 1 ? ' is' : 's are'} deleted; the record stays. This cannot be undone.</p>, confirmLabel: 'Drop', danger: true },
    );
    if (!ok) return;
    setBusy(ids.length === 1 ? `${decision}:${ids[0]}` : decision);
    setError(null);
    setNotice(null);
    const res = await apiFetch<{ done: string[]; failed: { id: string; reason: string }[] }>(`/pools/${poolId}/quarantine/decisions`, { body: { ids, decision } });
    setBusy(null);
    if (!res.ok) return setError(res.error.message);
    const verb = decision === 'release' ? 'released' : 'dropped';
    setNotice(`${res.data.done.length} ${verb}.`);
    if (res.data.failed.length) setError(`${res.data.failed.length} could not be ${verb}: ${[...new Set(res.data.failed.map((f) => f.reason))].join('; ')}`);
    setSelected(new Set());
    router.refresh();
  }

  const allSelected = pending.length > 0 && pending.every((r) => selected.has(r.id));
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  return (
    <div className="space-y-2">
      {confirmDialog}
      {canDecide && pending.length > 0 && (
        <div className="flex flex-wrap items-center gap-2" role="toolbar" aria-label="Selected instances">
          <span className="text-slate-600 tabular-nums">{selected.size} selected</span>
          <button type="button" className="btn btn-sm" disabled={!selected.size || busy !== null} onClick={() => decide([...selected], 'release')}>
            {busy === 'release' && <Spinner />} Release selected
          </button>
          <button type="button" className="btn btn-sm btn-danger" disabled={!selected.size || busy !== null} onClick={() => decide([...selected], 'drop')}>
            {busy === 'drop' && <Spinner />} Drop selected
          </button>
        </div>
      )}
      <FormAlert message={error} />
      {notice && <p role="status" className="text-emerald-800">{notice}</p>}
      <div className="card overflow-x-auto">
        <table className="table" aria-label="Quarantined instances">
          <thead>
            <tr>
              {canDecide && (
                <th className="w-8">
                  <input
                    type="checkbox"
                    aria-label="Select all waiting instances"
                    checked={allSelected}
                    disabled={!pending.length}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(pending.map((r) => r.id)))}
                  />
                </th>
              )}
              <th>Held since</th>
              <th>Modality</th>
              <th>SOP class</th>
              <th>Reason</th>
              <th>OCR</th>
              <th>Study (research)</th>
              <th className="text-right">Rules</th>
              <th className="text-right">Size</th>
              <th>Decision</th>
              {canDecide && <th><span className="sr-only">Actions</span></th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <Fragment key={r.id}>
              <tr>
                {canDecide && (
                  <td>
                    {r.decision === null && (
                      <input type="checkbox" aria-label={`Select instance held since ${when(r.createdAt)}`} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />
                    )}
                  </td>
                )}
                <td className="whitespace-nowrap tabular-nums">{when(r.createdAt)}</td>
                <td>{r.modality || <span className="text-slate-400">—</span>}</td>
                <td>{r.sopClassName}</td>
                <td className="text-xs">
                  {r.reasonCodes.map((c) => (
                    <span key={c} className="badge mr-1 bg-slate-100 font-mono text-slate-700">{c}</span>
                  ))}
                  <span className="block">{r.reason}</span>
                </td>
                <td className="whitespace-nowrap text-xs" data-testid="ocr-cell">{ocrLabel(r.ocr)}</td>
                <td className="text-xs">
                  {r.researchId && <span className="block font-mono">{r.researchId}</span>}
                  {r.studyId ? (
                    <Link href={`/pools/${poolId}/studies/${r.studyId}`} className="font-mono break-all">{r.studyInstanceUid}</Link>
                  ) : (
                    <span className="font-mono break-all text-slate-600" title="No instance of this study is in the pool yet">{r.studyInstanceUid}</span>
                  )}
                </td>
                <td className="text-right tabular-nums">v{r.ruleVersion}</td>
                <td className="whitespace-nowrap text-right tabular-nums">{kb(r.size)}</td>
                <td className="whitespace-nowrap">
                  {r.decision === null ? (
                    <span className="badge bg-amber-100 text-amber-900">waiting</span>
                  ) : (
                    <>
                      <span className={`badge ${r.decision === 'released' || r.decision === 'redacted' ? 'bg-emerald-100 text-emerald-800' : 'bg-slate-200 text-slate-700'}`}>{r.decision}</span>
                      <span className="ml-1 text-xs text-slate-500">
                        {r.decidedAt ? when(r.decidedAt) : ''}
                        {r.decidedBy ? ` · ${r.decidedBy}` : ''}
                      </span>
                    </>
                  )}
                </td>
                {canDecide && (
                  <td className="whitespace-nowrap text-right">
                    {r.decision === null && (
                      <>
                        <button type="button" className="btn btn-sm" aria-expanded={inspecting === r.id} onClick={() => setInspecting(inspecting === r.id ? null : r.id)}>
                          Look
                        </button>{' '}
                        <button type="button" className="btn btn-sm" disabled={busy !== null} onClick={() => decide([r.id], 'release')}>
                          {busy === `release:${r.id}` ? 'Releasing…' : 'Release'}
                        </button>{' '}
                        <button type="button" className="btn btn-sm btn-danger" disabled={busy !== null} onClick={() => decide([r.id], 'drop')}>
                          {busy === `drop:${r.id}` ? 'Dropping…' : 'Drop'}
                        </button>
                      </>
                    )}
                  </td>
                )}
              </tr>
              {canDecide && inspecting === r.id && (
                <tr>
                  <td colSpan={11}>
                    <InspectPanel
                      poolId={poolId}
                      id={r.id}
                      onClose={() => setInspecting(null)}
                      onDone={(message) => {
                        setInspecting(null);
                        setNotice(message);
                        router.refresh();
                      }}
                    />
                  </td>
                </tr>
              )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
