'use client';
/**
 * "From a database cohort": the coordinator chooses a source an admin wrote, fills its
 * parameters (checked with the same function as the API), checks the rows (nothing runs), then
 * runs them as a query through the source's connector.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { RowCheck, type RowVerdict } from './row-check';
import { checkParameterValues, type CohortParameter } from '@/lib/cohorts/schema';

export interface CohortChoice {
  id: string;
  name: string;
  description: string | null;
  parameters: CohortParameter[];
  connector: { name: string };
  rowCap: number;
}

interface Verdict extends RowVerdict {
  rows: number;
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
      <RowCheck
        verdict={verdict}
        busy={busy}
        canCheck={source !== undefined}
        checkLabel="Check rows"
        checkingLabel="Asking the database…"
        onSend={(dryRun) => void send(dryRun)}
        error={error}
        panelLabel="Cohort check"
        summary={(v) => (
          <>
            The database returned <strong className="tabular-nums">{verdict?.rows ?? 0}</strong> row{verdict?.rows === 1 ? '' : 's'}:{' '}
            <strong className="tabular-nums">{v.validRows}</strong> valid
          </>
        )}
        invalidNote="(listed on the query)"
      />
    </div>
  );
}
