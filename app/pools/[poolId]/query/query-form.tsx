'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { queryRowSchema } from '@/lib/excel/schema';

function toDicomDate(v: FormDataEntryValue | null): string | undefined {
  const s = typeof v === 'string' ? v.trim() : '';
  return s ? s.replaceAll('-', '') : undefined;
}
function opt(v: FormDataEntryValue | null): string | undefined {
  const s = typeof v === 'string' ? v.trim() : '';
  return s || undefined;
}

export function QueryForm({ poolId, connectors }: { poolId: string; connectors: { id: string; name: string; schedule: string | null }[] }) {
  const router = useRouter();
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const row = {
      patientId: opt(f.get('patientId')) ?? '',
      accessionNumber: opt(f.get('accessionNumber')),
      modality: opt(f.get('modality')),
      studyDateFrom: toDicomDate(f.get('studyDateFrom')),
      studyDateTo: toDicomDate(f.get('studyDateTo')),
    };
    const v = validate(queryRowSchema, row);
    if (!v.ok) {
      setFields(v.fields);
      return;
    }
    setFields({});
    setError(null);
    setBusy(true);
    const res = await apiFetch<{ id: string }>('/queries', { body: { poolId, connectorId: f.get('connectorId'), items: [v.data] } });
    setBusy(false);
    if (!res.ok) {
      setError(res.error.message);
      setFields(Object.fromEntries(Object.entries(res.error.fields ?? {}).map(([k, m]) => [k.replace(/^items\.0\./, ''), m])));
      return;
    }
    router.push(`/pools/${poolId}/queries/${res.data.id}`);
  }

  const err = (k: string) => fields[k]?.map((m) => <p key={m} className="field-error">{m}</p>);
  return (
    <form onSubmit={onSubmit} className="space-y-3" noValidate aria-label="New query">
      <div>
        <label className="label" htmlFor="connectorId">Connector</label>
        <select id="connectorId" name="connectorId" className="input" defaultValue={connectors[0]?.id}>
          {connectors.map((c) => (
            <option key={c.id} value={c.id}>{c.name}{c.schedule ? ` (retrieves ${c.schedule})` : ''}</option>
          ))}
        </select>
        {err('connectorId')}
      </div>
      <div>
        <label className="label" htmlFor="patientId">MRN (Patient ID) *</label>
        <input id="patientId" name="patientId" className={`input font-mono ${fields.patientId ? 'input-error' : ''}`} autoComplete="off" required autoFocus />
        {err('patientId')}
      </div>
      <div className="grid grid-cols-2 gap-2">
        <div>
          <label className="label" htmlFor="accessionNumber">Accession number</label>
          <input id="accessionNumber" name="accessionNumber" className="input" autoComplete="off" />
          {err('accessionNumber')}
        </div>
        <div>
          <label className="label" htmlFor="modality">Modality</label>
          <input id="modality" name="modality" className="input uppercase" placeholder="CT, MR…" autoComplete="off" />
          {err('modality')}
        </div>
        <div>
          <label className="label" htmlFor="studyDateFrom">Study date from</label>
          <input id="studyDateFrom" name="studyDateFrom" type="date" className="input" />
          {err('studyDateFrom')}
        </div>
        <div>
          <label className="label" htmlFor="studyDateTo">to</label>
          <input id="studyDateTo" name="studyDateTo" type="date" className="input" />
          {err('studyDateTo')}
        </div>
      </div>
      {error && <p role="alert" className="field-error text-sm">{error}</p>}
      <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Submitting…' : 'Run query'}</button>
    </form>
  );
}
