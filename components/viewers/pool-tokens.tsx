'use client';
/**
 * Create an API token scoped to this pool (read-only: QIDO/WADO, WADO-URI, Weasis, OHIF) from
 * the pool's Viewers & DICOMweb tab. The secret is shown once; only its hash is stored.
 */
import { useRouter } from 'next/navigation';
import { useRef, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { FormAlert, OtherFieldErrors, str, useApiAction, useFieldBinder } from '@/components/admin/kit';
import { CopyButton } from './copy-button';

interface Created {
  token: string;
  prefix: string;
  name: string;
}

export function CreatePoolTokenForm({ poolId, defaultName, defaultDays }: { poolId: string; defaultName: string; defaultDays: number }) {
  const router = useRouter();
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const [created, setCreated] = useState<Created | null>(null);
  const tokenRef = useRef<HTMLInputElement>(null);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const days = str(fd.get('expiresInDays')).trim();
    const body = { name: str(fd.get('name')), poolId, expiresInDays: days === '' ? null : days };
    const res = await a.run(() => apiFetch<{ id: string; token: string; prefix: string }>('/tokens', { method: 'POST', body }));
    if (!res) return;
    setCreated({ token: res.token, prefix: res.prefix, name: body.name.trim() });
    router.refresh();
  }

  return (
    <div className="space-y-3">
      {created && (
        <div className="rounded-lg border border-amber-300 bg-amber-50 p-3" role="status" aria-live="polite">
          <p className="mb-2 font-medium text-amber-900">Token “{created.name}” created for this pool. Copy it now: it will not be shown again.</p>
          <div className="flex gap-2">
            <label className="sr-only" htmlFor="new-pool-token">New pool token</label>
            <input
              ref={tokenRef}
              id="new-pool-token"
              readOnly
              value={created.token}
              className="input font-mono text-xs"
              onFocus={(e) => e.currentTarget.select()}
              spellCheck={false}
              autoFocus
            />
            <CopyButton text={created.token} className="btn btn-primary" />
            <button type="button" className="btn" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
          <p className="mt-2 text-xs text-amber-900">
            Send it as <code className="font-mono">Authorization: Bearer {created.prefix}…</code> to this pool’s DICOMweb. It reads this pool only.
          </p>
        </div>
      )}
      <form onSubmit={onSubmit} noValidate aria-label="Create a token for this pool" className="flex flex-wrap items-end gap-3">
        <div className="min-w-56 flex-1">
          <label className="label" htmlFor={f.id('name')}>Token name *</label>
          <input {...f.input('name')} defaultValue={defaultName} autoComplete="off" maxLength={80} />
          {f.error('name')}
        </div>
        <div className="w-40">
          <label className="label" htmlFor={f.id('expiresInDays')}>Expires after (days)</label>
          <input {...f.input('expiresInDays', 'tabular-nums')} type="number" min={1} max={365} defaultValue={defaultDays} />
          {f.error('expiresInDays')}
        </div>
        <button type="submit" className="btn btn-primary" disabled={a.busy}>
          {a.busy ? 'Creating…' : 'Create token for this pool'}
        </button>
      </form>
      <OtherFieldErrors fields={a.fields} known={['name', 'expiresInDays']} />
      <FormAlert message={a.error} />
    </div>
  );
}
