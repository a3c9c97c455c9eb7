'use client';
/**
 * Small client-side building blocks shared by the admin and account forms: one hook that runs
 * an API call with busy/error/field-error state, the bits that render those errors next to
 * their inputs, and the rows the admin forms (devices, connectors, destinations, cohort sources,
 * exporters) are made of: a labelled field, a checkbox, a write-only secret, the HTTP
 * authentication, request and TLS blocks of a DICOMweb peer, and the footer with its buttons;
 * then the pieces of the tables that list them (add, edit in place, test, delete). Only
 * browser-safe imports here.
 */
import { useRouter } from 'next/navigation';
import { useCallback, useId, useState, type ReactNode } from 'react';
import { apiFetch, type ApiResult } from '@/components/api-client';
import type { HTTP_AUTH_TYPES } from '@/lib/connectors/schema';

export type Fields = Record<string, string[]>;

/**
 * One message per field: the first problem zod (or the API) found, which is the one to fix first
 * ("required" rather than "required. too short. not a host name."). Forms show it under the input.
 */
export function oneMessagePerField(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, m]) => m.length).map(([k, m]) => [k, [m[0]]]));
}

/** The field errors without `key`'s (and its parts', e.g. "mapping.patientId" for "mapping"). */
export function withoutField(fields: Fields, key: string): Fields {
  const rest = Object.entries(fields).filter(([k]) => k !== key && !k.startsWith(`${key}.`));
  return rest.length === Object.keys(fields).length ? fields : Object.fromEntries(rest);
}

export function useApiAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Fields>({});

  const reset = useCallback(() => {
    setError(null);
    setFields({});
  }, []);

  /** Runs the call; returns the data on success, undefined on failure (error and fields are set). */
  const run = useCallback(async <T,>(call: () => Promise<ApiResult<T>>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    setFields({});
    try {
      const res = await call();
      if (!res.ok) {
        setError(res.error.message);
        setFields(oneMessagePerField(res.error.fields ?? {}));
        return undefined;
      }
      return res.data;
    } finally {
      setBusy(false);
    }
  }, []);

  /** Client-side validation failed: show the field errors without calling the API. */
  const invalid = useCallback((f: Fields) => {
    setError(null);
    setFields(oneMessagePerField(f));
  }, []);

  /** The user changed the field: its message no longer applies. */
  const clearField = useCallback((key: string) => setFields((f) => withoutField(f, key)), []);

  return { busy, error, fields, run, reset, invalid, setError, clearField };
}

export type ApiAction = ReturnType<typeof useApiAction>;

/**
 * Props that bind an input to its label and its error message:
 * `<label htmlFor={f.id('name')}>` … `<input {...f.input('name')} />` … `{f.error('name')}`.
 * `errorKey` names the error when it is not the input's own name (an input in seconds whose
 * schema field is in milliseconds).
 */
export function useFieldBinder(fields: Fields) {
  const prefix = useId();
  const id = (name: string) => `${prefix}-${name}`;
  return {
    id,
    /** The field an element of the form stands for: the name its id was made from, else its name. */
    keyOf: (el: { id?: string; name?: string } | null): string | undefined =>
      el?.id?.startsWith(`${prefix}-`) ? el.id.slice(prefix.length + 1) : el?.name || undefined,
    input: (name: string, className = '', errorKey = name) => ({
      id: id(name),
      name,
      className: `input ${className} ${fields[errorKey] ? 'input-error' : ''}`.trim(),
      'aria-invalid': fields[errorKey] ? true : undefined,
      'aria-describedby': fields[errorKey] ? `${id(errorKey)}-error` : undefined,
    }),
    error: (name: string) =>
      fields[name] ? (
        <p id={`${id(name)}-error`} className="field-error">
          {fields[name][0]}
        </p>
      ) : null,
  };
}

export type Binder = ReturnType<typeof useFieldBinder>;
export type ControlProps = Omit<ReturnType<Binder['input']>, 'aria-describedby'> & { 'aria-describedby'?: string };

