'use client';
/**
 * Export destinations (admin): where pools' exporters may send studies. A DICOMweb endpoint
 * (STOW-RS URL, authentication, TLS, extra headers) or a DICOM device (C-STORE, storage
 * commitment, concurrent associations). Pool owners pick one when they set up an exporter; the
 * administrator never decides which pool sends where.
 */
import Link from 'next/link';
import { Fragment, useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';
import { EmptyState } from '@/components/ui';
import { destinationInputSchema } from '@/lib/exports/schema';
import { AddSection, AdminForm, Check, Field, FormFooter, FormRow, HTTP_CONNECTION_FIELDS, HttpAuthFields, HttpRequestFields, HttpTlsFields, ManagerHeader, readHttpConnection, RowActions, RowAlert, str, TestResult, useApiAction, useFieldBinder, useRowEditing, useRowTests, type HttpAuthType, type HttpConnectionSettings } from './kit';

type AuthType = HttpAuthType;

export interface DestinationRow {
  id: string;
  name: string;
  type: 'DICOMWEB' | 'DICOM';
  description: string;
  device: { id: string; name: string; aeTitle: string; host: string; port: number; tls: boolean } | null;
  storageCommitment: boolean;
  maxAssociations: number;
  webStowUrl: string | null;
  webHeaders: Record<string, string>;
  webConnectTimeoutMs: number;
  webReadTimeoutMs: number;
  webTlsCa: string | null;
  webTlsAllowAnyHost: boolean;
  webTlsTrustAll: boolean;
  webAuthType: AuthType;
  webUsername: string | null;
  /** Only its state: the value never leaves the server. */
  webSecret: 'set' | 'not set';
  webTokenUrl: string | null;
  webScope: string | null;
  exporterCount: number;
}

export interface DeviceChoice {
  id: string;
  name: string;
  aeTitle: string;
  host: string;
  port: number;
  tls: boolean;
}

const KNOWN = ['name', 'type', 'description', 'deviceId', 'storageCommitment', 'maxAssociations', 'webStowUrl', ...HTTP_CONNECTION_FIELDS, 'webConnectTimeoutS', 'webReadTimeoutS'];

/** The row's connection settings as the shared HTTP blocks take them. */
function connectionOf(d: DestinationRow): HttpConnectionSettings {
  return {
    headers: d.webHeaders,
    connectTimeoutMs: d.webConnectTimeoutMs,
    readTimeoutMs: d.webReadTimeoutMs,
    tlsCa: d.webTlsCa,
    tlsAllowAnyHost: d.webTlsAllowAnyHost,
    tlsTrustAll: d.webTlsTrustAll,
    authType: d.webAuthType,
    username: d.webUsername,
    secret: d.webSecret,
    tokenUrl: d.webTokenUrl,
    scope: d.webScope,
  };
}

export function DestinationForm({ initial, devices, onDone, onCancel }: { initial?: DestinationRow; devices: DeviceChoice[]; onDone: () => void; onCancel?: () => void }) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const [type, setType] = useState<'DICOMWEB' | 'DICOM'>(initial?.type ?? 'DICOMWEB');
  const [authType, setAuthType] = useState<AuthType>(initial?.webAuthType ?? 'NONE');
  const [trustAll, setTrustAll] = useState(initial?.webTlsTrustAll ?? false);
  const web = type === 'DICOMWEB';
  const connection = initial && connectionOf(initial);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const v = validate(destinationInputSchema, {
      name: str(fd.get('name')),
      type,
      description: str(fd.get('description')),
      maxAssociations: str(fd.get('maxAssociations')),
      ...(web
        ? { webStowUrl: str(fd.get('webStowUrl')), ...readHttpConnection(fd, authType) }
        : { deviceId: str(fd.get('deviceId')), storageCommitment: fd.get('storageCommitment') === 'on' }),
    });
    if (!v.ok) return a.invalid(v.fields);
    const res = await a.run(() => (initial ? apiFetch(`/destinations/${initial.id}`, { method: 'PATCH', body: v.data }) : apiFetch('/destinations', { method: 'POST', body: v.data })));
    if (res !== undefined) onDone();
  }

  return (
    <AdminForm
      label={initial ? `Edit destination ${initial.name}` : 'Create destination'}
      onSubmit={onSubmit}
      onCancel={onCancel}
      footer={<FormFooter action={a} known={KNOWN} submitLabel={initial ? 'Save changes' : 'Create destination'} onCancel={onCancel} />}
    >
      <Field f={f} name="name" label="Name" required className="sm:col-span-4">
        {(p) => <input {...p} defaultValue={initial?.name} autoFocus autoComplete="off" placeholder="Research archive" />}
      </Field>
      <Field f={f} name="type" label="Type" className="sm:col-span-4" help={initial && initial.exporterCount > 0 ? 'Fixed while exporters send to it.' : null}>
        {(p) => (
          <select {...p} value={type} onChange={(e) => setType(e.target.value as 'DICOMWEB' | 'DICOM')} disabled={!!initial && initial.exporterCount > 0}>
            <option value="DICOMWEB">DICOMweb (STOW-RS)</option>
            <option value="DICOM">DICOM (C-STORE)</option>
          </select>
        )}
      </Field>
      <Field
        f={f}
        name="maxAssociations"
        label={web ? 'Max concurrent requests' : 'Max concurrent associations'}
        required
        className="sm:col-span-4"
        inputClassName="tabular-nums"
        help="Across every exporter using it (1–32)."
      >
        {(p) => <input {...p} type="number" min={1} max={32} defaultValue={initial?.maxAssociations ?? 2} />}
      </Field>
      <Field f={f} name="description" label="Description" className="sm:col-span-12">
        {(p) => <input {...p} defaultValue={initial?.description ?? ''} autoComplete="off" placeholder="The group's Orthanc in the research network" />}
      </Field>
      {web ? (
        <>
          <Field
            f={f}
            name="webStowUrl"
            label="STOW-RS URL"
            required
            className="sm:col-span-12"
            inputClassName="font-mono"
            help={<>Where instances are POSTed; usually the DICOMweb root followed by <code>/studies</code>.</>}
          >
            {(p) => <input {...p} defaultValue={initial?.webStowUrl ?? ''} placeholder="https://archive.example.org/dicom-web/studies" autoComplete="off" spellCheck={false} />}
          </Field>
          <HttpAuthFields f={f} initial={connection} authType={authType} onAuthType={setAuthType} column="sm:col-span-4" />
          <HttpRequestFields f={f} initial={connection} headersHelp="One “Name: value” per line. Not for secrets (they are shown here): use the authentication." />
          <HttpTlsFields
            f={f}
            initial={connection}
            trustAll={trustAll}
            onTrustAll={setTrustAll}
            legend="TLS"
            caHelp="The archive’s CA, trusted besides the public ones (https only)."
            warning="The connection stays encrypted but anyone on the network path can pose as the archive and receive the studies and the credentials. Use only for a test."
          />
        </>
      ) : (
        <>
          <Field
            f={f}
            name="deviceId"
            label="Receiving device"
            required
            className="sm:col-span-6"
            help={
              <>
                The AE title, host, port and TLS come from the device (<Link href="/admin/devices">Devices</Link>).
              </>
            }
          >
            {(p) => (
              <select {...p} defaultValue={initial?.device?.id ?? ''}>
                <option value="">Choose…</option>
                {devices.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name} — {d.aeTitle} @ {d.host}:{d.port}{d.tls ? ' (TLS)' : ''}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div className="pt-6 text-sm sm:col-span-6">
            <Check name="storageCommitment" defaultChecked={initial?.storageCommitment ?? false}>
              Supports Storage Commitment (N-ACTION / N-EVENT-REPORT)
            </Check>
            {f.error('storageCommitment') ?? <p className="mt-1 text-xs text-slate-500">Lets exporters ask it to confirm it has kept what was sent.</p>}
          </div>
        </>
      )}
    </AdminForm>
  );
}

function where(d: DestinationRow) {
  if (d.type === 'DICOM')
    return d.device ? (
      <>
        {d.device.name}
        <span className="block font-mono text-xs text-slate-500">
          {d.device.aeTitle} @ {d.device.host}:{d.device.port}
          {d.device.tls ? ' (TLS)' : ''}
        </span>
      </>
    ) : (
      <span className="text-rose-700">no device</span>
    );
  return (
    <>
      <span className="block break-all font-mono text-xs">{d.webStowUrl}</span>
      <span className="block text-xs text-slate-500">
        {d.webAuthType === 'NONE' ? 'no authentication' : d.webAuthType === 'BASIC' ? `basic auth (${d.webUsername ?? '?'})` : d.webAuthType === 'BEARER' ? 'bearer token' : 'OAuth2 client credentials'}
        {d.webAuthType !== 'NONE' && ` · secret ${d.webSecret}`}
      </span>
      {d.webTlsTrustAll && <span className="block text-xs text-amber-800">certificate checks disabled</span>}
    </>
  );
}

export function DestinationsManager({ destinations, devices }: { destinations: DestinationRow[]; devices: DeviceChoice[] }) {
  const rows = useRowEditing(destinations.length === 0);
  const tests = useRowTests();
  const [confirm, confirmDialog] = useConfirm();

  async function remove(d: DestinationRow) {
    const ok = await confirm({
      title: `Delete the destination “${d.name}”?`,
      body:
        d.exporterCount > 0 ? (
          <p>
            {d.exporterCount} exporter(s) send to it: it cannot be deleted until their pools’ owners delete them or choose another destination.
          </p>
        ) : (
          <p>No exporter uses it. Pool owners will no longer be able to choose it. This cannot be undone.</p>
        ),
      confirmLabel: 'Delete destination',
      danger: true,
    });
    if (!ok) return;
    await rows.remove(d.id, `/destinations/${d.id}`);
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <ManagerHeader count={destinations.length} one="destination" many="destinations" addLabel="New destination" onAdd={!rows.adding ? rows.startAdding : undefined} />

      {rows.adding && (
        <AddSection id="add-destination-title" title="New destination">
          <DestinationForm devices={devices} onDone={rows.added} onCancel={destinations.length ? rows.stopAdding : undefined} />
        </AddSection>
      )}

      {destinations.length === 0 ? (
        <EmptyState title="No destination yet">
          A destination is an archive studies can be sent to: a DICOMweb server that accepts STOW-RS (Orthanc, dcm4chee-arc, a cloud DICOM store) or a
          DICOM device that accepts C-STORE (register it on the <Link href="/admin/devices">Devices</Link> page first). Pool owners then set up
          exporters to it; you decide where data may go, they decide which pool sends.
        </EmptyState>
      ) : (
        <div className="card overflow-x-auto">
          <table className="table" aria-label="Destinations">
            <thead>
              <tr>
                <th>Name</th>
                <th>Where</th>
                <th className="text-right">Concurrency</th>
                <th className="text-right">Exporters</th>
                <th>Test</th>
                <th className="w-px"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {destinations.map((d) =>
                rows.editing === d.id ? (
                  <FormRow key={d.id} colSpan={6}>
                    <DestinationForm initial={d} devices={devices} onDone={rows.saved} onCancel={rows.cancelEdit} />
                  </FormRow>
                ) : (
                  <Fragment key={d.id}>
                    <tr>
                      <td className="font-medium">
                        {d.name}
                        <span className="block text-xs font-normal text-slate-500">
                          {d.type === 'DICOMWEB' ? 'DICOMweb · STOW-RS' : `DICOM · C-STORE${d.storageCommitment ? ' · storage commitment' : ''}`}
                        </span>
                        {d.description && <span className="block text-xs font-normal text-slate-500">{d.description}</span>}
                      </td>
                      <td>{where(d)}</td>
                      <td className="text-right tabular-nums">{d.maxAssociations}</td>
                      <td className="text-right tabular-nums">{d.exporterCount}</td>
                      <td className="max-w-xs text-xs" aria-live="polite">
                        <TestResult t={tests.of(d.id)} okLabel="Reachable" />
                      </td>
                      <RowActions label={`destination ${d.name}`} onEdit={() => rows.edit(d.id)} onDelete={() => remove(d)} deleting={rows.deleting === d.id}>
                        <button type="button" className="btn btn-sm" onClick={() => tests.test(d.id, `/destinations/${d.id}/test`)} disabled={tests.testing(d.id)} aria-label={`Test destination ${d.name}`}>
                          {tests.testing(d.id) ? 'Testing…' : 'Test'}
                        </button>
                      </RowActions>
                    </tr>
                    {rows.errorOf(d.id) && (
                      <RowAlert colSpan={6}>
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
