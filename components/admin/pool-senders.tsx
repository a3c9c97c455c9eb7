'use client';
/**
 * A research pool's allowed sending devices: the devices whose AE titles may C-STORE straight
 * into the pool's AE (lib/receive/push.ts). Saved with PATCH /pools/{id} { allowedDeviceIds }.
 */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { FormAlert, useApiAction } from './kit';

export interface SenderOption {
  id: string;
  name: string;
  aeTitle: string;
  host: string;
  port: number;
}

export function PoolSenders({ poolId, poolAe, devices, allowed }: { poolId: string; poolAe: string; devices: SenderOption[]; allowed: string[] }) {
  const router = useRouter();
  const a = useApiAction();
  const [selected, setSelected] = useState(() => new Set(allowed));
  const [saved, setSaved] = useState(false);
  const dirty = selected.size !== allowed.length || allowed.some((id) => !selected.has(id));

  function toggle(id: string) {
    setSaved(false);
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }

  async function save() {
    const res = await a.run(() => apiFetch(`/pools/${poolId}`, { method: 'PATCH', body: { allowedDeviceIds: [...selected] } }));
    if (res) {
      setSaved(true);
      router.refresh();
    }
  }

  if (devices.length === 0)
    return (
      <p className="text-slate-500">
        No devices are registered. <Link href="/admin/devices">Register a device</Link> (a scanner or workstation) to let it send into this pool.
      </p>
    );

  return (
    <div className="space-y-3">
      <p className="text-xs text-slate-500">
        Ticked devices may send (C-STORE) straight to AE <span className="font-mono">{poolAe}</span>. What they send is de-identified with this
        pool’s rules before it is stored; any other sender is refused.
      </p>
      <ul className="max-h-56 space-y-1 overflow-y-auto" aria-label="Devices allowed to send">
        {devices.map((d) => (
          <li key={d.id}>
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={selected.has(d.id)} onChange={() => toggle(d.id)} />
              <span className="font-medium">{d.name}</span>
              <span className="font-mono text-xs text-slate-500">
                {d.aeTitle} · {d.host}:{d.port}
              </span>
            </label>
          </li>
        ))}
      </ul>
      <FormAlert message={a.error} />
      <div className="flex items-center gap-2">
        <button type="button" className="btn btn-primary btn-sm" disabled={!dirty || a.busy} onClick={save}>
          {a.busy ? 'Saving…' : 'Save senders'}
        </button>
        {saved && !dirty && <span className="text-xs text-emerald-700" role="status">Saved</span>}
      </div>
    </div>
  );
}
