'use client';
/**
 * "From a database cohort": the coordinator chooses a source an admin wrote, fills its
 * parameters (checked with the same function as the API), checks the rows (nothing runs), then
 * runs them as a query through the source's connector.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { checkParameterValues, type CohortParameter } from '@/lib/cohorts/schema';

export interface CohortChoice {
  id: string;
  name: string;
  description: string | null;
  parameters: CohortParameter[];
  connector: { name: string };
  rowCap: number;
}

interface Verdict {
  rows: number;
  validRows: number;
  duplicatesMerged: number;
  invalid: { rowNumber: number; errors: string[] }[];
  warnings: string[];
}

const INPUT_TYPE = { date: 'date', number: 'number', text: 'text' } as const;

export function CohortForm({ poolId, sources }: { poolId: string; sources: CohortChoice[] }) {
  const router = useRouter();
  const [sourceId, setSourceId] = useState(sources[0]?.id ?? '');
  const [values, setValues] = useState<Record<string, string>>({});
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<'check' | 'run' | null>(null);
  const source = sources.find((s) => s.id === sourceId);

  async function send(dryRun: boolean) {
    if (!source) return;
    const checked = checkParameterValues(source.parameters, values);
    if (!checked.ok) return setFields(checked.fields);
    setFields({});
    setBusy(dryRun ? 'check' : 'run');
    setError(null);
    const res = await apiFetch<{ verdict: Verdict; queryId?: string }>(`/cohort-sources/${source.id}/run`, { body: { poolId, parameters: values, dryRun } });
    setBusy(null);
    if (!res.ok) {
      setVerdict(null);
      setFields(res.error.fields ?? {});
      return setError(res.error.message);
    }
    setVerdict(res.data.verdict);
    if (res.data.queryId) router.push(`/pools/${poolId}/queries/${res.data.queryId}`);
  }

  return (
    <div className="space-y-3" aria-label="Database cohort query">
      <p className="text-slate-600">A list of patients and exams from a hospital database, chosen by the parameters below. An administrator wrote the query.</p>
      <div>
        <label className="label" htmlFor="cohortSource">Cohort source</label>
        <select
          id="cohortSource"
          className="input"
          value={sourceId}
          onChange={(e) => {
            setSourceId(e.target.value);
            setValues({});
            setVerdict(null);
            setError(null);
            setFields({});
          }}
        >
          {sources.map((s) => (
            <option key={s.id} value={s.id}>{s.name}</option>
          ))}
        </select>
        {source?.description && <p className="mt-1 text-xs text-slate-500">{source.description}</p>}
        {source && <p className="mt-1 text-xs text-slate-500">Retrieves through {source.connector.name}; at most {source.rowCap} rows.</p>}
      </div>
      {source?.parameters.map((p) => (
        <div key={p.name}>
          <label className="label" htmlFor={`cohort-${p.name}`}>
            {p.label}
            {p.required ? ' *' : ''}
          </label>
          <input
            id={`cohort-${p.name}`}
            type={INPUT_TYPE[p.type]}
            className={`input ${fields[p.name] ? 'input-error' : ''}`}
            aria-invalid={fields[p.name] ? true : undefined}
            value={values[p.name] ?? ''}
            onChange={(e) => {
              setValues((v) => ({ ...v, [p.name]: e.target.value }));
              setVerdict(null);
            }}
          />
          {fields[p.name] && <p className="field-error">{fields[p.name].join(' ')}</p>}
        </div>
      ))}
      <div className="flex gap-2">
        <button type="button" className="btn" disabled={!source || busy !== null} onClick={() => send(true)}>
          {busy === 'check' ? 'Asking the database…' : 'Check rows'}
        </button>
        {verdict && verdict.validRows > 0 && (
          <button type="button" className="btn btn-primary" disabled={busy !== null} onClick={() => send(false)}>
            {busy === 'run' ? 'Submitting…' : `Run ${verdict.validRows} valid row${verdict.validRows === 1 ? '' : 's'}`}
          </button>
        )}
      </div>
      {error && <p role="alert" className="field-error text-sm">{error}</p>}
      {verdict && (
        <div className="rounded-md border border-slate-200 bg-slate-50 p-3" role="status" aria-label="Cohort check">
          <p>
            The database returned <strong className="tabular-nums">{verdict.rows}</strong> row{verdict.rows === 1 ? '' : 's'}:{' '}
            <strong className="tabular-nums">{verdict.validRows}</strong> valid
            {verdict.duplicatesMerged > 0 && <>, {verdict.duplicatesMerged} duplicate{verdict.duplicatesMerged === 1 ? '' : 's'} merged</>}
            {verdict.invalid.length > 0 && <span className="text-rose-700">, {verdict.invalid.length} invalid (listed on the query)</span>}
          </p>
          {verdict.invalid.length > 0 && (
            <div className="mt-2 max-h-56 overflow-y-auto">
              <table className="table" aria-label="Invalid rows">
                <thead><tr><th>Row</th><th>Why</th></tr></thead>
                <tbody>
                  {verdict.invalid.map((r) => (
                    <tr key={r.rowNumber}><td className="tabular-nums">{r.rowNumber}</td><td>{r.errors.join(' ')}</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
