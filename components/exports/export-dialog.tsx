'use client';
/**
 * "Export…": a study, a selection or the whole pool, to one of the pool's exporters. Opens a
 * modal <dialog> (focus inside, Escape cancels, focus back to the button) to pick the exporter
 * and "send again what the destination already has"; POSTs /api/v1/pools/{id}/exports and
 * goes to the pool's Exports page, where the export's progress shows.
 */
import { useRouter } from 'next/navigation';
import { useEffect, useId, useRef, useState } from 'react';
import { apiFetch } from '@/components/api-client';

export interface ExporterChoice {
  id: string;
  name: string;
  destination: { name: string; type: 'DICOMWEB' | 'DICOM' };
}

export type ExportScope = { studyIds: string[]; wholePool?: false; label: string } | { wholePool: true; studyIds?: undefined; label: string };

export function ExportButton({ poolId, exporters, scope, className = 'btn btn-sm' }: { poolId: string; exporters: ExporterChoice[]; scope: ExportScope; className?: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className={className} onClick={() => setOpen(true)} aria-haspopup="dialog">
        {scope.wholePool ? 'Export the whole pool…' : 'Export…'}
      </button>
      {open && <ExportDialog poolId={poolId} exporters={exporters} scope={scope} onClose={() => setOpen(false)} />}
    </>
  );
}

function ExportDialog({ poolId, exporters, scope, onClose }: { poolId: string; exporters: ExporterChoice[]; scope: ExportScope; onClose: () => void }) {
  const router = useRouter();
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [exporterId, setExporterId] = useState(exporters.length === 1 ? exporters[0].id : '');
  const [resend, setResend] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);

  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (d?.open) d.close();
      if (opener && document.contains(opener)) opener.focus();
    };
  }, []);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setFieldError(null);
    if (!exporterId) return setFieldError('Choose the exporter');
    setBusy(true);
    const res = await apiFetch<{ id?: string; export?: { id: string } }>(`/pools/${poolId}/exports`, {
      method: 'POST',
      body: scope.wholePool ? { exporterId, wholePool: true, resend } : { exporterId, studyIds: scope.studyIds, resend },
    });
    setBusy(false);
    if (!res.ok) {
      const f = res.error.fields ?? {};
      if (f.exporterId) setFieldError(f.exporterId[0]);
      return setError(f.studyIds?.[0] ?? res.error.message);
    }
    const exportId = res.data?.id ?? res.data?.export?.id;
    onClose();
    router.push(`/pools/${poolId}/exports${exportId ? `?export=${encodeURIComponent(exportId)}` : ''}`);
  }

  return (
    <dialog
      ref={ref}
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-what`}
      className="m-auto w-full max-w-xl rounded-lg border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/40"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <form className="space-y-3 p-5" onSubmit={submit} noValidate>
        <h2 id={`${id}-title`} className="text-base font-semibold">
          Export {scope.label}
        </h2>
        <p id={`${id}-what`} className="text-sm text-slate-700">
          The de-identified copies in this pool are sent, as the pool holds them. Progress, failures and the receipt are on the Exports page.
        </p>
        {exporters.length === 0 ? (
          <p role="alert" className="rounded-md border border-amber-200 bg-amber-50 px-2.5 py-1.5 text-sm text-amber-900">
            This pool has no enabled exporter. Its owner sets one up on the pool’s Exporters page.
          </p>
        ) : (
          <div>
            <label className="label" htmlFor={`${id}-exporter`}>Exporter *</label>
            <select
              id={`${id}-exporter`}
              className={`input ${fieldError ? 'input-error' : ''}`}
              value={exporterId}
              onChange={(e) => {
                setExporterId(e.target.value);
                setFieldError(null);
              }}
              aria-invalid={fieldError ? true : undefined}
              aria-describedby={fieldError ? `${id}-exporter-error` : undefined}
              autoFocus
            >
              <option value="">Choose…</option>
              {exporters.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name} → {x.destination.name} ({x.destination.type === 'DICOMWEB' ? 'STOW-RS' : 'C-STORE'})
                </option>
              ))}
            </select>
            {fieldError && (
              <p id={`${id}-exporter-error`} className="field-error">
                {fieldError}
              </p>
            )}
          </div>
        )}
        <label className="flex items-start gap-2 text-sm">
          <input type="checkbox" className="mt-0.5" checked={resend} onChange={(e) => setResend(e.target.checked)} />
          <span>
            Send again what the destination already has
            <span className="block text-xs text-slate-500">Otherwise instances an earlier export delivered there are skipped.</span>
          </span>
        </label>
        {error && (
          <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-2.5 py-1.5 text-sm text-rose-800">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2 pt-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || exporters.length === 0}>
            {busy ? 'Starting…' : 'Start export'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