/**
 * A labelled field: its label (" *" when required), the control the children render with the
 * props they are given (id, name, class, aria-invalid, aria-describedby), then a hint that always
 * shows, and the field's one error message or, when it has none, its help text. The control is
 * described by the hint and by whichever of the error and the help shows.
 */
export function Field({
  f,
  name,
  label,
  required = false,
  help,
  hint,
  errorKey = name,
  extra,
  className,
  labelClassName = 'label',
  inputClassName = '',
  children,
}: {
  f: Binder;
  name: string;
  label: ReactNode;
  required?: boolean;
  /** Under the control while the field has no error. */
  help?: ReactNode;
  /** Under the control always, before the error. */
  hint?: ReactNode;
  errorKey?: string;
  /** Under the control while the field has no error, after the help: a control of its own (e.g. "remove the stored password"). */
  extra?: ReactNode;
  /** The row's classes (its grid columns). */
  className?: string;
  labelClassName?: string;
  inputClassName?: string;
  children: (props: ControlProps) => ReactNode;
}) {
  const id = f.id(name);
  const error = f.error(errorKey);
  const helpShown = !error && help != null && help !== false;
  const hintShown = hint != null && hint !== false;
  const describedBy = [hintShown && `${id}-hint`, error ? `${f.id(errorKey)}-error` : helpShown && `${id}-help`].filter(Boolean).join(' ');
  return (
    <div className={className}>
      <label className={labelClassName} htmlFor={id}>
        {required ? (typeof label === 'string' ? `${label} *` : <>{label} *</>) : label}
      </label>
      {children({ ...f.input(name, inputClassName, errorKey), 'aria-describedby': describedBy || undefined })}
      {hintShown && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-slate-500">
          {hint}
        </p>
      )}
      {error ?? (
        <>
          {helpShown && (
            <p id={`${id}-help`} className="mt-1 text-xs text-slate-500">
              {help}
            </p>
          )}
          {extra}
        </>
      )}
    </div>
  );
}

/** A checkbox and its text in one label. */
export function Check({ children, className = 'flex items-center gap-2', ...input }: { children: ReactNode; className?: string } & Omit<React.InputHTMLAttributes<HTMLInputElement>, 'type' | 'children' | 'className'> & { inputClassName?: string }) {
  const { inputClassName, ...rest } = input;
  return (
    <label className={className} htmlFor={rest.id}>
      <input type="checkbox" className={inputClassName} {...rest} /> {children}
    </label>
  );
}

/** A write-only secret: typed in, stored encrypted, shown only as "set" / "not set"; empty keeps it. */
export function SecretField({
  f,
  name,
  inputName = name,
  label,
  state,
  className,
}: {
  f: Binder;
  /** The field (its id and error); `inputName` is what the form data calls it, when different. */
  name: string;
  inputName?: string;
  label: string;
  state: 'set' | 'not set' | undefined;
  className?: string;
}) {
  const set = state === 'set';
  return (
    <Field f={f} name={name} label={label} required className={className} help={<>Stored encrypted; never shown again ({set ? 'set' : 'not set'}).</>}>
      {(p) => <input {...p} name={inputName} type="password" autoComplete="new-password" placeholder={set ? 'set — leave empty to keep' : ''} />}
    </Field>
  );
}

