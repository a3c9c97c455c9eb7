'use client';
/**
 * A pool's exporters, managed by its owner: which destination, dcm4chee's exporter properties
 * (chunked, concurrency, instances per request, transfer syntaxes, bearer-token / basic-auth
 * overrides, allow-any-hostname, disable-trust-manager), storage commitment, a schedule window,
 * auto-export and enabled. The overrides are write-only ("set" / "not set").
 */
import Link from 'next/link';
import { Fragment, useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { AddSection, AdminForm, Check, clearsFieldErrors, Field, FormFooter, FormRow, ManagerHeader, RowActions, RowAlert, SecretField, str, TrustAllCheck, useApiAction, useFieldBinder, useRowEditing } from '@/components/admin/kit';
import { useConfirm } from '@/components/confirm-dialog';
import { EmptyState } from '@/components/ui';
import { exporterInputSchema, TRANSFER_SYNTAX_KEYWORDS } from '@/lib/exports/schema';

export interface ExporterRow {
  id: string;
  name: string;
  destination: { id: string; name: string; type: 'DICOMWEB' | 'DICOM'; storageCommitment: boolean };
  chunked: boolean;
  concurrency: number;
  instancesPerRequest: number;
  transferSyntaxes: string[];
  bearerToken: 'set' | 'not set';
  basicAuth: 'set' | 'not set';
  allowAnyHostname: boolean;
  disableTrustManager: boolean;
  storageCommitment: boolean;
  schedule: string | null;
  autoExport: boolean;
  enabled: boolean;
  exportCount: number;
}

export interface DestinationChoice {
  id: string;
  name: string;
  type: 'DICOMWEB' | 'DICOM';
  storageCommitment: boolean;
  /** "https://archive/…/studies" or "ARCHIVE @ host:104" */
  where: string;
}

type AuthMode = 'destination' | 'bearer' | 'basic';

const KNOWN = [
  'name', 'destinationId', 'chunked', 'concurrency', 'instancesPerRequest', 'transferSyntaxes', 'bearerToken', 'basicAuth',
  'allowAnyHostname', 'disableTrustManager', 'storageCommitment', 'schedule', 'autoExport', 'enabled',
];

const UID_NAMES = Object.fromEntries(Object.entries(TRANSFER_SYNTAX_KEYWORDS).map(([k, v]) => [v, k]));

export function ExporterForm({ poolId, initial, destinations, onDone, onCancel }: { poolId: string; initial?: ExporterRow; destinations: DestinationChoice[]; onDone: () => void; onCancel?: () => void }) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const [destId, setDestId] = useState(initial?.destination.id ?? (destinations.length === 1 ? destinations[0].id : ''));
  const dest = destinations.find((d) => d.id === destId);
  const web = dest?.type !== 'DICOM';
  const [mode, setMode] = useState<AuthMode>(initial?.bearerToken === 'set' ? 'bearer' : initial?.basicAuth === 'set' ? 'basic' : 'destination');
  const [trustAll, setTrustAll] = useState(initial?.disableTrustManager ?? false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const secret = str(fd.get('overrideSecret'));
    const stowOnly = web
      ? {
          chunked: fd.get('chunked') === 'on',
          allowAnyHostname: fd.get('allowAnyHostname') === 'on',
          disableTrustManager: fd.get('disableTrustManager') === 'on',
          // Write-only: an empty field keeps the stored override; switching modes clears the other one.
          bearerToken: mode === 'bearer' ? secret || undefined : '',
          basicAuth: mode === 'basic' ? secret || undefined : '',
        }
      : {};
    if (web && mode !== 'destination' && !secret && (mode === 'bearer' ? initial?.bearerToken : initial?.basicAuth) !== 'set')
      return a.invalid({ [mode === 'bearer' ? 'bearerToken' : 'basicAuth']: [mode === 'bearer' ? 'Enter the token' : 'Enter user:password'] });
    const v = validate(exporterInputSchema, {
      name: str(fd.get('name')),
      destinationId: destId,
      concurrency: str(fd.get('concurrency')),
      instancesPerRequest: str(fd.get('instancesPerRequest')),
      transferSyntaxes: str(fd.get('transferSyntaxes')),
      storageCommitment: !web && fd.get('storageCommitment') === 'on',
      schedule: str(fd.get('schedule')),
      autoExport: fd.get('autoExport') === 'on',
      enabled: fd.get('enabled') === 'on',
      ...stowOnly,
    });
    if (!v.ok) return a.invalid(v.fields);
    const res = await a.run(() =>
      initial ? apiFetch(`/pools/${poolId}/exporters/${initial.id}`, { method: 'PATCH', body: v.data }) : apiFetch(`/pools/${poolId}/exporters`, { method: 'POST', body: v.data }),
    );
    if (res !== undefined) onDone();
  }

  const secretState = mode === 'bearer' ? initial?.bearerToken : mode === 'basic' ? initial?.basicAuth : undefined;
  const secretField = mode === 'bearer' ? 'bearerToken' : 'basicAuth';

  return (
    <AdminForm
      label={initial ? `Edit exporter ${initial.name}` : 'Create exporter'}
      onSubmit={onSubmit}
      onCancel={onCancel}
      onChange={clearsFieldErrors(a, f)}
      footer={<FormFooter action={a} known={KNOWN} submitLabel={initial ? 'Save changes' : 'Create exporter'} onCancel={onCancel} />}
    >
      <Field f={f} name="name" label="Name" required className="sm:col-span-4">
        {(p) => <input {...p} defaultValue={initial?.name} autoFocus autoComplete="off" placeholder="Group archive" />}
      </Field>
      <Field f={f} name="destinationId" label="Destination" required className="sm:col-span-8" help="Destinations are registered by an administrator.">
        {(p) => (
          <select {...p} value={destId} onChange={(e) => setDestId(e.target.value)}>
            <option value="">Choose…</option>
            {destinations.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} — {d.type === 'DICOMWEB' ? 'STOW-RS' : 'C-STORE'} · {d.where}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        f={f}
        name="concurrency"
        label={web ? 'Requests in flight' : 'Associations in flight'}
        required
        className="sm:col-span-3"
        inputClassName="tabular-nums"
        help="Per export, 1–16 (the destination caps the total)."
      >
        {(p) => <input {...p} type="number" min={1} max={16} defaultValue={initial?.concurrency ?? 1} />}
      </Field>
      <Field
        f={f}
        name="instancesPerRequest"
        label={web ? 'Instances per request' : 'Instances per association'}
        required
        className="sm:col-span-3"
        inputClassName="tabular-nums"
        help="1–1000."
      >
        {(p) => <input {...p} type="number" min={1} max={1000} defaultValue={initial?.instancesPerRequest ?? 1} />}
      </Field>
      <Field
        f={f}
        name="transferSyntaxes"
        label="Accepted transfer syntaxes"
        className="sm:col-span-6"
        inputClassName="font-mono"
        help={
          <>
            UIDs or keywords, comma-separated (e.g. <code>ExplicitVRLittleEndian, JPEGBaseline8Bit</code>). Empty: send as stored. Otherwise an instance stored in another
            syntax is decompressed to Explicit VR Little Endian where possible, else it fails with the reason.
          </>
        }
      >
        {(p) => (
          <input
            {...p}
            defaultValue={(initial?.transferSyntaxes ?? []).map((u) => UID_NAMES[u] ?? u).join(', ')}
            placeholder="(as stored)"
            autoComplete="off"
            spellCheck={false}
          />
        )}
      </Field>
      {web && dest && (
        <>
          <fieldset className="space-y-1 text-sm sm:col-span-6">
            <legend className="label">STOW-RS</legend>
            <Check name="chunked" defaultChecked={initial?.chunked ?? false}>
              Chunked transfer encoding (no Content-Length)
            </Check>
            {f.error('chunked')}
            <Check name="allowAnyHostname" defaultChecked={initial?.allowAnyHostname ?? false}>
              Allow any host name on the certificate
            </Check>
            {f.error('allowAnyHostname')}
            <TrustAllCheck
              name="disableTrustManager"
              checked={trustAll}
              onChange={setTrustAll}
              warning={
                <>
                  Warning: any server on the network path can pose as the destination and receive this pool’s studies and the credentials. The connection is
                  encrypted but not authenticated. Use only for a test, never for real research data.
                </>
              }
            >
              Disable certificate checks (disable-trust-manager)
            </TrustAllCheck>
            {f.error('disableTrustManager')}
          </fieldset>
          <div className="sm:col-span-3">
            <label className="label" htmlFor={f.id('authMode')}>Authentication</label>
            <select id={f.id('authMode')} className="input" value={mode} onChange={(e) => setMode(e.target.value as AuthMode)}>
              <option value="destination">The destination’s</option>
              <option value="bearer">Bearer token (override)</option>
              <option value="basic">Basic auth (override)</option>
            </select>
          </div>
          {mode !== 'destination' && (
            <SecretField
              f={f}
              name={secretField}
              inputName="overrideSecret"
              label={mode === 'bearer' ? 'Bearer token' : 'user:password'}
              state={secretState}
              className="sm:col-span-3"
            />
          )}
        </>
      )}
      {!web && dest && (
        <div className="pt-1 text-sm sm:col-span-6">
          <Check name="storageCommitment" defaultChecked={initial?.storageCommitment ?? false} disabled={!dest.storageCommitment}>
            Ask for storage commitment
          </Check>
          {f.error('storageCommitment') ?? (
            <p className="mt-1 text-xs text-slate-500">
              {dest.storageCommitment ? 'The destination confirms it has kept each instance; the receipt records it.' : 'This destination does not offer storage commitment.'}
            </p>
          )}
        </div>
      )}
      <Field
        f={f}
        name="schedule"
        label="Schedule"
        className="sm:col-span-6"
        inputClassName="font-mono"
        help={
          <>
            Empty: any time. Otherwise exports wait for the window, e.g. <code className="font-mono">hour=18-6 dayOfWeek=*</code> (hours 0–23, days 0–6, 0 = Sunday).
          </>
        }
      >
        {(p) => <input {...p} defaultValue={initial?.schedule ?? ''} autoComplete="off" spellCheck={false} placeholder="hour=18-6 dayOfWeek=*" />}
      </Field>
      <fieldset className="space-y-1 text-sm sm:col-span-6">
        <legend className="label">When</legend>
        <Check name="autoExport" defaultChecked={initial?.autoExport ?? false}>
          Export every new study automatically
        </Check>
        {f.error('autoExport')}
        <Check name="enabled" defaultChecked={initial?.enabled ?? true}>
          Enabled (members can export with it)
        </Check>
        {f.error('enabled')}
      </fieldset>
    </AdminForm>
  );
}

function settingsOf(x: ExporterRow): string[] {
  const out = [`${x.concurrency} in flight`, `${x.instancesPerRequest} per ${x.destination.type === 'DICOMWEB' ? 'request' : 'association'}`];
  out.push(x.transferSyntaxes.length ? `syntaxes: ${x.transferSyntaxes.map((u) => UID_NAMES[u] ?? u).join(', ')}` : 'as stored');
  if (x.chunked) out.push('chunked');
  if (x.bearerToken === 'set') out.push('own bearer token');
  if (x.basicAuth === 'set') out.push('own basic auth');
  if (x.allowAnyHostname) out.push('any host name');
  if (x.storageCommitment) out.push('storage commitment');
  return out;
}

export function ExportersManager({ poolId, exporters, destinations }: { poolId: string; exporters: ExporterRow[]; destinations: DestinationChoice[] }) {
  const rows = useRowEditing(exporters.length === 0 && destinations.length > 0);
  const [confirm, confirmDialog] = useConfirm();

  async function remove(x: ExporterRow) {
    const ok = await confirm({
      title: `Delete the exporter “${x.name}”?`,
      body:
        x.exportCount > 0 ? (
          <p>It has {x.exportCount} export(s) whose records and receipts depend on it: it cannot be deleted. Untick “Enabled” to stop its use instead.</p>
        ) : (
          <p>Members will no longer be able to export to {x.destination.name} with it. Nothing has been exported with it yet.</p>
        ),
      confirmLabel: 'Delete exporter',
      danger: true,
    });
    if (!ok) return;
    await rows.remove(x.id, `/pools/${poolId}/exporters/${x.id}`);
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <ManagerHeader count={exporters.length} one="exporter" many="exporters" addLabel="New exporter" onAdd={!rows.adding && destinations.length > 0 ? rows.startAdding : undefined} />
      {destinations.length === 0 && (
        <EmptyState title="No destination to export to yet">
          An administrator registers the archives studies may be sent to (a DICOMweb server or a DICOM device). Ask them to add your group’s archive on the
          Destinations page; then set up an exporter here.
        </EmptyState>
      )}
      {rows.adding && (
        <AddSection id="add-exporter-title" title="New exporter">
          <ExporterForm poolId={poolId} destinations={destinations} onDone={rows.added} onCancel={exporters.length ? rows.stopAdding : undefined} />
        </AddSection>
      )}
      {exporters.length === 0
        ? destinations.length > 0 &&
          !rows.adding && (
            <EmptyState title="No exporter yet">
              An exporter lets the pool’s members send studies to one destination, on demand or automatically as studies arrive.
            </EmptyState>
          )
        : (
          <div className="card overflow-x-auto">
            <table className="table" aria-label="Exporters">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Destination</th>
                  <th>Settings</th>
                  <th>When</th>
                  <th>Status</th>
                  <th className="w-px"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {exporters.map((x) =>
                  rows.editing === x.id ? (
                    <FormRow key={x.id} colSpan={6}>
                      <ExporterForm poolId={poolId} initial={x} destinations={destinations} onDone={rows.saved} onCancel={rows.cancelEdit} />
                    </FormRow>
                  ) : (
                    <Fragment key={x.id}>
                      <tr>
                        <td className="font-medium">{x.name}</td>
                        <td>
                          {x.destination.name}
                          <span className="block text-xs text-slate-500">{x.destination.type === 'DICOMWEB' ? 'STOW-RS' : 'C-STORE'}</span>
                        </td>
                        <td className="max-w-sm text-xs text-slate-600">
                          {settingsOf(x).join(' · ')}
                          {x.disableTrustManager && <span className="block font-medium text-amber-800">certificate checks disabled</span>}
                        </td>
                        <td className="text-xs">
                          {x.schedule ? <code className="font-mono">{x.schedule}</code> : 'any time'}
                          {x.autoExport && <span className="block text-slate-600">every new study</span>}
                        </td>
                        <td>{x.enabled ? <span className="badge bg-emerald-100 text-emerald-800">enabled</span> : <span className="badge bg-slate-200 text-slate-700">disabled</span>}</td>
                        <RowActions label={`exporter ${x.name}`} onEdit={() => rows.edit(x.id)} onDelete={() => remove(x)} deleting={rows.deleting === x.id} />
                      </tr>
                      {rows.errorOf(x.id) && (
                        <RowAlert colSpan={6}>
                          Could not delete “{x.name}”: {rows.errorOf(x.id)}
                        </RowAlert>
                      )}
                    </Fragment>
                  ),
                )}
              </tbody>
            </table>
          </div>
        )}
      <p className="text-xs text-slate-500">
        Members export from the <Link href={`/pools/${poolId}`}>Studies</Link> page; progress and receipts are on the <Link href={`/pools/${poolId}/exports`}>Exports</Link> page.
      </p>
    </div>
  );
}
