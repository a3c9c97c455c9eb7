'use client';
/**
 * Connectors: which PACS device to talk to, as which AE (query pool) and where the PACS sends
 * the studies (receiving pool), how hard (max associations) and when (schedule).
 */
import { useConfirm } from '@/components/confirm-dialog';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment, useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { EmptyState } from '@/components/ui';
import { connectorInputSchema } from '@/lib/connectors/schema';
import { escapeCancels, FormAlert, OtherFieldErrors, Spinner, str, useApiAction, useFieldBinder } from './kit';

export interface ConnectorRow {
  id: string;
  name: string;
  type: string;
  retrieveMethod: string;
  maxAssociations: number;
  schedule: string | null;
  deactivatedCriteria: string[];
  device: { id: string; name: string; aeTitle: string; host: string; port: number; tls: boolean } | null;
  queryPool: { id: string; name: string; aeTitle: string };
  receivingPool: { id: string; name: string; aeTitle: string };
}
export interface DeviceOption {
  id: string;
  name: string;
  aeTitle: string;
  host: string;
  port: number;
}
export interface PoolOption {
  id: string;
  name: string;
  aeTitle: string;
  kind: 'RESEARCH' | 'INFRASTRUCTURE';
}
export interface ScpAddress {
  host: string;
  port: number;
  /** DICOM_TLS_PORT; absent or null when Tributary has no TLS listener. */
  tlsPort?: number | null;
}

const KNOWN = ['name', 'type', 'deviceId', 'queryPoolId', 'receivingPoolId', 'maxAssociations', 'schedule', 'retrieveMethod'];

function PoolSelect({ pools, ...props }: { pools: PoolOption[] } & React.SelectHTMLAttributes<HTMLSelectElement>) {
  const infra = pools.filter((p) => p.kind === 'INFRASTRUCTURE');
  const research = pools.filter((p) => p.kind === 'RESEARCH');
  const opt = (p: PoolOption) => (
    <option key={p.id} value={p.id}>
      {p.aeTitle} — {p.name}
    </option>
  );
  return (
    <select {...props}>
      <option value="">Choose…</option>
      {infra.length > 0 && <optgroup label="Infrastructure pools (recommended)">{infra.map(opt)}</optgroup>}
      {research.length > 0 && <optgroup label="Research pools">{research.map(opt)}</optgroup>}
    </select>
  );
}

