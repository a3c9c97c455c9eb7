'use client';
/**
 * Export destinations (admin): where pools' exporters may send studies. A DICOMweb endpoint
 * (STOW-RS URL, authentication, TLS, extra headers) or a DICOM device (C-STORE, storage
 * commitment, concurrent associations). Pool owners pick one when they set up an exporter; the
 * administrator never decides which pool sends where.
 */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment, useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';
import { EmptyState } from '@/components/ui';
import { destinationInputSchema } from '@/lib/exports/schema';
import { escapeCancels, FormAlert, OtherFieldErrors, Spinner, str, useApiAction, useFieldBinder } from './kit';

type AuthType = 'NONE' | 'BASIC' | 'BEARER' | 'OAUTH2';

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

const KNOWN = [
  'name', 'type', 'description', 'deviceId', 'storageCommitment', 'maxAssociations', 'webStowUrl', 'webHeaders', 'webConnectTimeoutMs', 'webReadTimeoutMs',
  'webTlsCa', 'webTlsAllowAnyHost', 'webTlsTrustAll', 'webAuthType', 'webUsername', 'webSecret', 'webTokenUrl', 'webScope',
];

const SECRET_LABEL = { NONE: '', BASIC: 'Password', BEARER: 'Bearer token', OAUTH2: 'Client secret' } as const;

function parseHeaderLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const i = line.indexOf(':');
    if (i < 0) out[line.trim()] = '';
    else out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function DestinationForm({ initial, devices, onDone, onCancel }: { initial?: DestinationRow; devices: DeviceChoice[]; onDone: () => void; onCancel?: () => void }) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const [type, setType] = useState<'DICOMWEB' | 'DICOM'>(initial?.type ?? 'DICOMWEB');
  const [authType, setAuthType] = useState<AuthType>(initial?.webAuthType ?? 'NONE');
  const [trustAll, setTrustAll] = useState(initial?.webTlsTrustAll ?? false);
  const web = type === 'DICOMWEB';
  const secretSet = initial?.webSecret === 'set' && initial.webAuthType === authType;

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const secret = str(fd.get('webSecret'));
    const v = validate(destinationInputSchema, {
      name: str(fd.get('name')),
      type,
      description: str(fd.get('description')),
      maxAssociations: str(fd.get('maxAssociations')),
      ...(web
        ? {
            webStowUrl: str(fd.get('webStowUrl')),
            webHeaders: parseHeaderLines(str(fd.get('webHeaders'))),
            webConnectTimeoutMs: Math.round(Number(str(fd.get('webConnectTimeoutS')) || 10) * 1000),
            webReadTimeoutMs: Math.round(Number(str(fd.get('webReadTimeoutS')) || 60) * 1000),
            webTlsCa: str(fd.get('webTlsCa')),
            webTlsAllowAnyHost: fd.get('webTlsAllowAnyHost') === 'on',
            webTlsTrustAll: fd.get('webTlsTrustAll') === 'on',
            webAuthType: authType,
            webUsername: str(fd.get('webUsername')),
            // Write-only: an empty field keeps the stored secret.
            webSecret: secret ? secret : undefined,
            webTokenUrl: str(fd.get('webTokenUrl')),
            webScope: str(fd.get('webScope')),
          }
        : { deviceId: str(fd.get('deviceId')), storageCommitment: fd.get('storageCommitment') === 'on' }),
    });
    if (!v.ok) return a.invalid(v.fields);
    const res = await a.run(() => (initial ? apiFetch(`/destinations/${initial.id}`, { method: 'PATCH', body: v.data }) : apiFetch('/destinations', { method: 'POST', body: v.data })));
    if (res !== undefined) onDone();
  }

  return (
    <form onSubmit={onSubmit} onKeyDown={escapeCancels(onCancel)} noValidate aria-label={initial ? `Edit destination ${initial.name}` : 'Create destination'} className="space-y-3">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-12">
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('name')}>Name *</label>
          <input {...f.input('name')} defaultValue={initial?.name} autoFocus autoComplete="off" placeholder="Research archive" />
          {f.error('name')}
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('type')}>Type</label>
          <select {...f.input('type')} value={type} onChange={(e) => setType(e.target.value as 'DICOMWEB' | 'DICOM')} disabled={!!initial && initial.exporterCount > 0}>
            <option value="DICOMWEB">DICOMweb (STOW-RS)</option>
            <option value="DICOM">DICOM (C-STORE)</option>
          </select>
          {f.error('type') ?? (initial && initial.exporterCount > 0 ? <p className="mt-1 text-xs text-slate-500">Fixed while exporters send to it.</p> : null)}
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('maxAssociations')}>{web ? 'Max concurrent requests *' : 'Max concurrent associations *'}</label>
          <input {...f.input('maxAssociations', 'tabular-nums')} type="number" min={1} max={32} defaultValue={initial?.maxAssociations ?? 2} />
          {f.error('maxAssociations') ?? <p className="mt-1 text-xs text-slate-500">Across every exporter using it (1–32).</p>}
        </div>
        <div className="sm:col-span-12">
          <label className="label" htmlFor={f.id('description')}>Description</label>
          <input {...f.input('description')} defaultValue={initial?.description ?? ''} autoComplete="off" placeholder="The group's Orthanc in the research network" />
          {f.error('description')}
        </div>
        {web ? (
          <>
            <div className="sm:col-span-12">
              <label className="label" htmlFor={f.id('webStowUrl')}>STOW-RS URL *</label>
              <input {...f.input('webStowUrl', 'font-mono')} defaultValue={initial?.webStowUrl ?? ''} placeholder="https://archive.example.org/dicom-web/studies" autoComplete="off" spellCheck={false} />
              {f.error('webStowUrl') ?? <p className="mt-1 text-xs text-slate-500">Where instances are POSTed; usually the DICOMweb root followed by <code>/studies</code>.</p>}
            </div>
            <div className="sm:col-span-4">
              <label className="label" htmlFor={f.id('webAuthType')}>Authentication</label>
              <select {...f.input('webAuthType')} value={authType} onChange={(e) => setAuthType(e.target.value as AuthType)}>
                <option value="NONE">None</option>
                <option value="BASIC">Basic (user name, password)</option>
                <option value="BEARER">Static bearer token</option>
                <option value="OAUTH2">OAuth2 client credentials</option>
              </select>
              {f.error('webAuthType')}
            </div>
            {(authType === 'BASIC' || authType === 'OAUTH2') && (
              <div className="sm:col-span-4">
                <label className="label" htmlFor={f.id('webUsername')}>{authType === 'BASIC' ? 'User name *' : 'Client id *'}</label>
                <input {...f.input('webUsername')} defaultValue={initial?.webUsername ?? ''} autoComplete="off" />
                {f.error('webUsername')}
              </div>
            )}
            {authType !== 'NONE' && (
              <div className="sm:col-span-4">
                <label className="label" htmlFor={f.id('webSecret')}>{SECRET_LABEL[authType]} *</label>
                <input {...f.input('webSecret')} type="password" autoComplete="new-password" placeholder={secretSet ? 'set — leave empty to keep' : ''} />
                {f.error('webSecret') ?? <p className="mt-1 text-xs text-slate-500">Stored encrypted; never shown again ({secretSet ? 'set' : 'not set'}).</p>}
              </div>
            )}
            {authType === 'OAUTH2' && (
              <>
                <div className="sm:col-span-6">
                  <label className="label" htmlFor={f.id('webTokenUrl')}>Token endpoint *</label>
                  <input {...f.input('webTokenUrl', 'font-mono')} defaultValue={initial?.webTokenUrl ?? ''} placeholder="https://idp.example.org/realms/x/protocol/openid-connect/token" autoComplete="off" spellCheck={false} />
                  {f.error('webTokenUrl')}
                </div>
                <div className="sm:col-span-6">
                  <label className="label" htmlFor={f.id('webScope')}>Scope</label>
                  <input {...f.input('webScope')} defaultValue={initial?.webScope ?? ''} autoComplete="off" />
                  {f.error('webScope')}
                </div>
              </>
            )}
            <div className="sm:col-span-6">
              <label className="label" htmlFor={f.id('webHeaders')}>Extra HTTP headers</label>
              <textarea {...f.input('webHeaders', 'font-mono')} rows={2} defaultValue={Object.entries(initial?.webHeaders ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n')} placeholder="X-Api-Gateway: research" spellCheck={false} />
              {f.error('webHeaders') ?? <p className="mt-1 text-xs text-slate-500">One “Name: value” per line. Not for secrets (they are shown here): use the authentication.</p>}
            </div>
            <div className="sm:col-span-3">
              <label className="label" htmlFor={f.id('webConnectTimeoutS')}>Connect timeout (s)</label>
              <input {...f.input('webConnectTimeoutS', 'tabular-nums')} type="number" min={1} max={120} defaultValue={(initial?.webConnectTimeoutMs ?? 10_000) / 1000} />
              {f.error('webConnectTimeoutMs')}
            </div>
            <div className="sm:col-span-3">
              <label className="label" htmlFor={f.id('webReadTimeoutS')}>Read timeout (s)</label>
              <input {...f.input('webReadTimeoutS', 'tabular-nums')} type="number" min={1} max={3600} defaultValue={(initial?.webReadTimeoutMs ?? 60_000) / 1000} />
              {f.error('webReadTimeoutMs')}
            </div>
            <div className="sm:col-span-6">
              <label className="label" htmlFor={f.id('webTlsCa')}>CA bundle (PEM)</label>
              <textarea {...f.input('webTlsCa', 'font-mono text-xs')} rows={2} defaultValue={initial?.webTlsCa ?? ''} placeholder="-----BEGIN CERTIFICATE-----" spellCheck={false} />
              {f.error('webTlsCa') ?? <p className="mt-1 text-xs text-slate-500">The archive’s CA, trusted besides the public ones (https only).</p>}
            </div>
            <fieldset className="space-y-1 text-sm sm:col-span-6">
              <legend className="label">TLS</legend>
              <label className="flex items-center gap-2"><input type="checkbox" name="webTlsAllowAnyHost" defaultChecked={initial?.webTlsAllowAnyHost ?? false} /> Allow any host name on the certificate</label>
              <label className="flex items-center gap-2">
                <input type="checkbox" name="webTlsTrustAll" checked={trustAll} onChange={(e) => setTrustAll(e.target.checked)} /> Disable certificate checks (trust any certificate)
              </label>
              {trustAll && (
                <p role="alert" className="rounded border border-amber-300 bg-amber-50 px-2 py-1 text-xs text-amber-900">
                  The connection stays encrypted but anyone on the network path can pose as the archive and receive the studies and the credentials. Use only for a test.
                </p>
              )}
              {f.error('webTlsTrustAll')}
            </fieldset>
          </>
        ) : (
          <>
            <div className="sm:col-span-6">
              <label className="label" htmlFor={f.id('deviceId')}>Receiving device *</label>
              <select {...f.input('deviceId')} defaultValue={initial?.device?.id ?? ''}>
                <option value="">Choose…</option>
                {devices.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name} — {d.aeTitle} @ {d.host}:{d.port}{d.tls ? ' (TLS)' : ''}
                  </option>
                ))}
              </select>
              {f.error('deviceId') ?? (
                <p className="mt-1 text-xs text-slate-500">
                  The AE title, host, port and TLS come from the device (<Link href="/admin/devices">Devices</Link>).
                </p>
              )}
            </div>
            <div className="pt-6 text-sm sm:col-span-6">
              <label className="flex items-center gap-2">
                <input type="checkbox" name="storageCommitment" defaultChecked={initial?.storageCommitment ?? false} /> Supports Storage Commitment (N-ACTION / N-EVENT-REPORT)
              </label>
              {f.error('storageCommitment') ?? <p className="mt-1 text-xs text-slate-500">Lets exporters ask it to confirm it has kept what was sent.</p>}
            </div>
          </>
        )}
      </div>
      <OtherFieldErrors fields={a.fields} known={[...KNOWN, 'webConnectTimeoutS', 'webReadTimeoutS']} />
      <FormAlert message={a.error} />
      <div className="flex items-center gap-2">
        <button type="submit" className="btn btn-primary" disabled={a.busy}>
          {a.busy ? 'Saving…' : initial ? 'Save changes' : 'Create destination'}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel} disabled={a.busy}>
            Cancel
          </button>
        )}
        {onCancel && <span className="text-xs text-slate-500">Esc cancels</span>}
      </div>
    </form>
  );
}

