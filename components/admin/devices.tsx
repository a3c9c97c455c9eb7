'use client';
/** Devices: the remote DICOM nodes (a PACS, or a modality allowed to push into a pool). */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment, useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { EmptyState } from '@/components/ui';
import { useConfirm } from '@/components/confirm-dialog';
import { deviceInputSchema, splitAddresses, TLS_MIN_VERSIONS } from '@/lib/devices/schema';
import { escapeCancels, FormAlert, OtherFieldErrors, str, useApiAction, useFieldBinder } from './kit';

export interface DeviceRow {
  id: string;
  name: string;
  aeTitle: string;
  host: string;
  port: number;
  tls: boolean;
  tlsCaCertificates: string;
  tlsClientCertificate: string;
  /** The private key itself never reaches the browser. */
  tlsClientKeyState: 'set' | 'not set';
  tlsMinVersion: string;
  tlsCiphers: string;
  tlsRequireClientCertificate: boolean;
  addresses: string[];
  description: string;
  connectors: number;
  pools: number;
}

const KNOWN = [
  'name', 'aeTitle', 'host', 'port', 'tls', 'addresses', 'description',
  'tlsCaCertificates', 'tlsClientCertificate', 'tlsClientKey', 'tlsMinVersion', 'tlsCiphers', 'tlsRequireClientCertificate',
];

/** The write-only key field: a new key replaces, "remove" clears, nothing keeps the stored one. */
function keyInput(fd: FormData): string | null | undefined {
  if (fd.get('tlsClientKeyRemove') === 'on') return null;
  const v = str(fd.get('tlsClientKey')).trim();
  return v ? v : undefined;
}

