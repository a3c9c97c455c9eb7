'use client';
/**
 * Database cohort sources: the admin's SELECT against a hospital database, its parameters and
 * column mapping, the connector that retrieves its rows. Validated with the API's own schema;
 * the password is write-only ("set" / "not set").
 */
import { Fragment, useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';
import { EmptyState } from '@/components/ui';
import { cohortSourceInputSchema, DEFAULT_PORT, MAPPED_FIELDS, PARAMETER_TYPES, type MappedField, type ParameterType } from '@/lib/cohorts/schema';
import { AddSection, AdminForm, Check, Field, FormFooter, FormRow, ManagerHeader, RowActions, RowAlert, Spinner, str, useApiAction, useFieldBinder, useRowEditing, useRowTests, type TestState } from './kit';

export interface CohortSourceRow {
  id: string;
  name: string;
  description: string | null;
  driver: 'POSTGRES' | 'MYSQL';
  host: string;
  port: number;
  database: string;
  user: string;
  password: 'set' | 'not set';
  tls: boolean;
  sql: string;
  parameters: { name: string; label: string; type: ParameterType; required: boolean }[];
  mapping: Partial<Record<MappedField, string>>;
  rowCap: number;
  timeoutSeconds: number;
  connector: { id: string; name: string };
}
export interface ConnectorChoice {
  id: string;
  name: string;
  type: string;
}

const KNOWN = ['name', 'description', 'driver', 'host', 'port', 'database', 'user', 'password', 'sql', 'parameters', 'mapping', 'rowCap', 'timeoutSeconds', 'connectorId'];
const EXAMPLE_SQL = `SELECT e.mrn, e.accession_no, e.study_uid, e.modality, e.exam_date
FROM ris.exams e
JOIN ris.diagnoses d ON d.exam_id = e.id
WHERE e.exam_date BETWEEN :from AND :to
  AND d.icd10 = :code`;

type ParamDraft = { key: number; name: string; label: string; type: ParameterType; required: boolean };

export function CohortSourceForm({
  initial,
  connectors,
  onDone,
  onCancel,
}: {
  initial?: CohortSourceRow;
  connectors: ConnectorChoice[];
  onDone: () => void;
  onCancel?: () => void;
}) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const [driver, setDriver] = useState<'POSTGRES' | 'MYSQL'>(initial?.driver ?? 'POSTGRES');
  const [params, setParams] = useState<ParamDraft[]>(
    (initial?.parameters ?? [
      { name: 'from', label: 'Exams from', type: 'date' as const, required: true },
      { name: 'to', label: 'Exams until', type: 'date' as const, required: true },
      { name: 'code', label: 'Diagnosis code (ICD-10)', type: 'text' as const, required: true },
    ]).map((p, i) => ({ ...p, key: i })),
  );

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const password = str(fd.get('password'));
    const mapping = Object.fromEntries((Object.keys(MAPPED_FIELDS) as MappedField[]).map((k) => [k, str(fd.get(`mapping.${k}`))]));
    const v = validate(cohortSourceInputSchema, {
      name: str(fd.get('name')),
      description: str(fd.get('description')),
      driver,
      host: str(fd.get('host')),
      port: str(fd.get('port')),
      database: str(fd.get('database')),
      user: str(fd.get('user')),
      // Write-only: empty keeps the stored password when editing; the box clears it.
      password: fd.get('clearPassword') ? '' : password || (initial ? undefined : null),
      tls: fd.get('tls') === 'on',
      sql: str(fd.get('sql')),
      parameters: params.map(({ name, label, type, required }) => ({ name, label, type, required })),
      mapping,
      rowCap: str(fd.get('rowCap')),
      timeoutSeconds: str(fd.get('timeoutSeconds')),
      connectorId: str(fd.get('connectorId')),
    });
    if (!v.ok) return a.invalid(v.fields);
    const res = await a.run(() =>
      initial ? apiFetch(`/cohort-sources/${initial.id}`, { method: 'PATCH', body: v.data }) : apiFetch('/cohort-sources', { method: 'POST', body: v.data }),
    );
    if (res !== undefined) onDone();
  }

  const setParam = (key: number, patch: Partial<ParamDraft>) => setParams((ps) => ps.map((p) => (p.key === key ? { ...p, ...patch } : p)));

  return (
    <AdminForm
      label={initial ? `Edit cohort source ${initial.name}` : 'Create cohort source'}
      onSubmit={onSubmit}
      onCancel={onCancel}
      footer={
        <FormFooter
          action={a}
          known={[...KNOWN, ...Object.keys(MAPPED_FIELDS).map((k) => `mapping.${k}`)]}
          submitLabel={initial ? 'Save changes' : 'Create cohort source'}
          busyLabel="Checking and saving…"
          onCancel={onCancel}
          note="Saving runs the statement with zero rows asked, and refuses it unless it runs and returns the mapped columns."
        />
      }
    >
      <Field f={f} name="name" label="Name" required className="sm:col-span-4">
        {(p) => <input {...p} defaultValue={initial?.name} autoComplete="off" placeholder="RIS: exams by diagnosis" />}
      </Field>
      <Field f={f} name="description" label="Description (coordinators see it)" className="sm:col-span-8">
        {(p) => <input {...p} defaultValue={initial?.description ?? ''} autoComplete="off" placeholder="Imaging exams of patients with a diagnosis code in a period" />}
      </Field>
      <Field f={f} name="driver" label="Database" required className="sm:col-span-3">
        {(p) => (
          <select {...p} value={driver} onChange={(e) => setDriver(e.target.value as 'POSTGRES' | 'MYSQL')}>
            <option value="POSTGRES">PostgreSQL</option>
            <option value="MYSQL">MySQL / MariaDB</option>
          </select>
        )}
      </Field>
      <Field f={f} name="host" label="Host" required className="sm:col-span-4" inputClassName="font-mono">
        {(p) => <input {...p} defaultValue={initial?.host} autoComplete="off" spellCheck={false} placeholder="ris-db.hospital.local" />}
      </Field>
      <Field f={f} name="port" label="Port" required className="sm:col-span-2" inputClassName="tabular-nums">
        {(p) => <input {...p} type="number" key={driver} defaultValue={initial?.driver === driver ? initial.port : DEFAULT_PORT[driver]} />}
      </Field>
      <Field f={f} name="database" label="Database name" required className="sm:col-span-3" inputClassName="font-mono">
        {(p) => <input {...p} defaultValue={initial?.database} autoComplete="off" spellCheck={false} />}
      </Field>
      <Field f={f} name="user" label="User (read-only)" required className="sm:col-span-3" inputClassName="font-mono">
        {(p) => <input {...p} defaultValue={initial?.user} autoComplete="off" spellCheck={false} />}
      </Field>
      <Field
        f={f}
        name="password"
        label="Password"
        className="sm:col-span-4"
        help={initial?.password === 'set' ? null : 'Stored encrypted; never shown again.'}
        extra={
          initial?.password === 'set' && (
            <Check className="mt-1 flex items-center gap-1 text-xs text-slate-600" name="clearPassword">
              Remove the stored password
            </Check>
          )
        }
      >
        {(p) => <input {...p} type="password" autoComplete="new-password" placeholder={initial?.password === 'set' ? 'set — leave empty to keep it' : 'not set'} />}
      </Field>
      <div className="flex items-end sm:col-span-2">
        <Check className="flex items-center gap-1 text-sm" name="tls" defaultChecked={initial?.tls ?? false}>
          TLS
        </Check>
      </div>
      <Field f={f} name="connectorId" label="Retrieve through" required className="sm:col-span-3">
        {(p) => (
          <select {...p} defaultValue={initial?.connector.id ?? (connectors.length === 1 ? connectors[0].id : '')}>
            <option value="">Choose…</option>
            {connectors.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.type})
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        f={f}
        name="sql"
        label="SELECT statement"
        required
        className="sm:col-span-12"
        inputClassName="font-mono text-xs"
        help={
          <>
            One SELECT (or WITH … SELECT). Write <code className="font-mono">:name</code> where a coordinator’s value goes; values are always bound as
            parameters, never pasted into the text. It runs in a read-only transaction, under the timeout, and at most row cap + 1 rows are fetched.
          </>
        }
      >
        {(p) => <textarea {...p} rows={7} spellCheck={false} defaultValue={initial?.sql ?? ''} placeholder={EXAMPLE_SQL} />}
      </Field>
      <fieldset className="sm:col-span-12">
        <legend className="label">Parameters coordinators fill in</legend>
        <table className="table text-sm" aria-label="Parameters">
          <thead>
            <tr>
              <th>Name (as :name)</th>
              <th>Label</th>
              <th>Type</th>
              <th>Required</th>
              <th className="w-px"><span className="sr-only">Remove</span></th>
            </tr>
          </thead>
          <tbody>
            {params.map((p, i) => (
              <tr key={p.key}>
                <td>
                  <input className="input font-mono" aria-label={`Parameter ${i + 1} name`} value={p.name} onChange={(e) => setParam(p.key, { name: e.target.value })} />
                </td>
                <td>
                  <input className="input" aria-label={`Parameter ${i + 1} label`} value={p.label} onChange={(e) => setParam(p.key, { label: e.target.value })} />
                </td>
                <td>
                  <select className="input" aria-label={`Parameter ${i + 1} type`} value={p.type} onChange={(e) => setParam(p.key, { type: e.target.value as ParameterType })}>
                    {PARAMETER_TYPES.map((t) => (
                      <option key={t} value={t}>{t}</option>
                    ))}
                  </select>
                </td>
                <td>
                  <input type="checkbox" aria-label={`Parameter ${i + 1} required`} checked={p.required} onChange={(e) => setParam(p.key, { required: e.target.checked })} />
                </td>
                <td>
                  <button type="button" className="btn btn-sm" onClick={() => setParams((ps) => ps.filter((x) => x.key !== p.key))}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button
          type="button"
          className="btn btn-sm mt-1"
          onClick={() => setParams((ps) => [...ps, { key: Math.max(0, ...ps.map((x) => x.key)) + 1, name: '', label: '', type: 'text', required: true }])}
        >
          Add parameter
        </button>
        {f.error('parameters')}
      </fieldset>
      <fieldset className="grid grid-cols-1 gap-3 sm:col-span-12 sm:grid-cols-7">
        <legend className="label sm:col-span-7">Result columns (as the SELECT names them)</legend>
        {(Object.entries(MAPPED_FIELDS) as [MappedField, string][]).map(([k, label]) => (
          <Field key={k} f={f} name={`mapping.${k}`} label={label} required={k === 'patientId'} labelClassName="text-xs text-slate-600" inputClassName="font-mono">
            {(p) => <input {...p} defaultValue={initial?.mapping[k] ?? ''} autoComplete="off" spellCheck={false} />}
          </Field>
        ))}
        <div className="sm:col-span-7">{f.error('mapping')}</div>
      </fieldset>
      <Field
        f={f}
        name="rowCap"
        label="Row cap"
        required
        className="sm:col-span-3"
        inputClassName="tabular-nums"
        help="More rows: the coordinator is asked to narrow the parameters."
      >
        {(p) => <input {...p} type="number" min={1} max={50000} defaultValue={initial?.rowCap ?? 5000} />}
      </Field>
      <Field f={f} name="timeoutSeconds" label="Statement timeout (s)" required className="sm:col-span-3" inputClassName="tabular-nums">
        {(p) => <input {...p} type="number" min={1} max={600} defaultValue={initial?.timeoutSeconds ?? 30} />}
      </Field>
    </AdminForm>
  );
}

/** The statement's test: its message, green when it ran and returned the mapped columns. */
function SourceTestResult({ t }: { t: TestState | undefined }) {
  if (!t) return <span className="text-slate-400">not tested</span>;
  if (t.state === 'testing')
    return (
      <span>
        <Spinner /> Testing…
      </span>
    );
  return <span className={t.ok ? 'text-emerald-700' : 'text-rose-700'}>{t.message}</span>;
}

export function CohortSourcesManager({ sources, connectors }: { sources: CohortSourceRow[]; connectors: ConnectorChoice[] }) {
  const rows = useRowEditing();
  const [confirm, confirmDialog] = useConfirm();
  const tests = useRowTests();

  async function remove(s: CohortSourceRow) {
    const ok = await confirm({
      title: `Delete the cohort source “${s.name}”?`,
      body: <>Coordinators can no longer run it. Queries already made from it stay, with their rows and retrievals.</>,
      confirmLabel: 'Delete cohort source',
      danger: true,
    });
    if (!ok) return;
    await rows.remove(s.id, `/cohort-sources/${s.id}`);
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <ManagerHeader count={sources.length} one="cohort source" many="cohort sources" addLabel="New cohort source" onAdd={!rows.adding && connectors.length > 0 ? rows.startAdding : undefined} />
      {connectors.length === 0 && <EmptyState title="A cohort source needs a connector">Create a connector first: it finds and retrieves the studies the database lists.</EmptyState>}
      {rows.adding && (
        <AddSection id="add-cohort-title" title="New database cohort source">
          <CohortSourceForm connectors={connectors} onDone={rows.added} onCancel={rows.stopAdding} />
        </AddSection>
      )}
      {sources.length > 0 && (
        <div className="card overflow-x-auto">
          <table className="table" aria-label="Cohort sources">
            <thead>
              <tr>
                <th>Name</th>
                <th>Database</th>
                <th>Parameters</th>
                <th>Retrieve through</th>
                <th>Test</th>
                <th className="w-px"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {sources.map((s) =>
                rows.editing === s.id ? (
                  <FormRow key={s.id} colSpan={6}>
                    <CohortSourceForm initial={s} connectors={connectors} onDone={rows.saved} onCancel={rows.cancelEdit} />
                  </FormRow>
                ) : (
                  <Fragment key={s.id}>
                    <tr>
                      <td className="font-medium">
                        {s.name}
                        {s.description && <span className="block text-xs font-normal text-slate-500">{s.description}</span>}
                      </td>
                      <td className="font-mono text-xs">
                        {s.driver === 'POSTGRES' ? 'PostgreSQL' : 'MySQL/MariaDB'} {s.user}@{s.host}:{s.port}/{s.database}
                        {s.tls ? ' (TLS)' : ''}
                        <span className="block font-sans text-slate-500">password {s.password} · cap {s.rowCap} rows · {s.timeoutSeconds} s</span>
                      </td>
                      <td className="text-xs">{s.parameters.map((p) => `${p.label} (${p.type})`).join(', ') || 'none'}</td>
                      <td>{s.connector.name}</td>
                      <td className="max-w-xs text-xs" aria-live="polite">
                        <SourceTestResult t={tests.of(s.id)} />
                      </td>
                      <RowActions onEdit={() => rows.edit(s.id)} onDelete={() => remove(s)} deleting={rows.deleting === s.id}>
                        <button type="button" className="btn btn-sm" onClick={() => tests.test(s.id, `/cohort-sources/${s.id}/test`)} disabled={tests.testing(s.id)}>
                          Test
                        </button>
                      </RowActions>
                    </tr>
                    {rows.errorOf(s.id) && <RowAlert colSpan={6}>{rows.errorOf(s.id)}</RowAlert>}
                  </Fragment>
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
      <section className="card p-4" aria-labelledby="dba-title">
        <h2 id="dba-title" className="mb-1">For the database administrator</h2>
        <ul className="list-inside list-disc space-y-1 text-sm text-slate-700">
          <li>
            A <strong>read-only account</strong> for Tributary that may only SELECT the tables or views the statement reads (better: one view made for
            this purpose), e.g. PostgreSQL <code className="font-mono">CREATE ROLE tributary_reader LOGIN PASSWORD '…'; GRANT SELECT ON ris.cohort_view TO tributary_reader;</code>
            {' '}or MariaDB <code className="font-mono">CREATE USER 'tributary_reader'@'&lt;tributary host&gt;' IDENTIFIED BY '…'; GRANT SELECT ON ris.cohort_view TO 'tributary_reader'@'&lt;tributary host&gt;';</code>
          </li>
          <li>Network access from Tributary’s server to the database host and port (firewall, <code className="font-mono">pg_hba.conf</code> / the account’s host part); TLS if the database offers it.</li>
          <li>Tributary runs each statement in a read-only transaction with a statement timeout and a row cap, a few times a day when coordinators ask — not a load on the database.</li>
        </ul>
      </section>
    </div>
  );
}
