'use client';
/** Buttons and auto-refresh for /admin/queues; the page itself is rendered on the server. */
import { useRouter } from 'next/navigation';
import { useEffect, useState, useTransition } from 'react';
import { apiFetch } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';

export function FailedJobActions({ queue, jobId, jobName }: { queue: string; jobId: string; jobName: string }) {
  const router = useRouter();
  const [busy, setBusy] = useState<'retry' | 'remove' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = `/admin/queues/${encodeURIComponent(queue)}/jobs/${encodeURIComponent(jobId)}`;

  const [confirm, confirmDialog] = useConfirm();

  async function act(kind: 'retry' | 'remove') {
    if (kind === 'remove' && !(await confirm({ title: `Remove the failed job ${jobName}?`, body: <p>Job {jobId} will not run again; the query or study it belongs to keeps its failed state and can be retried from its page.</p>, confirmLabel: 'Remove job', danger: true }))) return;
    setBusy(kind);
    setError(null);
    const res = kind === 'retry' ? await apiFetch(`${path}/retry`, { method: 'POST' }) : await apiFetch(path, { method: 'DELETE' });
    setBusy(null);
    if (!res.ok) return setError(res.error.message);
    router.refresh();
  }

  return (
    <div className="flex flex-col items-end gap-1">
      {confirmDialog}
      <div className="flex gap-1.5">
        <button type="button" className="btn btn-sm" onClick={() => act('retry')} disabled={busy !== null}>
          {busy === 'retry' ? 'Retrying…' : 'Retry'}
        </button>
        <button type="button" className="btn btn-sm btn-danger" onClick={() => act('remove')} disabled={busy !== null}>
          {busy === 'remove' ? 'Removing…' : 'Remove'}
        </button>
      </div>
      {error && (
        <p role="alert" className="max-w-xs text-right text-xs text-rose-700">
          {error}
        </p>
      )}
    </div>
  );
}

/** Re-renders the server page every few seconds while switched on. */
export function AutoRefresh({ seconds = 5, initiallyOn = true }: { seconds?: number; initiallyOn?: boolean }) {
  const router = useRouter();
  const [on, setOn] = useState(initiallyOn);
  const [pending, startTransition] = useTransition();

  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') startTransition(() => router.refresh());
    }, seconds * 1000);
    return () => clearInterval(t);
  }, [on, seconds, router]);

  return (
    <div className="flex items-center gap-2">
      <label className="flex items-center gap-1.5 text-sm text-slate-600">
        <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} className="h-4 w-4 rounded border-slate-300" />
        Auto-refresh every {seconds} s
      </label>
      <button type="button" className="btn btn-sm" onClick={() => startTransition(() => router.refresh())} disabled={pending}>
        {pending ? 'Refreshing…' : 'Refresh'}
      </button>
    </div>
  );
}
