'use client';
/**
 * Connectors: which PACS device to talk to, as which AE (query pool) and where the PACS sends
 * the studies (receiving pool), how hard (max associations) and when (schedule).
 */
import { useConfirm } from '@/components/confirm-dialog';
import Link from 'next/link';
import { Fragment, useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { EmptyState } from '@/components/ui';
import { connectorInputSchema } from '@/lib/connectors/schema';
import { AddSection, AdminForm, Check, Field, FormFooter, FormRow, HTTP_CONNECTION_FIELDS, HttpAuthFields, HttpRequestFields, HttpTlsFields, ManagerHeader, readHttpConnection, RowActions, RowAlert, str, TestResult, useApiAction, useFieldBinder, useRowEditing, useRowTests, type Binder, type HttpConnectionSettings } from './kit';

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
  /** DICOMweb settings (type DICOMWEB); the secret only as "set" / "not set". */
  web?: WebSettings;
}
/** The source's own settings, and its HTTP connection (authentication, headers, timeouts, TLS). */
export interface WebSettings extends HttpConnectionSettings {
  baseUrl: string;
  qidoRoot: string;
  wadoRoot: string;
  wadoUriRoot: string;
  includeField: boolean;
  fuzzyMatching: boolean;
  transferSyntax: string;
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

const KNOWN = [
  'name', 'type', 'deviceId', 'queryPoolId', 'receivingPoolId', 'maxAssociations', 'schedule', 'retrieveMethod',
  'webBaseUrl', 'webQidoRoot', 'webWadoRoot', 'webWadoUriRoot', 'webTransferSyntax', ...HTTP_CONNECTION_FIELDS,
];

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

/** A DICOMweb root: a path under the base URL, or a URL. */
function RootField({ f, name, label, defaultValue, help }: { f: Binder; name: string; label: string; defaultValue: string; help?: React.ReactNode }) {
  return (
    <Field f={f} name={name} label={label} className="sm:col-span-4" inputClassName="font-mono" help={help}>
      {(p) => <input {...p} defaultValue={defaultValue} placeholder="(the base URL)" autoComplete="off" spellCheck={false} />}
    </Field>
  );
}

/** The DICOMweb source's fields (seed 003: base URL and roots; TLS; authentication). */
function WebFields({
  f,
  initial,
  authType,
  setAuthType,
  trustAll,
  setTrustAll,
}: {
  f: Binder;
  initial?: WebSettings;
  authType: WebSettings['authType'];
  setAuthType: (t: WebSettings['authType']) => void;
  trustAll: boolean;
  setTrustAll: (v: boolean) => void;
}) {
  return (
    <>
      <Field f={f} name="webBaseUrl" label="Base URL" required className="sm:col-span-4" inputClassName="font-mono">
        {(p) => <input {...p} defaultValue={initial?.baseUrl ?? ''} placeholder="https://pacs.example.org/dicom-web" autoComplete="off" spellCheck={false} />}
      </Field>
      <RootField f={f} name="webQidoRoot" label="QIDO-RS root" defaultValue={initial?.qidoRoot ?? ''} help={<>A path under the base URL (e.g. <code>rs</code>) or a full URL.</>} />
      <RootField f={f} name="webWadoRoot" label="WADO-RS root" defaultValue={initial?.wadoRoot ?? ''} />
      <RootField f={f} name="webWadoUriRoot" label="WADO-URI root" defaultValue={initial?.wadoUriRoot ?? ''} />
      <Field
        f={f}
        name="webTransferSyntax"
        label="Transfer syntax"
        className="sm:col-span-4"
        inputClassName="font-mono"
        help={<><code>*</code> = as stored (no server-side transcoding), or a UID.</>}
      >
        {(p) => <input {...p} defaultValue={initial?.transferSyntax ?? '*'} autoComplete="off" spellCheck={false} />}
      </Field>
      <div className="space-y-1 pt-5 text-sm sm:col-span-4">
        <Check name="webIncludeField" defaultChecked={initial?.includeField ?? true}>QIDO-RS supports includefield</Check>
        <Check name="webFuzzyMatching" defaultChecked={initial?.fuzzyMatching ?? false}>Supports fuzzy matching</Check>
      </div>
      <HttpAuthFields f={f} initial={initial} authType={authType} onAuthType={setAuthType} column="sm:col-span-3" />
      <HttpRequestFields
        f={f}
        initial={initial}
        headersHelp="One “Name: value” per line, sent with every request. Not for secrets (they are shown here): use the authentication."
      />
      <HttpTlsFields
        f={f}
        initial={initial}
        trustAll={trustAll}
        onTrustAll={setTrustAll}
        caHelp="The hospital’s CA, trusted besides the public ones (https only)."
        warning="The connection stays encrypted but anyone on the network path can pose as the server and read the credentials and images. Use only for a test, never for patient data."
      />
    </>
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
  const [type, setType] = useState<'DICOM' | 'DICOMWEB'>(initial?.type === 'DICOMWEB' ? 'DICOMWEB' : 'DICOM');
  const [authType, setAuthType] = useState<WebSettings['authType']>(initial?.web?.authType ?? 'NONE');
  const [trustAll, setTrustAll] = useState(initial?.web?.tlsTrustAll ?? false);
  const web = type === 'DICOMWEB';
  const infra = pools.filter((p) => p.kind === 'INFRASTRUCTURE');
  // For a new connector, preselect infrastructure pools whose AE title says what they are for.
  const guess = (re: RegExp) => infra.find((p) => re.test(p.aeTitle) || re.test(p.name))?.id ?? '';

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const v = validate(connectorInputSchema, {
      name: str(fd.get('name')),
      type,
      deviceId: web ? null : str(fd.get('deviceId')),
      queryPoolId: str(fd.get('queryPoolId')),
      receivingPoolId: str(fd.get('receivingPoolId')),
      maxAssociations: str(fd.get('maxAssociations')),
      schedule: str(fd.get('schedule')),
      retrieveMethod: web ? 'WADORS' : str(fd.get('retrieveMethod')) || 'CMOVE',
      // The form does not edit these yet; keep what the connector has (PATCH takes the whole connector).
      deactivatedCriteria: initial?.deactivatedCriteria ?? [],
      ...(web
        ? {
            webBaseUrl: str(fd.get('webBaseUrl')),
            webQidoRoot: str(fd.get('webQidoRoot')),
            webWadoRoot: str(fd.get('webWadoRoot')),
            webWadoUriRoot: str(fd.get('webWadoUriRoot')),
            webIncludeField: fd.get('webIncludeField') === 'on',
            webFuzzyMatching: fd.get('webFuzzyMatching') === 'on',
            webTransferSyntax: str(fd.get('webTransferSyntax')),
            ...readHttpConnection(fd, authType),
          }
        : {}),
    });
    if (!v.ok) return a.invalid(v.fields);
    const res = await a.run(() =>
      initial ? apiFetch(`/connectors/${initial.id}`, { method: 'PATCH', body: v.data }) : apiFetch('/connectors', { method: 'POST', body: v.data }),
    );
    if (res !== undefined) onDone();
  }

  return (
    <AdminForm
      label={initial ? `Edit connector ${initial.name}` : 'Create connector'}
      onSubmit={onSubmit}
      onCancel={onCancel}
      footer={<FormFooter action={a} known={KNOWN} submitLabel={initial ? 'Save changes' : 'Create connector'} onCancel={onCancel} />}
    >
      <Field f={f} name="name" label="Name" required className="sm:col-span-4">
        {(p) => <input {...p} defaultValue={initial?.name} autoFocus autoComplete="off" placeholder="Hospital PACS" />}
      </Field>
      <Field f={f} name="type" label="Type" className="sm:col-span-4" help={initial ? 'The type is fixed once created.' : null}>
        {(p) => (
          <select {...p} value={type} onChange={(e) => setType(e.target.value as 'DICOM' | 'DICOMWEB')} disabled={!!initial}>
            <option value="DICOM">DICOM (C-FIND / C-MOVE)</option>
            <option value="DICOMWEB">DICOMweb (QIDO-RS / WADO-RS)</option>
          </select>
        )}
      </Field>
      <Field
        f={f}
        name="retrieveMethod"
        label="Retrieve method"
        className="sm:col-span-4"
        help={
          web ? null : (
            <>
              C-MOVE: the PACS sends to the receiving AE (it must know it as a move destination). C-GET: the images come back on the same
              association, no move destination needed.
            </>
          )
        }
      >
        {(p) =>
          web ? (
            <select {...p} value="WADORS" disabled>
              <option value="WADORS">WADO-RS</option>
            </select>
          ) : (
            <select {...p} defaultValue={initial?.retrieveMethod ?? 'CMOVE'}>
              <option value="CMOVE">C-MOVE</option>
              <option value="CGET">C-GET</option>
            </select>
          )
        }
      </Field>
      {web ? (
        <WebFields f={f} initial={initial?.web} authType={authType} setAuthType={setAuthType} trustAll={trustAll} setTrustAll={setTrustAll} />
      ) : (
        <Field f={f} name="deviceId" label="PACS device" required className="sm:col-span-4">
          {(p) => (
            <select {...p} defaultValue={initial?.device?.id ?? (devices.length === 1 ? devices[0].id : '')}>
              <option value="">Choose…</option>
              {devices.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} — {d.aeTitle} @ {d.host}:{d.port}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <Field
        f={f}
        name="queryPoolId"
        label="Query AE (pool)"
        required
        className="sm:col-span-4"
        help={web ? 'Not used by DICOMweb queries (kept for a later switch to DICOM).' : 'Calling AE of C-FIND and C-MOVE; the PACS must allow it to query.'}
      >
        {(p) => <PoolSelect pools={pools} {...p} defaultValue={initial?.queryPool.id ?? guess(/QUERY|FIND|_QR|QR_/i)} />}
      </Field>
      <Field
        f={f}
        name="receivingPoolId"
        label="Receiving AE (pool)"
        required
        className="sm:col-span-4"
        help={web ? 'Where WADO-RS answers are staged before de-identification.' : 'Calling AE of the retrieve and, for C-MOVE, the destination the PACS must know with Tributary’s host and port.'}
      >
        {(p) => <PoolSelect pools={pools} {...p} defaultValue={initial?.receivingPool.id ?? guess(/RECEIV|RECV|RCV|MOVE|STORE|DEST/i)} />}
      </Field>
      <Field
        f={f}
        name="maxAssociations"
        label={web ? 'Max concurrent requests' : 'Max concurrent associations'}
        required
        className="sm:col-span-3"
        inputClassName="tabular-nums"
        help={<>What the {web ? 'server' : 'PACS'} tolerates at once (1–32).</>}
      >
        {(p) => <input {...p} type="number" min={1} max={32} defaultValue={initial?.maxAssociations ?? 2} />}
      </Field>
      <Field
        f={f}
        name="schedule"
        label="Schedule"
        className="sm:col-span-9"
        inputClassName="font-mono"
        help={
          <>
            <code className="font-mono">hour=18-6 dayOfWeek=*</code> — empty means any time. Hours 0–23, days 0–6 (0 = Sunday), ranges wrap;
            separate several windows with “;”, e.g. <code className="font-mono">hour=18-6 dayOfWeek=1-5; dayOfWeek=0,6</code>. Retrievals wait for the
            window (worker’s local time).
          </>
        }
      >
        {(p) => <input {...p} defaultValue={initial?.schedule ?? ''} autoComplete="off" spellCheck={false} placeholder="hour=18-6 dayOfWeek=*" />}
      </Field>
    </AdminForm>
  );
}

export function PacsSetup({ connector: c, scp }: { connector: ConnectorRow; scp: ScpAddress }) {
  if (c.type === 'DICOMWEB' && c.web) {
    const w = c.web;
    const account = w.authType === 'BASIC' ? `a read-only account (${w.username ?? 'user name'})` : w.authType === 'OAUTH2' ? `an OAuth2 client (${w.username ?? 'client id'}) allowed the client credentials grant${w.scope ? ` with scope ${w.scope}` : ''}` : w.authType === 'BEARER' ? 'a long-lived read-only access token' : null;
    return (
      <p className="text-sm text-slate-700">
        {account ? <>A DICOMweb source needs {account}, allowed to search (QIDO-RS) and retrieve (WADO-RS) at</> : <>A DICOMweb source without authentication: Tributary searches (QIDO-RS) and retrieves (WADO-RS) at</>}{' '}
        <code className="font-mono font-semibold">{w.baseUrl}</code>
        {w.qidoRoot || w.wadoRoot ? <> (QIDO-RS root <code className="font-mono">{w.qidoRoot || '—'}</code>, WADO-RS root <code className="font-mono">{w.wadoRoot || '—'}</code>)</> : null}
        , and network access from Tributary’s worker to that address{w.baseUrl.startsWith('https:') ? ' with the server’s CA certificate if it is not a public one' : ''}. Nothing needs to reach Tributary: the images come back on its own requests. At most {c.maxAssociations} request(s) at a time.
      </p>
    );
  }
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
  const rows = useRowEditing(connectors.length === 0 && pools.length >= 2);
  // A DICOMweb connector needs no device; two pools either way.
  const canCreate = pools.length >= 2;
  const echo = useRowTests();

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
    await rows.remove(c.id, `/connectors/${c.id}`);
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <ManagerHeader count={connectors.length} one="connector" many="connectors" addLabel="New connector" onAdd={!rows.adding && canCreate ? rows.startAdding : undefined} />

      {!canCreate && (
        <EmptyState title="A connector needs a PACS device and two pools">
          Register the PACS on the <Link href="/admin/devices">Devices</Link> page
          {devices.length ? ' (done)' : ''}, and create two infrastructure pools on <Link href="/admin/pools">Manage pools</Link>
          {pools.length >= 2 ? ' (done)' : ''}: one whose AE title queries the PACS, one whose AE title the PACS sends studies to.
        </EmptyState>
      )}

      {rows.adding && (
        <AddSection id="add-connector-title" title="New connector">
          <ConnectorForm devices={devices} pools={pools} onDone={rows.added} onCancel={connectors.length ? rows.stopAdding : undefined} />
        </AddSection>
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
                rows.editing === c.id ? (
                  <FormRow key={c.id} colSpan={8}>
                    <ConnectorForm initial={c} devices={devices} pools={pools} onDone={rows.saved} onCancel={rows.cancelEdit} />
                  </FormRow>
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
                        ) : c.type === 'DICOMWEB' && c.web ? (
                          <>
                            DICOMweb
                            <span className="block break-all font-mono text-xs text-slate-500">{c.web.baseUrl}</span>
                            {c.web.tlsTrustAll && <span className="block text-xs text-amber-700">certificate checks disabled</span>}
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
                        <TestResult t={echo.of(c.id)} okLabel="Connected" />
                      </td>
                      <RowActions onEdit={() => rows.edit(c.id)} onDelete={() => remove(c)} deleting={rows.deleting === c.id}>
                        <button type="button" className="btn btn-sm" onClick={() => echo.test(c.id, `/connectors/${c.id}/echo`)} disabled={echo.testing(c.id)}>
                          {echo.testing(c.id) ? 'Testing…' : 'Test connection'}
                        </button>
                      </RowActions>
                    </tr>
                    {rows.errorOf(c.id) && (
                      <RowAlert colSpan={8}>
                        Could not delete “{c.name}”: {rows.errorOf(c.id)}
                      </RowAlert>
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
