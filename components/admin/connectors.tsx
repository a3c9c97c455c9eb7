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
  /** DICOMweb settings (type DICOMWEB); the secret only as "set" / "not set". */
  web?: WebSettings;
}
export interface WebSettings {
  baseUrl: string;
  qidoRoot: string;
  wadoRoot: string;
  wadoUriRoot: string;
  includeField: boolean;
  fuzzyMatching: boolean;
  transferSyntax: string;
  headers: Record<string, string>;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  tlsCa: string | null;
  tlsAllowAnyHost: boolean;
  tlsTrustAll: boolean;
  authType: 'NONE' | 'BASIC' | 'BEARER' | 'OAUTH2';
  username: string | null;
  secret: 'set' | 'not set';
  tokenUrl: string | null;
  scope: string | null;
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
  'webBaseUrl', 'webQidoRoot', 'webWadoRoot', 'webWadoUriRoot', 'webTransferSyntax', 'webHeaders', 'webConnectTimeoutMs', 'webReadTimeoutMs',
  'webTlsCa', 'webTlsTrustAll', 'webAuthType', 'webUsername', 'webSecret', 'webTokenUrl', 'webScope',
];

/** "Name: value" lines to a header map (blank lines skipped; a line without ":" is kept whole as a name, which the schema refuses). */
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

const SECRET_LABEL = { NONE: '', BASIC: 'Password', BEARER: 'Bearer token', OAUTH2: 'Client secret' } as const;

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