export function ConnectorForm({
  initial,
  devices,
  pools,
  onDone,
  onCancel,
}: {
  initial?: ConnectorRow;
  devices: DeviceOption[];
  pools: PoolOption[];
  onDone: () => void;
  onCancel?: () => void;
}) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const infra = pools.filter((p) => p.kind === 'INFRASTRUCTURE');
  // For a new connector, preselect infrastructure pools whose AE title says what they are for.
  const guess = (re: RegExp) => infra.find((p) => re.test(p.aeTitle) || re.test(p.name))?.id ?? '';

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const v = validate(connectorInputSchema, {
      name: str(fd.get('name')),
      type: 'DICOM',
      deviceId: str(fd.get('deviceId')),
      queryPoolId: str(fd.get('queryPoolId')),
      receivingPoolId: str(fd.get('receivingPoolId')),
      maxAssociations: str(fd.get('maxAssociations')),
      schedule: str(fd.get('schedule')),
      retrieveMethod: str(fd.get('retrieveMethod')) || 'CMOVE',
      // The form does not edit these yet; keep what the connector has (PATCH takes the whole connector).
      deactivatedCriteria: initial?.deactivatedCriteria ?? [],
    });
    if (!v.ok) return a.invalid(v.fields);
    const res = await a.run(() =>
      initial ? apiFetch(`/connectors/${initial.id}`, { method: 'PATCH', body: v.data }) : apiFetch('/connectors', { method: 'POST', body: v.data }),
    );
    if (res !== undefined) onDone();
  }

  return (
    <form onSubmit={onSubmit} onKeyDown={escapeCancels(onCancel)} noValidate aria-label={initial ? `Edit connector ${initial.name}` : 'Create connector'} className="space-y-3">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-12">
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('name')}>Name *</label>
          <input {...f.input('name')} defaultValue={initial?.name} autoFocus autoComplete="off" placeholder="Hospital PACS" />
          {f.error('name')}
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('type')}>Type</label>
          <select {...f.input('type')} defaultValue="DICOM" disabled aria-describedby={`${f.id('type')}-note`}>
            <option value="DICOM">DICOM (C-FIND / C-MOVE)</option>
          </select>
          <p id={`${f.id('type')}-note`} className="mt-1 text-xs text-slate-500">DICOMweb and database connectors come in a later version.</p>
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('retrieveMethod')}>Retrieve method</label>
          <select {...f.input('retrieveMethod')} defaultValue={initial?.retrieveMethod ?? 'CMOVE'} aria-describedby={`${f.id('retrieveMethod')}-note`}>
            <option value="CMOVE">C-MOVE</option>
            <option value="CGET">C-GET</option>
          </select>
          {f.error('retrieveMethod') ?? (
            <p id={`${f.id('retrieveMethod')}-note`} className="mt-1 text-xs text-slate-500">
              C-MOVE: the PACS sends to the receiving AE (it must know it as a move destination). C-GET: the images come back on the same
              association, no move destination needed.
            </p>
          )}
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('deviceId')}>PACS device *</label>
          <select {...f.input('deviceId')} defaultValue={initial?.device?.id ?? (devices.length === 1 ? devices[0].id : '')}>
            <option value="">Choose…</option>
            {devices.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} — {d.aeTitle} @ {d.host}:{d.port}
              </option>
            ))}
          </select>
          {f.error('deviceId')}
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('queryPoolId')}>Query AE (pool) *</label>
          <PoolSelect
            pools={pools}
            {...f.input('queryPoolId')}
            defaultValue={initial?.queryPool.id ?? guess(/QUERY|FIND|_QR|QR_/i)}
          />
          {f.error('queryPoolId') ?? <p className="mt-1 text-xs text-slate-500">Calling AE of C-FIND and C-MOVE; the PACS must allow it to query.</p>}
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('receivingPoolId')}>Receiving AE (pool) *</label>
          <PoolSelect
            pools={pools}
            {...f.input('receivingPoolId')}
            defaultValue={initial?.receivingPool.id ?? guess(/RECEIV|RECV|RCV|MOVE|STORE|DEST/i)}
          />
          {f.error('receivingPoolId') ?? <p className="mt-1 text-xs text-slate-500">Calling AE of the retrieve and, for C-MOVE, the destination the PACS must know with Tributary’s host and port.</p>}
        </div>
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('maxAssociations')}>Max concurrent associations *</label>
          <input {...f.input('maxAssociations', 'tabular-nums')} type="number" min={1} max={32} defaultValue={initial?.maxAssociations ?? 2} />
          {f.error('maxAssociations') ?? <p className="mt-1 text-xs text-slate-500">What the PACS tolerates at once (1–32).</p>}
        </div>
        <div className="sm:col-span-9">
          <label className="label" htmlFor={f.id('schedule')}>Schedule</label>
          <input
            {...f.input('schedule', 'font-mono')}
            defaultValue={initial?.schedule ?? ''}
            autoComplete="off"
            spellCheck={false}
            placeholder="hour=18-6 dayOfWeek=*"
          />
          {f.error('schedule') ?? (
            <p className="mt-1 text-xs text-slate-500">
              <code className="font-mono">hour=18-6 dayOfWeek=*</code> — empty means any time. Hours 0–23, days 0–6 (0 = Sunday), ranges wrap;
              separate several windows with “;”, e.g. <code className="font-mono">hour=18-6 dayOfWeek=1-5; dayOfWeek=0,6</code>. Retrievals wait for the
              window (worker’s local time).
            </p>
          )}
        </div>
      </div>
      <OtherFieldErrors fields={a.fields} known={KNOWN} />
      <FormAlert message={a.error} />
      <div className="flex items-center gap-2">
        <button type="submit" className="btn btn-primary" disabled={a.busy}>
          {a.busy ? 'Saving…' : initial ? 'Save changes' : 'Create connector'}
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

type EchoState = { state: 'testing' } | { state: 'done'; ok: boolean; message: string };

function EchoResult({ echo }: { echo: EchoState | undefined }) {
  if (!echo) return <span className="text-slate-400">not tested</span>;
  if (echo.state === 'testing')
    return (
      <span className="text-slate-600">
        <Spinner /> Testing…
      </span>
    );
  return echo.ok ? (
    <span className="text-emerald-700">
      <span aria-hidden="true">●</span> Connected: {echo.message}
    </span>
  ) : (
    <span className="text-rose-700">
      <span aria-hidden="true">●</span> Failed: {echo.message}
    </span>
  );
}

