'use client';
import { useConfirm } from '@/components/confirm-dialog';
/**
 * API tokens on /account: create (the secret is shown once), copy, revoke.
 * Validation happens on the server (lib/users/schema.ts is not browser-safe: it imports the
 * password hasher); its field errors come back next to the inputs.
 */
import { useRouter } from 'next/navigation';
import { useRef, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { FormAlert, OtherFieldErrors, str, useApiAction, useFieldBinder } from './kit';

interface Created {
  id: string;
  token: string;
  prefix: string;
  expiresAt: string | null;
  name: string;
  scope: string;
}

export function CreateTokenForm({ pools, defaultDays }: { pools: { id: string; name: string }[]; defaultDays: number }) {
  const router = useRouter();
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const [created, setCreated] = useState<Created | null>(null);
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const tokenRef = useRef<HTMLInputElement>(null);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const fd = new FormData(form);
    const days = str(fd.get('expiresInDays')).trim();
    const poolId = str(fd.get('poolId'));
    const body = { name: str(fd.get('name')), poolId: poolId || null, expiresInDays: days === '' ? null : days };
    const res = await a.run(() => apiFetch<{ id: string; token: string; prefix: string; expiresAt: string | null }>('/tokens', { method: 'POST', body }));
    if (!res) return;
    setCopied(null);
    setCreated({ ...res, name: body.name.trim(), scope: poolId ? (pools.find((p) => p.id === poolId)?.name ?? 'one pool') : 'all my access' });
    form.reset();
    router.refresh();
  }

  async function copy() {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied('yes');
    } catch {
      // Clipboard API unavailable (e.g. plain http): select the text so Ctrl+C works.
      tokenRef.current?.select();
      setCopied('failed');
    }
  }

  return (
    <div className="space-y-4">
      {created && (
        <div className="rounded-lg border border-amber-300 bg-amber-50 p-3" role="status" aria-live="polite">
          <p className="mb-2 font-medium text-amber-900">
            Token “{created.name}” created ({created.scope}). Copy it now: it will not be shown again.
          </p>
          <div className="flex gap-2">
            <label className="sr-only" htmlFor="new-token">New API token</label>
            <input
              ref={tokenRef}
              id="new-token"
              readOnly
              value={created.token}
              className="input font-mono text-xs"
              onFocus={(e) => e.currentTarget.select()}
              spellCheck={false}
              autoFocus
            />
            <button type="button" className="btn btn-primary" onClick={copy}>
              {copied === 'yes' ? 'Copied ✓' : 'Copy'}
            </button>
            <button type="button" className="btn" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
          {copied === 'failed' && <p className="mt-1 text-xs text-amber-900">The browser blocked copying; the token is selected — press Ctrl+C (⌘C).</p>}
          <p className="mt-2 text-xs text-amber-900">
            Send it as <code className="font-mono">Authorization: Bearer {created.prefix}…</code> to <code className="font-mono">/api/v1</code>
            {created.scope !== 'all my access' ? ' and to the pool’s DICOMweb (read-only)' : ''}. Tributary stores only a hash of it.
            {created.expiresAt && ` It expires on ${new Date(created.expiresAt).toLocaleDateString()}.`}
          </p>
        </div>
      )}

      <form onSubmit={onSubmit} noValidate aria-label="Create API token" className="space-y-3">
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-12">
          <div className="sm:col-span-5">
            <label className="label" htmlFor={f.id('name')}>Name *</label>
            <input {...f.input('name')} autoComplete="off" placeholder="OHIF on my laptop" maxLength={80} />
            {f.error('name')}
          </div>
          <div className="sm:col-span-4">
            <label className="label" htmlFor={f.id('poolId')}>Scope</label>
            <select {...f.input('poolId')} defaultValue="">
              <option value="">All my access</option>
              {pools.map((p) => (
                <option key={p.id} value={p.id}>
                  Only “{p.name}” (read-only)
                </option>
              ))}
            </select>
            {f.error('poolId')}
          </div>
          <div className="sm:col-span-3">
            <label className="label" htmlFor={f.id('expiresInDays')}>Expires after (days)</label>
            <input {...f.input('expiresInDays', 'tabular-nums')} type="number" min={1} max={365} defaultValue={defaultDays} />
            {f.error('expiresInDays')}
          </div>
        </div>
        <p className="text-xs text-slate-500">
          A token scoped to one pool reaches that pool only, read-only: use it for viewers (OHIF, Weasis) and scripts that download. A token
          with all your access can do through the API whatever you can do here. Every token expires (1 to 365 days; {defaultDays} unless you
          choose): create a new one when it does.
        </p>
        <OtherFieldErrors fields={a.fields} known={['name', 'poolId', 'expiresInDays']} />
        <FormAlert message={a.error} />
        <button type="submit" className="btn btn-primary" disabled={a.busy}>
          {a.busy ? 'Creating…' : 'Create token'}
        </button>
      </form>
    </div>
  );
}

export function RevokeTokenButton({ id, name }: { id: string; name: string }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const [confirm, confirmDialog] = useConfirm();

  async function revoke() {
    if (!(await confirm({ title: `Revoke the token “${name}”?`, body: <p>Scripts and viewers using it stop working at once. This cannot be undone.</p>, confirmLabel: 'Revoke token', danger: true }))) return;
    setBusy(true);
    setError(null);
    const res = await apiFetch(`/tokens/${id}`, { method: 'DELETE' });
    setBusy(false);
    if (!res.ok) return setError(res.error.message);
    router.refresh();
  }

  return (
    <span className="inline-flex flex-col items-end gap-1">
      {confirmDialog}
      <button type="button" className="btn btn-sm btn-danger" onClick={revoke} disabled={busy}>
        {busy ? 'Revoking…' : 'Revoke'}
      </button>
      {error && (
        <span role="alert" className="text-xs text-rose-700">
          {error}
        </span>
      )}
    </span>
  );
}