type Binder = ReturnType<typeof useFieldBinder>;

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
  const secretSet = initial?.secret === 'set' && initial.authType === authType;
  return (
    <>
      <div className="sm:col-span-4">
        <label className="label" htmlFor={f.id('webBaseUrl')}>Base URL *</label>
        <input {...f.input('webBaseUrl', 'font-mono')} defaultValue={initial?.baseUrl ?? ''} placeholder="https://pacs.example.org/dicom-web" autoComplete="off" spellCheck={false} />
        {f.error('webBaseUrl')}
      </div>
      <div className="sm:col-span-4">
        <label className="label" htmlFor={f.id('webQidoRoot')}>QIDO-RS root</label>
        <input {...f.input('webQidoRoot', 'font-mono')} defaultValue={initial?.qidoRoot ?? ''} placeholder="(the base URL)" autoComplete="off" spellCheck={false} />
        {f.error('webQidoRoot') ?? <p className="mt-1 text-xs text-slate-500">A path under the base URL (e.g. <code>rs</code>) or a full URL.</p>}
      </div>
      <div className="sm:col-span-4">
        <label className="label" htmlFor={f.id('webWadoRoot')}>WADO-RS root</label>
        <input {...f.input('webWadoRoot', 'font-mono')} defaultValue={initial?.wadoRoot ?? ''} placeholder="(the base URL)" autoComplete="off" spellCheck={false} />
        {f.error('webWadoRoot')}
      </div>
      <div className="sm:col-span-4">
        <label className="label" htmlFor={f.id('webWadoUriRoot')}>WADO-URI root</label>
        <input {...f.input('webWadoUriRoot', 'font-mono')} defaultValue={initial?.wadoUriRoot ?? ''} placeholder="(the base URL)" autoComplete="off" spellCheck={false} />
        {f.error('webWadoUriRoot')}
      </div>
      <div className="sm:col-span-4">
        <label className="label" htmlFor={f.id('webTransferSyntax')}>Transfer syntax</label>
        <input {...f.input('webTransferSyntax', 'font-mono')} defaultValue={initial?.transferSyntax ?? '*'} autoComplete="off" spellCheck={false} />
        {f.error('webTransferSyntax') ?? <p className="mt-1 text-xs text-slate-500"><code>*</code> = as stored (no server-side transcoding), or a UID.</p>}
      </div>
      <div className="space-y-1 pt-5 text-sm sm:col-span-4">
        <label className="flex items-center gap-2"><input type="checkbox" name="webIncludeField" defaultChecked={initial?.includeField ?? true} /> QIDO-RS supports includefield</label>
        <label className="flex items-center gap-2"><input type="checkbox" name="webFuzzyMatching" defaultChecked={initial?.fuzzyMatching ?? false} /> Supports fuzzy matching</label>
      </div>
      <div className="sm:col-span-3">
        <label className="label" htmlFor={f.id('webAuthType')}>Authentication</label>
        <select {...f.input('webAuthType')} value={authType} onChange={(e) => setAuthType(e.target.value as WebSettings['authType'])}>
          <option value="NONE">None</option>
          <option value="BASIC">Basic (user name, password)</option>
          <option value="BEARER">Static bearer token</option>
          <option value="OAUTH2">OAuth2 client credentials</option>
        </select>
      </div>
      {(authType === 'BASIC' || authType === 'OAUTH2') && (
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('webUsername')}>{authType === 'BASIC' ? 'User name *' : 'Client id *'}</label>
          <input {...f.input('webUsername')} defaultValue={initial?.username ?? ''} autoComplete="off" />
          {f.error('webUsername')}
        </div>
      )}
      {authType !== 'NONE' && (
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('webSecret')}>{SECRET_LABEL[authType]} *</label>
          <input {...f.input('webSecret')} type="password" autoComplete="new-password" placeholder={secretSet ? 'set — leave empty to keep' : ''} />
          {f.error('webSecret') ?? <p className="mt-1 text-xs text-slate-500">Stored encrypted; never shown again ({secretSet ? 'set' : 'not set'}).</p>}
        </div>
      )}
      {authType === 'OAUTH2' && (
        <>
          <div className="sm:col-span-6">
            <label className="label" htmlFor={f.id('webTokenUrl')}>Token endpoint *</label>
            <input {...f.input('webTokenUrl', 'font-mono')} defaultValue={initial?.tokenUrl ?? ''} placeholder="https://idp.example.org/realms/x/protocol/openid-connect/token" autoComplete="off" spellCheck={false} />
            {f.error('webTokenUrl')}
          </div>
          <div className="sm:col-span-6">
            <label className="label" htmlFor={f.id('webScope')}>Scope</label>
            <input {...f.input('webScope')} defaultValue={initial?.scope ?? ''} autoComplete="off" />
            {f.error('webScope')}
          </div>
        </>
      )}
      <div className="sm:col-span-6">
        <label className="label" htmlFor={f.id('webHeaders')}>Extra HTTP headers</label>
        <textarea {...f.input('webHeaders', 'font-mono')} rows={2} defaultValue={Object.entries(initial?.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n')} placeholder="X-Api-Gateway: research" spellCheck={false} />
        {f.error('webHeaders') ?? <p className="mt-1 text-xs text-slate-500">One “Name: value” per line, sent with every request. Not for secrets (they are shown here): use the authentication.</p>}
      </div>
      <div className="sm:col-span-3">
        <label className="label" htmlFor={f.id('webConnectTimeoutS')}>Connect timeout (s)</label>
        <input {...f.input('webConnectTimeoutS', 'tabular-nums')} type="number" min={1} max={120} defaultValue={(initial?.connectTimeoutMs ?? 10_000) / 1000} />
        {f.error('webConnectTimeoutMs')}
      </div>
      <div className="sm:col-span-3">
        <label className="label" htmlFor={f.id('webReadTimeoutS')}>Read timeout (s)</label>
        <input {...f.input('webReadTimeoutS', 'tabular-nums')} type="number" min={1} max={3600} defaultValue={(initial?.readTimeoutMs ?? 60_000) / 1000} />
        {f.error('webReadTimeoutMs')}
      </div>
      <div className="sm:col-span-6">
        <label className="label" htmlFor={f.id('webTlsCa')}>CA bundle (PEM)</label>
        <textarea {...f.input('webTlsCa', 'font-mono text-xs')} rows={2} defaultValue={initial?.tlsCa ?? ''} placeholder="-----BEGIN CERTIFICATE-----" spellCheck={false} />
        {f.error('webTlsCa') ?? <p className="mt-1 text-xs text-slate-500">The hospital’s CA, trusted besides the public ones (https only).</p>}
      </div>
      <div className="space-y-1 text-sm sm:col-span-6">
        <label className="flex items-center gap-2"><input type="checkbox" name="webTlsAllowAnyHost" defaultChecked={initial?.tlsAllowAnyHost ?? false} /> Allow any host name on the certificate</label>
        <label className="flex items-center gap-2">
          <input type="checkbox" name="webTlsTrustAll" checked={trustAll} onChange={(e) => setTrustAll(e.target.checked)} /> Disable certificate checks (trust any certificate)
        </label>
        {trustAll && (
          <p role="alert" className="rounded border border-amber-300 bg-amber-50 px-2 py-1 text-xs text-amber-900">
            The connection stays encrypted but anyone on the network path can pose as the server and read the credentials and images. Use only for a test, never for patient data.
          </p>
        )}
        {f.error('webTlsTrustAll')}
      </div>
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
    const secret = str(fd.get('webSecret'));
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
        : {}),
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
          <select {...f.input('type')} value={type} onChange={(e) => setType(e.target.value as 'DICOM' | 'DICOMWEB')} disabled={!!initial}>
            <option value="DICOM">DICOM (C-FIND / C-MOVE)</option>
            <option value="DICOMWEB">DICOMweb (QIDO-RS / WADO-RS)</option>
          </select>
          {initial && <p className="mt-1 text-xs text-slate-500">The type is fixed once created.</p>}
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('retrieveMethod')}>Retrieve method</label>
          {web ? (
            <select {...f.input('retrieveMethod')} value="WADORS" disabled>
              <option value="WADORS">WADO-RS</option>
            </select>
          ) : (
            <>
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
            </>
          )}
        </div>
        {web ? (
          <WebFields f={f} initial={initial?.web} authType={authType} setAuthType={setAuthType} trustAll={trustAll} setTrustAll={setTrustAll} />
        ) : (
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
        )}
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('queryPoolId')}>Query AE (pool) *</label>
          <PoolSelect
            pools={pools}
            {...f.input('queryPoolId')}
            defaultValue={initial?.queryPool.id ?? guess(/QUERY|FIND|_QR|QR_/i)}
          />
          {f.error('queryPoolId') ?? <p className="mt-1 text-xs text-slate-500">{web ? 'Not used by DICOMweb queries (kept for a later switch to DICOM).' : 'Calling AE of C-FIND and C-MOVE; the PACS must allow it to query.'}</p>}
        </div>
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('receivingPoolId')}>Receiving AE (pool) *</label>
          <PoolSelect
            pools={pools}
            {...f.input('receivingPoolId')}
            defaultValue={initial?.receivingPool.id ?? guess(/RECEIV|RECV|RCV|MOVE|STORE|DEST/i)}
          />
          {f.error('receivingPoolId') ?? (
            <p className="mt-1 text-xs text-slate-500">
              {web ? 'Where WADO-RS answers are staged before de-identification.' : 'Calling AE of the retrieve and, for C-MOVE, the destination the PACS must know with Tributary’s host and port.'}
            </p>
          )}
        </div>
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('maxAssociations')}>{web ? 'Max concurrent requests *' : 'Max concurrent associations *'}</label>
          <input {...f.input('maxAssociations', 'tabular-nums')} type="number" min={1} max={32} defaultValue={initial?.maxAssociations ?? 2} />
          {f.error('maxAssociations') ?? <p className="mt-1 text-xs text-slate-500">What the {web ? 'server' : 'PACS'} tolerates at once (1–32).</p>}
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
  const router = useRouter();
  // A DICOMweb connector needs no device; two pools either way.
  const canCreate = pools.length >= 2;
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
