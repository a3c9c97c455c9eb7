'use client';
/**
 * The pool's exports with live progress: while one is queued, scheduled or running the page
 * re-renders itself from the server every 1.5 s (router.refresh(); no manual reload), and stops
 * once all have finished. Retry failed and Cancel call the exports API; the receipt link shows
 * once an export has finished.
 */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';
import { ProgressBar, StateBadge } from '@/components/ui';
import type { ExportRowView } from '@/lib/exports/views';

const ACTIVE = ['QUEUED', 'SCHEDULED', 'RUNNING'];
const FINISHED = ['COMPLETED', 'WARNING', 'FAILED', 'CANCELED'];

function when(iso: string | null): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') + ' UTC' : '';
}

function scopeText(e: ExportRowView): string {
  if (e.scope.kind === 'pool') return 'whole pool';
  if (e.scope.kind === 'auto') return 'new study (automatic)';
  const n = e.scope.studies;
  return n === null ? e.scope.kind : `${n} ${n === 1 ? 'study' : 'studies'}`;
}

export function ExportsLive({ poolId, exports, selected, canAct }: { poolId: string; exports: ExportRowView[]; selected: string | null; canAct: boolean }) {
  const router = useRouter();
  const running = exports.some((e) => ACTIVE.includes(e.state));
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ id: string; text: string; error: boolean } | null>(null);
  const [confirm, confirmDialog] = useConfirm();

  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => router.refresh(), 1500);
    return () => clearInterval(t);
  }, [running, router]);

  async function act(e: ExportRowView, what: 'retry' | 'cancel') {
    if (what === 'cancel') {
      const ok = await confirm({
        title: `Cancel the export to ${e.destination.name}?`,
        body: <p>What has been sent stays at the destination; the rest is not sent. Retry failed sends what is missing later.</p>,
        confirmLabel: 'Cancel export',
        cancelLabel: 'Keep exporting',
        danger: true,
      });
      if (!ok) return;
    }
    setBusy(`${e.id}:${what}`);
    setMessage(null);
    const res = await apiFetch(`/pools/${poolId}/exports/${e.id}/${what}`, { method: 'POST' });
    setBusy(null);
    if (!res.ok) return setMessage({ id: e.id, text: res.error.message, error: true });
    setMessage({ id: e.id, text: what === 'retry' ? 'Retry queued.' : 'Cancel requested.', error: false });
    router.refresh();
  }

  return (
    <>
      {confirmDialog}
      <div className="card overflow-x-auto">
        <table className="table" aria-label="Exports">
          <thead>
            <tr>
              <th>Started</th>
              <th>Exporter → destination</th>
              <th>What</th>
              <th>State</th>
              <th className="w-64">Progress</th>
              <th className="w-px"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {exports.map((e) => {
              const done = e.sent + e.warnings + e.skipped + e.failed;
              const finished = FINISHED.includes(e.state);
              return (
                <tr key={e.id} className={selected === e.id ? 'bg-sky-50' : undefined}>
                  <td className="whitespace-nowrap text-xs tabular-nums">
                    {when(e.createdAt)}
                    {e.requestedBy && <span className="block text-slate-600">by {e.requestedBy}</span>}
                  </td>
                  <td>
                    {e.exporter.name}
                    <span className="block text-xs text-slate-600">
                      → {e.destination.name} ({e.destination.type === 'DICOMWEB' ? 'STOW-RS' : 'C-STORE'})
                    </span>
                  </td>
                  <td className="text-xs">
                    {scopeText(e)}
                    {e.resend && <span className="block text-slate-600">resend all</span>}
                  </td>
                  <td>
                    <StateBadge state={e.state} />
                    {e.state === 'SCHEDULED' && e.scheduledFor && <span className="block text-xs text-slate-600">waits for {when(e.scheduledFor)}</span>}
                    {e.cancelRequested && !finished && <span className="block text-xs text-slate-600">cancelling…</span>}
                  </td>
                  <td>
                    <ProgressBar value={done} max={e.total} label={`Export to ${e.destination.name}: ${done} of ${e.total} instances done`} />
                    <span className="mt-1 block text-xs tabular-nums text-slate-700" aria-live={ACTIVE.includes(e.state) ? 'polite' : undefined}>
                      {e.sent.toLocaleString('en-US')} sent
                      {e.skipped > 0 && ` · ${e.skipped.toLocaleString('en-US')} already there`}
                      {e.warnings > 0 && ` · ${e.warnings.toLocaleString('en-US')} with warnings`}
                      {e.failed > 0 && <span className="font-medium text-rose-700"> · {e.failed.toLocaleString('en-US')} failed</span>} of {e.total.toLocaleString('en-US')}
                    </span>
                    {e.lastError && <span className="block text-xs text-rose-700">{e.lastError}</span>}
                    {message?.id === e.id && (
                      <span role={message.error ? 'alert' : 'status'} className={`block text-xs ${message.error ? 'text-rose-700' : 'text-slate-700'}`}>
                        {message.text}
                      </span>
                    )}
                  </td>
                  <td className="whitespace-nowrap text-right">
                    <span className="flex flex-wrap justify-end gap-1">
                      {(e.failed > 0 || e.warnings > 0) && (
                        <Link className="btn btn-sm" href={`/pools/${poolId}/exports?export=${e.id}#problems`} aria-label={`Failures of the export to ${e.destination.name}, ${when(e.createdAt)}`}>
                          Failures
                        </Link>
                      )}
                      {canAct && finished && (e.failed > 0 || (e.state === 'CANCELED' && done < e.total)) && (
                        <button type="button" className="btn btn-sm" onClick={() => act(e, 'retry')} disabled={busy !== null}>
                          {busy === `${e.id}:retry` ? 'Retrying…' : 'Retry failed'}
                        </button>
                      )}
                      {canAct && ACTIVE.includes(e.state) && !e.cancelRequested && (
                        <button type="button" className="btn btn-sm btn-danger" onClick={() => act(e, 'cancel')} disabled={busy !== null}>
                          {busy === `${e.id}:cancel` ? 'Cancelling…' : 'Cancel'}
                        </button>
                      )}
                      {finished && (
                        <a className="btn btn-sm" href={`/api/v1/pools/${poolId}/exports/${e.id}/receipt`} download aria-label={`Receipt of the export to ${e.destination.name}, ${when(e.createdAt)}`}>
                          Receipt
                        </a>
                      )}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