export function DeviceForm({ initial, onDone, onCancel }: { initial?: DeviceRow; onDone: () => void; onCancel?: () => void }) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const [tls, setTls] = useState(initial?.tls ?? false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const v = validate(deviceInputSchema, {
      name: str(fd.get('name')),
      aeTitle: str(fd.get('aeTitle')),
      host: str(fd.get('host')),
      port: str(fd.get('port')),
      tls: fd.get('tls') === 'on',
      addresses: splitAddresses(str(fd.get('addresses'))),
      description: str(fd.get('description')),
      tlsCaCertificates: str(fd.get('tlsCaCertificates')),
      tlsClientCertificate: str(fd.get('tlsClientCertificate')),
      tlsClientKey: keyInput(fd),
      tlsMinVersion: str(fd.get('tlsMinVersion')) || 'TLSv1.2',
      tlsCiphers: str(fd.get('tlsCiphers')),
      tlsRequireClientCertificate: fd.get('tlsRequireClientCertificate') === 'on',
    });
    if (!v.ok) return a.invalid(v.fields);
    const res = await a.run(() =>
      initial ? apiFetch(`/devices/${initial.id}`, { method: 'PATCH', body: v.data }) : apiFetch('/devices', { method: 'POST', body: v.data }),
    );
    if (res !== undefined) onDone();
  }

  return (
    <form onSubmit={onSubmit} onKeyDown={escapeCancels(onCancel)} noValidate aria-label={initial ? `Edit device ${initial.name}` : 'Add device'} className="space-y-3">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-12">
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('name')}>Name *</label>
          <input {...f.input('name')} defaultValue={initial?.name} autoFocus autoComplete="off" placeholder="Main PACS" />
          {f.error('name')}
        </div>
        <div className="sm:col-span-2">
          <label className="label" htmlFor={f.id('aeTitle')}>AE title *</label>
          <input {...f.input('aeTitle', 'font-mono')} defaultValue={initial?.aeTitle} maxLength={16} autoComplete="off" spellCheck={false} placeholder="PACS_AE" />
          {f.error('aeTitle')}
        </div>
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('host')}>Host *</label>
          <input {...f.input('host', 'font-mono')} defaultValue={initial?.host} autoComplete="off" spellCheck={false} placeholder="pacs.hospital.local" />
          {f.error('host')}
        </div>
        <div className="sm:col-span-2">
          <label className="label" htmlFor={f.id('port')}>Port *</label>
          <input {...f.input('port', 'tabular-nums')} defaultValue={initial?.port ?? 104} inputMode="numeric" autoComplete="off" />
          {f.error('port')}
        </div>
        <div className="flex items-end pb-1.5 sm:col-span-2">
          <label className="flex items-center gap-2 text-sm" htmlFor={f.id('tls')}>
            <input
              id={f.id('tls')}
              name="tls"
              type="checkbox"
              checked={tls}
              onChange={(e) => setTls(e.currentTarget.checked)}
              aria-controls={f.id('tls-settings')}
              className="h-4 w-4 rounded border-slate-300"
            />
            DICOM over TLS
          </label>
        </div>
        {/* Hidden, not removed, while TLS is off: the saved settings are kept and sent back unchanged. */}
        <fieldset id={f.id('tls-settings')} hidden={!tls} className="grid grid-cols-1 gap-3 rounded-md border border-slate-200 p-3 sm:col-span-12 sm:grid-cols-12">
          <legend className="px-1 text-sm font-medium">DICOM TLS</legend>
          <div className="sm:col-span-6">
            <label className="label" htmlFor={f.id('tlsCaCertificates')}>CA certificates (PEM)</label>
            <textarea
              {...f.input('tlsCaCertificates', 'font-mono text-xs')}
              defaultValue={initial?.tlsCaCertificates}
              rows={4}
              spellCheck={false}
              placeholder="-----BEGIN CERTIFICATE-----"
              aria-describedby={[`${f.id('tlsCaCertificates')}-hint`, f.input('tlsCaCertificates')['aria-describedby']].filter(Boolean).join(' ')}
            />
            <p id={`${f.id('tlsCaCertificates')}-hint`} className="mt-1 text-xs text-slate-500">
              The CA (or CAs) that issued the device&apos;s certificate. Tributary checks the device&apos;s server certificate against them, and the
              certificate it presents when it sends to Tributary&apos;s TLS port. Empty: the system&apos;s CAs outgoing, DICOM_TLS_CA incoming.
            </p>
            {f.error('tlsCaCertificates')}
          </div>
          <div className="sm:col-span-6">
            <label className="label" htmlFor={f.id('tlsClientCertificate')}>Tributary&apos;s client certificate (PEM)</label>
            <textarea
              {...f.input('tlsClientCertificate', 'font-mono text-xs')}
              defaultValue={initial?.tlsClientCertificate}
              rows={4}
              spellCheck={false}
              placeholder="Empty: the certificate of DICOM_TLS_CERT"
            />
            {f.error('tlsClientCertificate')}
          </div>
          <div className="sm:col-span-6">
            <label className="label" htmlFor={f.id('tlsClientKey')}>
              Client certificate&apos;s private key (PEM){' '}
              <span className="font-normal text-slate-500">— {initial?.tlsClientKeyState === 'set' ? 'set' : 'not set'}</span>
            </label>
            <textarea
              {...f.input('tlsClientKey', 'font-mono text-xs')}
              rows={3}
              spellCheck={false}
              autoComplete="off"
              placeholder={initial?.tlsClientKeyState === 'set' ? 'Stored (never shown). Paste a new key to replace it.' : '-----BEGIN PRIVATE KEY-----'}
            />
            {initial?.tlsClientKeyState === 'set' && (
              <label className="mt-1 flex items-center gap-2 text-xs" htmlFor={f.id('tlsClientKeyRemove')}>
                <input id={f.id('tlsClientKeyRemove')} name="tlsClientKeyRemove" type="checkbox" className="h-3.5 w-3.5 rounded border-slate-300" />
                Remove the stored key
              </label>
            )}
            {f.error('tlsClientKey')}
          </div>
          <div className="sm:col-span-2">
            <label className="label" htmlFor={f.id('tlsMinVersion')}>Minimum TLS</label>
            <select {...f.input('tlsMinVersion')} defaultValue={initial?.tlsMinVersion ?? 'TLSv1.2'}>
              {TLS_MIN_VERSIONS.map((v) => (
                <option key={v} value={v}>
                  {v.replace('TLSv', 'TLS ')}
                </option>
              ))}
            </select>
            {f.error('tlsMinVersion')}
          </div>
          <div className="sm:col-span-4">
            <label className="label" htmlFor={f.id('tlsCiphers')}>Allowed cipher suites</label>
            <input
              {...f.input('tlsCiphers', 'font-mono text-xs')}
              defaultValue={initial?.tlsCiphers}
              autoComplete="off"
              spellCheck={false}
              placeholder="Empty: OpenSSL defaults"
            />
            {f.error('tlsCiphers')}
          </div>
          <div className="sm:col-span-12">
            <label className="flex items-center gap-2 text-sm" htmlFor={f.id('tlsRequireClientCertificate')}>
              <input
                id={f.id('tlsRequireClientCertificate')}
                name="tlsRequireClientCertificate"
                type="checkbox"
                defaultChecked={initial?.tlsRequireClientCertificate ?? true}
                className="h-4 w-4 rounded border-slate-300"
              />
              When it sends to Tributary, the device must present a certificate issued by its CA (or DICOM_TLS_CA)
            </label>
            {f.error('tlsRequireClientCertificate')}
          </div>
        </fieldset>
        <div className="sm:col-span-12">
          <label className="label" htmlFor={f.id('addresses')}>Also sends from</label>
          <input
            {...f.input('addresses', 'font-mono')}
            defaultValue={initial?.addresses.join(', ')}
            autoComplete="off"
            spellCheck={false}
            placeholder="10.1.2.0/24, 10.1.3.7"
            aria-describedby={[`${f.id('addresses')}-hint`, f.input('addresses')['aria-describedby']].filter(Boolean).join(' ')}
          />
          <p id={`${f.id('addresses')}-hint`} className="mt-1 text-xs text-slate-500">
            Tributary accepts images from this device only when they come from an address its host resolves to, or from one of these
            addresses or CIDR ranges (IPv4 or IPv6, separated by commas). Add them when the device sends from other nodes than the one you
            query, e.g. a PACS cluster or a NAT gateway. The AE title alone is not trusted.
          </p>
          {f.error('addresses')}
        </div>
        <div className="sm:col-span-12">
          <label className="label" htmlFor={f.id('description')}>Description</label>
          <input {...f.input('description')} defaultValue={initial?.description} autoComplete="off" placeholder="Where it is, who runs it, what it holds" />
          {f.error('description')}
        </div>
      </div>
      <OtherFieldErrors fields={a.fields} known={KNOWN} />
      <FormAlert message={a.error} />
      <div className="flex items-center gap-2">
        <button type="submit" className="btn btn-primary" disabled={a.busy}>
          {a.busy ? 'Saving…' : initial ? 'Save changes' : 'Add device'}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel} disabled={a.busy}>
            Cancel
          </button>
        )}
        {onCancel && <span className="text-xs text-slate-400">Esc cancels</span>}
      </div>
    </form>
  );
}

