'use client';
/**
 * Project close-out on the pool's settings page (lib/pools/purge.ts): the owner purges the pool's
 * data after a two-step confirmation — the in-app dialog says what is destroyed and what stays,
 * and its button works only once the pool's name is typed; the API checks the name again.
 * An interrupted purge shows its step and resumes with the same button; a finished one links its
 * signed receipt.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';

export interface PurgeView {
  step: string;
  done: boolean;
  startedAt: string;
  finishedAt: string | null;
  lastError: string | null;
  receiptId: string | null;
}

export function CloseoutPanel(props: { poolId: string; poolName: string; canPurge: boolean; purge: PurgeView | null; counts: { studies: number; instances: number; quarantined: number; identities: number } }) {
  const router = useRouter();
  const [confirm, dialog] = useConfirm();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const receipt = `/api/v1/pools/${props.poolId}/purge/receipt`;

  async function purge() {
    const resuming = props.purge && !props.purge.done;
    const ok = await confirm({
      title: resuming ? `Resume the purge of “${props.poolName}”?` : `Purge all data of “${props.poolName}”?`,
      body: (
        <>
          <p>
            This destroys, for good: {props.counts.studies} studies ({props.counts.instances} instances) and their files, {props.counts.quarantined} quarantined
            instances, the identity map ({props.counts.identities} patients) and lookup tables, thumbnails, staged originals, de-identification
            summaries, and the pool’s queries and retrievals. Running retrievals and exports are cancelled.
          </p>
          <p>The pool itself stays, closed to new data, so the audit log and the signed purge receipt keep naming it. Nothing can be restored.</p>
        </>
      ),
      confirmLabel: resuming ? 'Resume purge' : 'Purge pool data',
      danger: true,
      typeToConfirm: props.poolName,
    });
    if (!ok) return;
    setBusy(true);
    setError(null);
    const res = await apiFetch(`/pools/${props.poolId}/purge`, { method: 'POST', body: { confirm: props.poolName } });
    setBusy(false);
    if (!res.ok) setError(res.error.message);
    router.refresh();
  }

  return (
    <section className="card mt-5 border-rose-200 p-4" aria-labelledby="closeout-title">
      {dialog}
      <h2 id="closeout-title">Project close-out</h2>
      {props.purge?.done ? (
        <p className="mt-1 text-slate-700">
          This pool’s data was purged on {props.purge.finishedAt?.slice(0, 16).replace('T', ' ')} UTC.{' '}
          <a href={receipt} download>Download the signed purge receipt</a> (counts and hashes of what was destroyed; verify it with <code>tributary receipt verify</code>).
        </p>
      ) : (
        <>
          <p className="mt-1 text-slate-600">
            At the end of the study, destroy the pool’s data — files, index, identity map, thumbnails, quarantine and staging — and receive a signed
            receipt listing what was destroyed, the evidence an IRB asks for. Only the pool’s owner can do this.
          </p>
          {props.purge && !props.purge.done && (
            <p className="mt-2 rounded bg-amber-50 p-2 text-amber-900" role="status">
              A purge started on {props.purge.startedAt.slice(0, 16).replace('T', ' ')} UTC stopped at step “{props.purge.step}”
              {props.purge.lastError ? ` (${props.purge.lastError})` : ''}. The pool is closed to new data; resume it to finish.
            </p>
          )}
          {props.canPurge ? (
            <button type="button" className="btn mt-3 border-rose-700 text-rose-800 hover:bg-rose-50" onClick={purge} disabled={busy}>
              {busy ? 'Purging…' : props.purge ? 'Resume purge…' : 'Purge pool data…'}
            </button>
          ) : (
            <p className="mt-2 text-xs text-slate-500">Only the pool’s owner can purge it (not administrators).</p>
          )}
        </>
      )}
      {error && (
        <p className="mt-2 text-rose-800" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