type TestState = { state: 'testing' } | { state: 'done'; ok: boolean; message: string };

function TestResult({ t }: { t: TestState | undefined }) {
  if (!t) return <span className="text-slate-500">not tested</span>;
  if (t.state === 'testing')
    return (
      <span className="text-slate-600">
        <Spinner /> Testing…
      </span>
    );
  return t.ok ? (
    <span className="text-emerald-700">
      <span aria-hidden="true">●</span> Reachable: {t.message}
    </span>
  ) : (
    <span className="text-rose-700">
      <span aria-hidden="true">●</span> Failed: {t.message}
    </span>
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
  const router = useRouter();
  const [adding, setAdding] = useState(destinations.length === 0);
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const [tests, setTests] = useState<Record<string, TestState>>({});
  const [confirm, confirmDialog] = useConfirm();

  async function test(d: DestinationRow) {
    setTests((s) => ({ ...s, [d.id]: { state: 'testing' } }));
    const res = await apiFetch<{ ok: boolean; message: string }>(`/destinations/${d.id}/test`, { method: 'POST' });
    setTests((s) => ({ ...s, [d.id]: res.ok ? { state: 'done', ok: res.data.ok, message: res.data.message } : { state: 'done', ok: false, message: res.error.message } }));
  }

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
    setDeleting(d.id);
    setRowError(null);
    const res = await apiFetch(`/destinations/${d.id}`, { method: 'DELETE' });
    setDeleting(null);
    if (!res.ok) return setRowError({ id: d.id, message: res.error.message });
    router.refresh();
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <div className="flex items-center justify-between">
        <span className="tabular-nums text-slate-500">
          {destinations.length} {destinations.length === 1 ? 'destination' : 'destinations'}
        </span>
        {!adding && (
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
            New destination
          </button>
        )}
      </div>

      {adding && (
        <section className="card p-4" aria-labelledby="add-destination-title">
          <h2 id="add-destination-title" className="mb-3">New destination</h2>
          <DestinationForm
            devices={devices}
            onDone={() => {
              setAdding(false);
              router.refresh();
            }}
            onCancel={destinations.length ? () => setAdding(false) : undefined}
          />
        </section>
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
                editing === d.id ? (
                  <tr key={d.id}>
                    <td colSpan={6} className="bg-sky-50/40 py-3">
                      <DestinationForm
                        initial={d}
                        devices={devices}
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
                        <TestResult t={tests[d.id]} />
                      </td>
                      <td className="whitespace-nowrap text-right">
                        <button type="button" className="btn btn-sm" onClick={() => test(d)} disabled={tests[d.id]?.state === 'testing'} aria-label={`Test destination ${d.name}`}>
                          {tests[d.id]?.state === 'testing' ? 'Testing…' : 'Test'}
                        </button>{' '}
                        <button type="button" className="btn btn-sm" onClick={() => { setRowError(null); setEditing(d.id); }} aria-label={`Edit destination ${d.name}`}>
                          Edit
                        </button>{' '}
                        <button type="button" className="btn btn-sm btn-danger" onClick={() => remove(d)} disabled={deleting === d.id} aria-label={`Delete destination ${d.name}`}>
                          {deleting === d.id ? 'Deleting…' : 'Delete'}
                        </button>
                      </td>
                    </tr>
                    {rowError?.id === d.id && (
                      <tr>
                        <td colSpan={6} className="bg-rose-50/60">
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