export function PacsSetup({ connector: c, scp }: { connector: ConnectorRow; scp: ScpAddress }) {
  if (c.retrieveMethod === 'CGET')
    return (
      <p className="text-sm text-slate-700">
        Register these in the PACS{c.device ? <> ({c.device.name})</> : null}: query AE <code className="font-mono font-semibold">{c.queryPool.aeTitle}</code> (allowed to
        C-FIND) and retrieving AE <code className="font-mono font-semibold">{c.receivingPool.aeTitle}</code> allowed to C-GET (Study Root) with the storage SOP classes
        of its studies. C-GET needs no move destination: the images come back on Tributary’s own association.
      </p>
    );
  return (
    <p className="text-sm text-slate-700">
      Register these in the PACS{c.device ? <> ({c.device.name})</> : null}: query AE <code className="font-mono font-semibold">{c.queryPool.aeTitle}</code> (allowed to
      C-FIND{c.retrieveMethod === 'CMOVE' ? ' and C-MOVE' : ''}), move destination <code className="font-mono font-semibold">{c.receivingPool.aeTitle}</code> at{' '}
      <code className="font-mono font-semibold">
        {scp.host}:{c.device?.tls && scp.tlsPort ? scp.tlsPort : scp.port}
      </code>
      {c.device?.tls ? (
        scp.tlsPort ? (
          <>
            {' '}
            over DICOM TLS (in Orthanc: <code className="font-mono">UseDicomTls</code>). The PACS must trust the CA of Tributary&apos;s certificate
            (DICOM_TLS_CERT) and present its own certificate, issued by the CA entered on the device, when it sends.
          </>
        ) : (
          <>
            . <strong className="text-rose-700">This device is set to TLS but Tributary has no TLS port (DICOM_TLS_PORT):</strong> the PACS cannot
            send to Tributary until it is configured
          </>
        )
      ) : null}
      .
    </p>
  );
}