/** "Disable certificate checks" and, while it is ticked, why not to. */
export function TrustAllCheck({ name, checked, onChange, children, warning }: { name: string; checked: boolean; onChange: (v: boolean) => void; children: ReactNode; warning: ReactNode }) {
  return (
    <>
      <Check name={name} checked={checked} onChange={(e) => onChange(e.target.checked)}>
        {children}
      </Check>
      {checked && (
        <p role="alert" className="rounded border border-amber-300 bg-amber-50 px-2 py-1 text-xs text-amber-900">
          {warning}
        </p>
      )}
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// A DICOMweb peer's HTTP connection (a connector's source, a destination's archive): the
// authentication, extra headers, timeouts and TLS, with the same field names in both forms.

export type HttpAuthType = (typeof HTTP_AUTH_TYPES)[number];

/** What the form starts from: the stored settings, the secret only as its state. */
export interface HttpConnectionSettings {
  headers: Record<string, string>;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  tlsCa: string | null;
  tlsAllowAnyHost: boolean;
  tlsTrustAll: boolean;
  authType: HttpAuthType;
  username: string | null;
  secret: 'set' | 'not set';
  tokenUrl: string | null;
  scope: string | null;
}

/** The schema's names of those fields (for OtherFieldErrors' `known`). */
export const HTTP_CONNECTION_FIELDS = [
  'webHeaders', 'webConnectTimeoutMs', 'webReadTimeoutMs', 'webTlsCa', 'webTlsAllowAnyHost', 'webTlsTrustAll',
  'webAuthType', 'webUsername', 'webSecret', 'webTokenUrl', 'webScope',
];

const SECRET_LABEL = { BASIC: 'Password', BEARER: 'Bearer token', OAUTH2: 'Client secret' } as const;

/** "Name: value" lines to a header map (blank lines skipped; a line without ":" is kept whole as a name, which the schema refuses). */
export function parseHeaderLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const i = line.indexOf(':');
    if (i < 0) out[line.trim()] = '';
    else out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function str(v: FormDataEntryValue | null): string {
  return typeof v === 'string' ? v : '';
}

/** The connection's fields from the form, as the schemas take them; an empty secret keeps the stored one. */
export function readHttpConnection(fd: FormData, authType: HttpAuthType) {
  const secret = str(fd.get('webSecret'));
  return {
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
  };
}

/** None / basic / bearer / OAuth2 client credentials, and the fields each needs. */
export function HttpAuthFields({
  f,
  initial,
  authType,
  onAuthType,
  column,
}: {
  f: Binder;
  initial?: Pick<HttpConnectionSettings, 'authType' | 'username' | 'secret' | 'tokenUrl' | 'scope'>;
  authType: HttpAuthType;
  onAuthType: (t: HttpAuthType) => void;
  /** The grid columns of the type, the user name and the secret (the token URL and scope take six each). */
  column: string;
}) {
  // The stored secret belongs to the stored type: switching type asks for a new one.
  const secretState = initial?.authType === authType ? initial.secret : undefined;
  return (
    <>
      <Field f={f} name="webAuthType" label="Authentication" className={column}>
        {(p) => (
          <select {...p} value={authType} onChange={(e) => onAuthType(e.target.value as HttpAuthType)}>
            <option value="NONE">None</option>
            <option value="BASIC">Basic (user name, password)</option>
            <option value="BEARER">Static bearer token</option>
            <option value="OAUTH2">OAuth2 client credentials</option>
          </select>
        )}
      </Field>
      {(authType === 'BASIC' || authType === 'OAUTH2') && (
        <Field f={f} name="webUsername" label={authType === 'BASIC' ? 'User name' : 'Client id'} required className={column}>
          {(p) => <input {...p} defaultValue={initial?.username ?? ''} autoComplete="off" />}
        </Field>
      )}
      {authType !== 'NONE' && <SecretField f={f} name="webSecret" label={SECRET_LABEL[authType]} state={secretState} className={column} />}
      {authType === 'OAUTH2' && (
        <>
          <Field f={f} name="webTokenUrl" label="Token endpoint" required className="sm:col-span-6" inputClassName="font-mono">
            {(p) => <input {...p} defaultValue={initial?.tokenUrl ?? ''} placeholder="https://idp.example.org/realms/x/protocol/openid-connect/token" autoComplete="off" spellCheck={false} />}
          </Field>
          <Field f={f} name="webScope" label="Scope" className="sm:col-span-6">
            {(p) => <input {...p} defaultValue={initial?.scope ?? ''} autoComplete="off" />}
          </Field>
        </>
      )}
    </>
  );
}

/** Extra headers and the connect and read timeouts (entered in seconds, stored in milliseconds). */
export function HttpRequestFields({ f, initial, headersHelp }: { f: Binder; initial?: Pick<HttpConnectionSettings, 'headers' | 'connectTimeoutMs' | 'readTimeoutMs'>; headersHelp: ReactNode }) {
  return (
    <>
      <Field f={f} name="webHeaders" label="Extra HTTP headers" className="sm:col-span-6" inputClassName="font-mono" help={headersHelp}>
        {(p) => (
          <textarea
            {...p}
            rows={2}
            defaultValue={Object.entries(initial?.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n')}
            placeholder="X-Api-Gateway: research"
            spellCheck={false}
          />
        )}
      </Field>
      <Field f={f} name="webConnectTimeoutS" errorKey="webConnectTimeoutMs" label="Connect timeout (s)" className="sm:col-span-3" inputClassName="tabular-nums">
        {(p) => <input {...p} type="number" min={1} max={120} defaultValue={(initial?.connectTimeoutMs ?? 10_000) / 1000} />}
      </Field>
      <Field f={f} name="webReadTimeoutS" errorKey="webReadTimeoutMs" label="Read timeout (s)" className="sm:col-span-3" inputClassName="tabular-nums">
        {(p) => <input {...p} type="number" min={1} max={3600} defaultValue={(initial?.readTimeoutMs ?? 60_000) / 1000} />}
      </Field>
    </>
  );
}

/**
 * The TLS block: a CA bundle trusted besides the public ones, "allow any host name", and
 * "disable certificate checks" with its warning. `legend` groups the two checkboxes in a fieldset.
 */
export function HttpTlsFields({
  f,
  initial,
  trustAll,
  onTrustAll,
  caHelp,
  warning,
  legend,
}: {
  f: Binder;
  initial?: Pick<HttpConnectionSettings, 'tlsCa' | 'tlsAllowAnyHost'>;
  trustAll: boolean;
  onTrustAll: (v: boolean) => void;
  caHelp: ReactNode;
  warning: ReactNode;
  legend?: string;
}) {
  const checks = (
    <>
      <Check name="webTlsAllowAnyHost" defaultChecked={initial?.tlsAllowAnyHost ?? false}>
        Allow any host name on the certificate
      </Check>
      <TrustAllCheck name="webTlsTrustAll" checked={trustAll} onChange={onTrustAll} warning={warning}>
        Disable certificate checks (trust any certificate)
      </TrustAllCheck>
      {f.error('webTlsTrustAll')}
    </>
  );
  return (
    <>
      <Field f={f} name="webTlsCa" label="CA bundle (PEM)" className="sm:col-span-6" inputClassName="font-mono text-xs" help={caHelp}>
        {(p) => <textarea {...p} rows={2} defaultValue={initial?.tlsCa ?? ''} placeholder="-----BEGIN CERTIFICATE-----" spellCheck={false} />}
      </Field>
      {legend ? (
        <fieldset className="space-y-1 text-sm sm:col-span-6">
          <legend className="label">{legend}</legend>
          {checks}
        </fieldset>
      ) : (
        <div className="space-y-1 text-sm sm:col-span-6">{checks}</div>
      )}
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// The form around the fields, and its footer.

/**
 * An admin form: a twelve-column grid of fields, then the footer. Escape cancels; the browser's
 * own validation is off (the schema's messages show next to the fields instead).
 */
export function AdminForm({
  label,
  onSubmit,
  onCancel,
  onChange,
  footer,
  children,
}: {
  label: string;
  onSubmit: (e: React.FormEvent<HTMLFormElement>) => void;
  onCancel?: () => void;
  onChange?: (e: React.FormEvent<HTMLFormElement>) => void;
  footer: ReactNode;
  children: ReactNode;
}) {
  return (
    <form onSubmit={onSubmit} onKeyDown={escapeCancels(onCancel)} onChange={onChange} noValidate aria-label={label} className="space-y-3">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-12">{children}</div>
      {footer}
    </form>
  );
}

/** A form's onChange that takes back the message of the field that changed (one message per field, and only while it applies). */
export function clearsFieldErrors(a: Pick<ApiAction, 'clearField'>, f: Pick<Binder, 'keyOf'>) {
  return (e: React.FormEvent<HTMLFormElement>) => {
    const key = f.keyOf(e.target as HTMLInputElement);
    if (key) a.clearField(key);
  };
}

/**
 * The footer: errors no field shows, the form's error, then save (busy while the call runs),
 * cancel, any further buttons (e.g. a test), and a note ("Esc cancels" when the form can be cancelled).
 */
export function FormFooter({
  action,
  known,
  submitLabel,
  busyLabel = 'Saving…',
  onCancel,
  note,
  children,
}: {
  action: Pick<ApiAction, 'busy' | 'error' | 'fields'>;
  /** The fields the form shows errors next to. */
  known: string[];
  submitLabel: string;
  busyLabel?: string;
  onCancel?: () => void;
  note?: ReactNode;
  children?: ReactNode;
}) {
  return (
    <>
      <OtherFieldErrors fields={action.fields} known={known} />
      <FormAlert message={action.error} />
      <div className="flex items-center gap-2">
        <button type="submit" className="btn btn-primary" disabled={action.busy}>
          {action.busy ? busyLabel : submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel} disabled={action.busy}>
            Cancel
          </button>
        )}
        {children}
        {note !== undefined ? <span className="text-xs text-slate-500">{note}</span> : onCancel && <span className="text-xs text-slate-500">Esc cancels</span>}
      </div>
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// The managers' tables: a row is edited in place (its form in a full-width row), deleted after a
// confirmation, and a failed delete is told under it.

/** Whether a new row is being added, which row is being edited or deleted, and the failed delete's message. */
export function useRowEditing(initiallyAdding = false) {
  const router = useRouter();
  const [adding, setAdding] = useState(initiallyAdding);
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  return {
    router,
    adding,
    startAdding: () => setAdding(true),
    stopAdding: () => setAdding(false),
    /** The new row was saved: close the form, show the server's rows. */
    added: () => {
      setAdding(false);
      router.refresh();
    },
    editing,
    deleting,
    /** The failed delete's message when it was this row's. */
    errorOf: (id: string) => (rowError?.id === id ? rowError.message : null),
    edit: (id: string) => {
      setRowError(null);
      setEditing(id);
    },
    cancelEdit: () => setEditing(null),
    /** The edit was saved: close the form, show the server's rows. */
    saved: () => {
      setEditing(null);
      router.refresh();
    },
    /** DELETE `path` (under /api/v1) for the row; the error shows under the row. */
    async remove(id: string, path: string) {
      setDeleting(id);
      setRowError(null);
      const res = await apiFetch(path, { method: 'DELETE' });
      setDeleting(null);
      if (!res.ok) return setRowError({ id, message: res.error.message });
      router.refresh();
    },
  };
}

/** A row's test (a C-ECHO, a request to the archive, a query with no rows): running, or its answer. */
export type TestState = { state: 'testing' } | { state: 'done'; ok: boolean; message: string };

/** Each row's last test; `test` POSTs to `path` (under /api/v1), which answers { ok, message }. */
export function useRowTests() {
  const [tests, setTests] = useState<Record<string, TestState>>({});
  const test = useCallback(async (id: string, path: string) => {
    setTests((s) => ({ ...s, [id]: { state: 'testing' } }));
    const res = await apiFetch<{ ok: boolean; message: string }>(path, { method: 'POST' });
    setTests((s) => ({ ...s, [id]: res.ok ? { state: 'done', ok: res.data.ok, message: res.data.message } : { state: 'done', ok: false, message: res.error.message } }));
  }, []);
  return { of: (id: string): TestState | undefined => tests[id], testing: (id: string) => tests[id]?.state === 'testing', test };
}

/** The test's state in a row: not tested, testing, or "● <okLabel>: …" / "● Failed: …". */
export function TestResult({ t, okLabel }: { t: TestState | undefined; okLabel: string }) {
  if (!t) return <span className="text-slate-500">not tested</span>;
  if (t.state === 'testing')
    return (
      <span className="text-slate-600">
        <Spinner /> Testing…
      </span>
    );
  return t.ok ? (
    <span className="text-emerald-700">
      <span aria-hidden="true">●</span> {okLabel}: {t.message}
    </span>
  ) : (
    <span className="text-rose-700">
      <span aria-hidden="true">●</span> Failed: {t.message}
    </span>
  );
}

/** Above a manager's table: how many rows there are, and the button that opens the new row's form (when `onAdd`). */
export function ManagerHeader({ count, one, many, addLabel, onAdd }: { count: number; one: string; many: string; addLabel: string; onAdd?: () => void }) {
  return (
    <div className="flex items-center justify-between">
      <span className="tabular-nums text-slate-500">
        {count} {count === 1 ? one : many}
      </span>
      {onAdd && (
        <button type="button" className="btn btn-primary" onClick={onAdd}>
          {addLabel}
        </button>
      )}
    </div>
  );
}

/** The new row's form in a titled card. */
export function AddSection({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section className="card p-4" aria-labelledby={id}>
      <h2 id={id} className="mb-3">
        {title}
      </h2>
      {children}
    </section>
  );
}

/** A full-width table row holding a form (a row being edited). */
export function FormRow({ colSpan, children }: { colSpan: number; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={colSpan} className="bg-sky-50/40 py-3">
        {children}
      </td>
    </tr>
  );
}

/** A full-width table row telling what went wrong with the row above. */
export function RowAlert({ colSpan, children }: { colSpan: number; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={colSpan} className="bg-rose-50/60">
        <p role="alert" className="text-sm text-rose-800">
          {children}
        </p>
      </td>
    </tr>
  );
}

/** The row's buttons: any of its own (e.g. a test) first, then Edit and Delete; `label` names the row to assistive technology ("Edit destination X"). */
export function RowActions({ label, onEdit, onDelete, deleting, children }: { label?: string; onEdit: () => void; onDelete: () => void; deleting: boolean; children?: ReactNode }) {
  return (
    <td className="whitespace-nowrap text-right">
      {children}
      {children ? ' ' : null}
      <button type="button" className="btn btn-sm" onClick={onEdit} aria-label={label && `Edit ${label}`}>
        Edit
      </button>{' '}
      <button type="button" className="btn btn-sm btn-danger" onClick={onDelete} disabled={deleting} aria-label={label && `Delete ${label}`}>
        {deleting ? 'Deleting…' : 'Delete'}
      </button>
    </td>
  );
}

/** Errors the form cannot attach to one of its inputs (e.g. "members.0.role"). */
export function OtherFieldErrors({ fields, known }: { fields: Fields; known: string[] }) {
  const rest = Object.entries(fields).filter(([k]) => !known.includes(k));
  if (!rest.length) return null;
  return (
    <ul className="field-error list-inside list-disc">
      {rest.map(([k, m]) => (
        <li key={k}>
          {k === '_' ? '' : `${k}: `}
          {m[0]}
        </li>
      ))}
    </ul>
  );
}

export function FormAlert({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-2.5 py-1.5 text-sm text-rose-800">
      {message}
    </p>
  );
}

export function Spinner({ className = '' }: { className?: string }) {
  return (
    <span
      aria-hidden="true"
      className={`inline-block h-3.5 w-3.5 animate-spin rounded-full border-2 border-current border-r-transparent align-[-2px] ${className}`}
    />
  );
}

/** Escape cancels an edit form. */
export function escapeCancels(onCancel?: () => void) {
  return (e: React.KeyboardEvent) => {
    if (e.key === 'Escape' && onCancel) {
      e.preventDefault();
      onCancel();
    }
  };
}