export function DevicesManager({ devices }: { devices: DeviceRow[] }) {
  const router = useRouter();
  const [adding, setAdding] = useState(devices.length === 0);
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const [confirm, confirmDialog] = useConfirm();

  async function remove(d: DeviceRow) {
    const ok = await confirm({
      title: `Delete the device “${d.name}”?`,
      body: (
        <>
          <p>
            {d.aeTitle} at {d.host}:{d.port}.
          </p>
          {d.connectors > 0 && (
            <p>
              It is used by {d.connectors} {d.connectors === 1 ? 'connector' : 'connectors'}: change or delete {d.connectors === 1 ? 'it' : 'them'} first, a device in use
              cannot be deleted.
            </p>
          )}
          {d.pools > 0 && (
            <p>
              {d.pools} {d.pools === 1 ? 'pool accepts' : 'pools accept'} images from it; they stop accepting them.
            </p>
          )}
          {d.connectors === 0 && d.pools === 0 && <p>No connector or pool uses it.</p>}
        </>
      ),
      confirmLabel: 'Delete device',
      danger: true,
    });
    if (!ok) return;
    setDeleting(d.id);
    setRowError(null);
    const res = await apiFetch(`/devices/${d.id}`, { method: 'DELETE' });
    setDeleting(null);
    if (!res.ok) return setRowError({ id: d.id, message: res.error.message });
    router.refresh();
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <div className="flex items-center justify-between">
        <span className="text-slate-500 tabular-nums">
          {devices.length} {devices.length === 1 ? 'device' : 'devices'}
        </span>
        {!adding && (
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
            Add device
          </button>
        )}
      </div>

      {adding && (
        <section className="card p-4" aria-labelledby="add-device-title">
          <h2 id="add-device-title" className="mb-3">Add a device</h2>
          <DeviceForm
            onDone={() => {
              setAdding(false);
              router.refresh();
            }}
            onCancel={devices.length ? () => setAdding(false) : undefined}
          />
        </section>
      )}

      {devices.length === 0 ? (
        <EmptyState title="No DICOM device registered yet">
          A device is a remote DICOM node Tributary talks to: the hospital <strong>PACS</strong> it queries and retrieves from, or a{' '}
          <strong>modality</strong> allowed to send images into a pool. Enter its AE title, host and port exactly as the PACS
          administrator gives them; then create a <Link href="/admin/connectors">connector</Link> that uses it.
        </EmptyState>
      ) : (
        <div className="card overflow-x-auto">
          <table className="table" aria-label="Devices">
            <thead>
              <tr>
                <th>Name</th>
                <th>AE title</th>
                <th>Host:port</th>
                <th>TLS</th>
                <th>Description</th>
                <th className="text-right">Used by</th>
                <th className="w-px"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) =>
                editing === d.id ? (
                  <tr key={d.id}>
                    <td colSpan={7} className="bg-sky-50/40 py-3">
                      <DeviceForm
                        initial={d}
                        onDone={() => {
                          setEditing(null);
                          router.refresh();
                        }}
                        onCancel={() => setEditing(null)}
                      />
                    </td>
                  </tr>
                ) : (
                  <Fragment key={d.id}>
                    <tr>
                      <td className="font-medium">{d.name}</td>
                      <td className="font-mono text-xs">{d.aeTitle}</td>
                      <td className="font-mono text-xs tabular-nums">
                        {d.host}:{d.port}
                        {d.addresses.length > 0 && (
                          <span className="block text-slate-500" title="Also accepted from these addresses">
                            also from {d.addresses.join(', ')}
                          </span>
                        )}
                      </td>
                      <td>{d.tls ? <span className="badge bg-emerald-100 text-emerald-800">TLS</span> : <span className="text-slate-400">—</span>}</td>
                      <td className="max-w-sm truncate text-slate-600" title={d.description}>
                        {d.description}
                      </td>
                      <td className="text-right whitespace-nowrap tabular-nums">
                        {d.connectors ? (
                          <Link href="/admin/connectors">
                            {d.connectors} {d.connectors === 1 ? 'connector' : 'connectors'}
                          </Link>
                        ) : (
                          <span className="text-slate-400">0 connectors</span>
                        )}
                        {d.pools > 0 && <span className="block text-xs text-slate-500">sends to {d.pools} {d.pools === 1 ? 'pool' : 'pools'}</span>}
                      </td>
                      <td className="whitespace-nowrap text-right">
                        <button type="button" className="btn btn-sm" onClick={() => { setRowError(null); setEditing(d.id); }}>
                          Edit
                        </button>{' '}
                        <button type="button" className="btn btn-sm btn-danger" onClick={() => remove(d)} disabled={deleting === d.id}>
                          {deleting === d.id ? 'Deleting…' : 'Delete'}
                        </button>
                      </td>
                    </tr>
                    {rowError?.id === d.id && (
                      <tr>
                        <td colSpan={7} className="bg-rose-50/60">
                          <p role="alert" className="text-sm text-rose-800">
                            Could not delete “{d.name}”: {rowError.message}
                          </p>
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