export function ConnectorsManager({ connectors, devices, pools, scp }: { connectors: ConnectorRow[]; devices: DeviceOption[]; pools: PoolOption[]; scp: ScpAddress }) {
  const router = useRouter();
  const canCreate = devices.length > 0 && pools.length >= 2;
  const [adding, setAdding] = useState(connectors.length === 0 && canCreate);
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const [echo, setEcho] = useState<Record<string, EchoState>>({});

  async function test(c: ConnectorRow) {
    setEcho((s) => ({ ...s, [c.id]: { state: 'testing' } }));
    const res = await apiFetch<{ ok: boolean; ms?: number; message: string }>(`/connectors/${c.id}/echo`, { method: 'POST' });
    setEcho((s) => ({
      ...s,
      [c.id]: res.ok ? { state: 'done', ok: res.data.ok, message: res.data.message } : { state: 'done', ok: false, message: res.error.message },
    }));
  }

  const [confirm, confirmDialog] = useConfirm();

  async function remove(c: ConnectorRow) {
    const ok = await confirm({
      title: `Delete the connector “${c.name}”?`,
      body: (
        <>
          <p>
            It queries {c.device ? `${c.device.name} (${c.device.aeTitle})` : 'its PACS'} as {c.queryPool.aeTitle} and receives as {c.receivingPool.aeTitle}.
          </p>
          <p>Queries run through it are deleted with it; studies already in research pools stay. This cannot be undone.</p>
        </>
      ),
      confirmLabel: 'Delete connector',
      danger: true,
    });
    if (!ok) return;
    setDeleting(c.id);
    setRowError(null);
    const res = await apiFetch(`/connectors/${c.id}`, { method: 'DELETE' });
    setDeleting(null);
    if (!res.ok) return setRowError({ id: c.id, message: res.error.message });
    router.refresh();
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <div className="flex items-center justify-between">
        <span className="text-slate-500 tabular-nums">
          {connectors.length} {connectors.length === 1 ? 'connector' : 'connectors'}
        </span>
        {!adding && canCreate && (
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
            New connector
          </button>
        )}
      </div>

      {!canCreate && (
        <EmptyState title="A connector needs a PACS device and two pools">
          Register the PACS on the <Link href="/admin/devices">Devices</Link> page
          {devices.length ? ' (done)' : ''}, and create two infrastructure pools on <Link href="/admin/pools">Manage pools</Link>
          {pools.length >= 2 ? ' (done)' : ''}: one whose AE title queries the PACS, one whose AE title the PACS sends studies to.
        </EmptyState>
      )}

      {adding && (
        <section className="card p-4" aria-labelledby="add-connector-title">
          <h2 id="add-connector-title" className="mb-3">New connector</h2>
          <ConnectorForm
            devices={devices}
            pools={pools}
            onDone={() => {
              setAdding(false);
              router.refresh();
            }}
            onCancel={connectors.length ? () => setAdding(false) : undefined}
          />
        </section>
      )}

      {connectors.length === 0 ? (
        canCreate && (
          <EmptyState title="No connector yet">
            A connector ties a PACS device to two AE titles: the <strong>query AE</strong> Tributary uses to search the PACS (C-FIND) and ask for
            studies (C-MOVE), and the <strong>receiving AE</strong> the PACS sends them to. Coordinators pick a connector when they query; one
            connector serves every research pool.
          </EmptyState>
        )
      ) : (
        <div className="card overflow-x-auto">
          <table className="table" aria-label="Connectors">
            <thead>
              <tr>
                <th>Name</th>
                <th>PACS device</th>
                <th>Query AE (pool)</th>
                <th>Receiving AE (pool)</th>
                <th className="text-right">Max assoc.</th>
                <th>Schedule</th>
                <th>Connection</th>
                <th className="w-px"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {connectors.map((c) =>
                editing === c.id ? (
                  <tr key={c.id}>
                    <td colSpan={8} className="bg-sky-50/40 py-3">
                      <ConnectorForm
                        initial={c}
                        devices={devices}
                        pools={pools}
                        onDone={() => {
                          setEditing(null);
                          router.refresh();
                        }}
                        onCancel={() => setEditing(null)}
                      />
                    </td>
                  </tr>
                ) : (
                  <Fragment key={c.id}>
                    <tr>
                      <td className="font-medium">
                        {c.name}
                        <span className="block text-xs font-normal text-slate-500">
                          {c.type} · {c.retrieveMethod === 'CMOVE' ? 'C-MOVE' : c.retrieveMethod === 'CGET' ? 'C-GET' : c.retrieveMethod}
                        </span>
                      </td>
                      <td>
                        {c.device ? (
                          <>
                            {c.device.name}
                            <span className="block font-mono text-xs text-slate-500">
                              {c.device.aeTitle} @ {c.device.host}:{c.device.port}
                              {c.device.tls ? ' (TLS)' : ''}
                            </span>
                          </>
                        ) : (
                          <span className="text-rose-700">no device</span>
                        )}
                      </td>
                      <td>
                        <span className="font-mono text-xs">{c.queryPool.aeTitle}</span>
                        <span className="block text-xs text-slate-500">{c.queryPool.name}</span>
                      </td>
                      <td>
                        <span className="font-mono text-xs">{c.receivingPool.aeTitle}</span>
                        <span className="block text-xs text-slate-500">{c.receivingPool.name}</span>
                      </td>
                      <td className="text-right tabular-nums">{c.maxAssociations}</td>
                      <td>{c.schedule ? <code className="font-mono text-xs">{c.schedule}</code> : <span className="text-slate-500">any time</span>}</td>
                      <td className="max-w-xs text-xs" aria-live="polite">
                        <EchoResult echo={echo[c.id]} />
                      </td>
                      <td className="whitespace-nowrap text-right">
                        <button type="button" className="btn btn-sm" onClick={() => test(c)} disabled={echo[c.id]?.state === 'testing'}>
                          {echo[c.id]?.state === 'testing' ? 'Testing…' : 'Test connection'}
                        </button>{' '}
                        <button type="button" className="btn btn-sm" onClick={() => { setRowError(null); setEditing(c.id); }}>
                          Edit
                        </button>{' '}
                        <button type="button" className="btn btn-sm btn-danger" onClick={() => remove(c)} disabled={deleting === c.id}>
                          {deleting === c.id ? 'Deleting…' : 'Delete'}
                        </button>
                      </td>
                    </tr>
                    {rowError?.id === c.id && (
                      <tr>
                        <td colSpan={8} className="bg-rose-50/60">
                          <p role="alert" className="text-sm text-rose-800">
                            Could not delete “{c.name}”: {rowError.message}
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

      {connectors.length > 0 && (
        <section className="card p-4" aria-labelledby="pacs-setup-title">
          <h2 id="pacs-setup-title" className="mb-1">For the PACS administrator</h2>
          <p className="mb-3 text-xs text-slate-500">
            Tributary’s DICOM receiver listens at <span className="font-mono">{scp.host}:{scp.port}</span>; the called AE title selects the pool.
            It takes images only from the PACS’s registered host, or from the addresses listed on its device: if the PACS sends from other
            nodes, add them on the Devices page. “Test connection” sends a C-ECHO to the PACS as the query AE.
          </p>
          <ul className="space-y-2">
            {connectors.map((c) => (
              <li key={c.id} className="rounded-md border border-slate-200 bg-slate-50 px-3 py-2">
                <span className="mb-0.5 block text-xs font-semibold uppercase tracking-wide text-slate-500">{c.name}</span>
                <PacsSetup connector={c} scp={scp} />
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
