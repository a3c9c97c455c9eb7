'use client';
/** Devices: the remote DICOM nodes (a PACS, or a modality allowed to push into a pool). */
import Link from 'next/link';
import { Fragment, useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { EmptyState } from '@/components/ui';
import { useConfirm } from '@/components/confirm-dialog';
import { deviceInputSchema, splitAddresses, TLS_MIN_VERSIONS } from '@/lib/devices/schema';
import { AddSection, AdminForm, Check, Field, FormFooter, FormRow, ManagerHeader, RowActions, RowAlert, str, useApiAction, useFieldBinder, useRowEditing } from './kit';

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
    <AdminForm
      label={initial ? `Edit device ${initial.name}` : 'Add device'}
      onSubmit={onSubmit}
      onCancel={onCancel}
      footer={<FormFooter action={a} known={KNOWN} submitLabel={initial ? 'Save changes' : 'Add device'} onCancel={onCancel} />}
    >
      <Field f={f} name="name" label="Name" required className="sm:col-span-3">
        {(p) => <input {...p} defaultValue={initial?.name} autoFocus autoComplete="off" placeholder="Main PACS" />}
      </Field>
      <Field f={f} name="aeTitle" label="AE title" required className="sm:col-span-2" inputClassName="font-mono">
        {(p) => <input {...p} defaultValue={initial?.aeTitle} maxLength={16} autoComplete="off" spellCheck={false} placeholder="PACS_AE" />}
      </Field>
      <Field f={f} name="host" label="Host" required className="sm:col-span-3" inputClassName="font-mono">
        {(p) => <input {...p} defaultValue={initial?.host} autoComplete="off" spellCheck={false} placeholder="pacs.hospital.local" />}
      </Field>
      <Field f={f} name="port" label="Port" required className="sm:col-span-2" inputClassName="tabular-nums">
        {(p) => <input {...p} defaultValue={initial?.port ?? 104} inputMode="numeric" autoComplete="off" />}
      </Field>
      <div className="flex items-end pb-1.5 sm:col-span-2">
        <Check
          className="flex items-center gap-2 text-sm"
          inputClassName="h-4 w-4 rounded border-slate-300"
          id={f.id('tls')}
          name="tls"
          checked={tls}
          onChange={(e) => setTls(e.currentTarget.checked)}
          aria-controls={f.id('tls-settings')}
        >
          DICOM over TLS
        </Check>
      </div>
      {/* Hidden, not removed, while TLS is off: the saved settings are kept and sent back unchanged. */}
      <fieldset id={f.id('tls-settings')} hidden={!tls} className="grid grid-cols-1 gap-3 rounded-md border border-slate-200 p-3 sm:col-span-12 sm:grid-cols-12">
        <legend className="px-1 text-sm font-medium">DICOM TLS</legend>
        <Field
          f={f}
          name="tlsCaCertificates"
          label="CA certificates (PEM)"
          className="sm:col-span-6"
          inputClassName="font-mono text-xs"
          hint={
            <>
              The CA (or CAs) that issued the device&apos;s certificate. Tributary checks the device&apos;s server certificate against them, and the
              certificate it presents when it sends to Tributary&apos;s TLS port. Empty: the system&apos;s CAs outgoing, DICOM_TLS_CA incoming.
            </>
          }
        >
          {(p) => <textarea {...p} defaultValue={initial?.tlsCaCertificates} rows={4} spellCheck={false} placeholder="-----BEGIN CERTIFICATE-----" />}
        </Field>
        <Field f={f} name="tlsClientCertificate" label="Tributary&apos;s client certificate (PEM)" className="sm:col-span-6" inputClassName="font-mono text-xs">
          {(p) => <textarea {...p} defaultValue={initial?.tlsClientCertificate} rows={4} spellCheck={false} placeholder="Empty: the certificate of DICOM_TLS_CERT" />}
        </Field>
        <Field
          f={f}
          name="tlsClientKey"
          label={
            <>
              Client certificate&apos;s private key (PEM){' '}
              <span className="font-normal text-slate-500">— {initial?.tlsClientKeyState === 'set' ? 'set' : 'not set'}</span>
            </>
          }
          className="sm:col-span-6"
          inputClassName="font-mono text-xs"
        >
          {(p) => (
            <>
              <textarea
                {...p}
                rows={3}
                spellCheck={false}
                autoComplete="off"
                placeholder={initial?.tlsClientKeyState === 'set' ? 'Stored (never shown). Paste a new key to replace it.' : '-----BEGIN PRIVATE KEY-----'}
              />
              {initial?.tlsClientKeyState === 'set' && (
                <Check className="mt-1 flex items-center gap-2 text-xs" inputClassName="h-3.5 w-3.5 rounded border-slate-300" id={f.id('tlsClientKeyRemove')} name="tlsClientKeyRemove">
                  Remove the stored key
                </Check>
              )}
            </>
          )}
        </Field>
        <Field f={f} name="tlsMinVersion" label="Minimum TLS" className="sm:col-span-2">
          {(p) => (
            <select {...p} defaultValue={initial?.tlsMinVersion ?? 'TLSv1.2'}>
              {TLS_MIN_VERSIONS.map((v) => (
                <option key={v} value={v}>
                  {v.replace('TLSv', 'TLS ')}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field f={f} name="tlsCiphers" label="Allowed cipher suites" className="sm:col-span-4" inputClassName="font-mono text-xs">
          {(p) => <input {...p} defaultValue={initial?.tlsCiphers} autoComplete="off" spellCheck={false} placeholder="Empty: OpenSSL defaults" />}
        </Field>
        <div className="sm:col-span-12">
          <Check
            className="flex items-center gap-2 text-sm"
            inputClassName="h-4 w-4 rounded border-slate-300"
            id={f.id('tlsRequireClientCertificate')}
            name="tlsRequireClientCertificate"
            defaultChecked={initial?.tlsRequireClientCertificate ?? true}
          >
            When it sends to Tributary, the device must present a certificate issued by its CA (or DICOM_TLS_CA)
          </Check>
          {f.error('tlsRequireClientCertificate')}
        </div>
      </fieldset>
      <Field
        f={f}
        name="addresses"
        label="Also sends from"
        className="sm:col-span-12"
        inputClassName="font-mono"
        hint={
          <>
            Tributary accepts images from this device only when they come from an address its host resolves to, or from one of these
            addresses or CIDR ranges (IPv4 or IPv6, separated by commas). Add them when the device sends from other nodes than the one you
            query, e.g. a PACS cluster or a NAT gateway. The AE title alone is not trusted.
          </>
        }
      >
        {(p) => <input {...p} defaultValue={initial?.addresses.join(', ')} autoComplete="off" spellCheck={false} placeholder="10.1.2.0/24, 10.1.3.7" />}
      </Field>
      <Field f={f} name="description" label="Description" className="sm:col-span-12">
        {(p) => <input {...p} defaultValue={initial?.description} autoComplete="off" placeholder="Where it is, who runs it, what it holds" />}
      </Field>
    </AdminForm>
  );
}

export function DevicesManager({ devices }: { devices: DeviceRow[] }) {
  const rows = useRowEditing(devices.length === 0);
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
    await rows.remove(d.id, `/devices/${d.id}`);
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <ManagerHeader count={devices.length} one="device" many="devices" addLabel="Add device" onAdd={!rows.adding ? rows.startAdding : undefined} />

      {rows.adding && (
        <AddSection id="add-device-title" title="Add a device">
          <DeviceForm onDone={rows.added} onCancel={devices.length ? rows.stopAdding : undefined} />
        </AddSection>
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
                rows.editing === d.id ? (
                  <FormRow key={d.id} colSpan={7}>
                    <DeviceForm initial={d} onDone={rows.saved} onCancel={rows.cancelEdit} />
                  </FormRow>
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
                      <RowActions onEdit={() => rows.edit(d.id)} onDelete={() => remove(d)} deleting={rows.deleting === d.id} />
                    </tr>
                    {rows.errorOf(d.id) && (
                      <RowAlert colSpan={7}>
                        Could not delete “{d.name}”: {rows.errorOf(d.id)}
                      </RowAlert>
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
