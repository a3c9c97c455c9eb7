'use client';
/**
 * Spreadsheet upload: the file is checked first (every row validated, nothing runs); the
 * coordinator sees the bad rows with their reasons and runs the valid rows when ready.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';

interface Verdict {
  fileName: string;
  validRows: number;
  duplicatesMerged: number;
  invalid: { rowNumber: number; errors: string[] }[];
  warnings: string[];
}

export function SpreadsheetForm({ poolId, connectors }: { poolId: string; connectors: { id: string; name: string; schedule: string | null }[] }) {
  const router = useRouter();
  const [file, setFile] = useState<File | null>(null);
  const [connectorId, setConnectorId] = useState(connectors[0]?.id ?? '');
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<'check' | 'run' | null>(null);

  async function send(dryRun: boolean) {
    if (!file) return setError('Choose a .xlsx or .csv file first.');
    setBusy(dryRun ? 'check' : 'run');
    setError(null);
    const form = new FormData();
    form.set('poolId', poolId);
    form.set('connectorId', connectorId);
    form.set('dryRun', String(dryRun));
    form.set('file', file);
    const res = await apiFetch<{ verdict: Verdict; queryId?: string }>('/queries/spreadsheet', { form });
    setBusy(null);
    if (!res.ok) {
      setVerdict(null);
      return setError(res.error.message);
    }
    setVerdict(res.data.verdict);
    if (res.data.queryId) router.push(`/pools/${poolId}/queries/${res.data.queryId}`);
  }

  return (
    <div className="space-y-3" aria-label="Spreadsheet query">
      <p className="text-slate-600">
        Hundreds of MRNs at once. Start from the <a href="/api/v1/queries/template">Excel template</a> (PatientID formatted as text keeps leading zeros).
      </p>
      <div>
        <label className="label" htmlFor="sheetConnector">Connector</label>
        <select id="sheetConnector" className="input" value={connectorId} onChange={(e) => setConnectorId(e.target.value)}>
          {connectors.map((c) => (
            <option key={c.id} value={c.id}>{c.name}{c.schedule ? ` (retrieves ${c.schedule})` : ''}</option>
          ))}
        </select>
      </div>
      <div>
        <label className="label" htmlFor="sheetFile">Spreadsheet (.xlsx or .csv)</label>
        <input
          id="sheetFile"
          type="file"
          accept=".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"
          className="input"
          onChange={(e) => {
            setFile(e.target.files?.[0] ?? null);
            setVerdict(null);
            setError(null);
          }}
        />
      </div>
      <div className="flex gap-2">
        <button type="button" className="btn" disabled={!file || busy !== null} onClick={() => send(true)}>
          {busy === 'check' ? 'Checking…' : 'Check file'}
        </button>
        {verdict && verdict.validRows > 0 && (
          <button type="button" className="btn btn-primary" disabled={busy !== null} onClick={() => send(false)}>
            {busy === 'run' ? 'Submitting…' : `Run ${verdict.validRows} valid row${verdict.validRows === 1 ? '' : 's'}`}
          </button>
        )}
      </div>
      {error && <p role="alert" className="field-error text-sm">{error}</p>}
      {verdict && (
        <div className="rounded-md border border-slate-200 bg-slate-50 p-3" role="status" aria-label="File check">
          <p>
            <strong className="tabular-nums">{verdict.validRows}</strong> valid row{verdict.validRows === 1 ? '' : 's'}
            {verdict.duplicatesMerged > 0 && <>, {verdict.duplicatesMerged} duplicate{verdict.duplicatesMerged === 1 ? '' : 's'} merged</>}
            {verdict.invalid.length > 0 && <span className="text-rose-700">, {verdict.invalid.length} invalid (they will be listed on the query; fix them and upload them again)</span>}
          </p>
          {verdict.warnings.length > 0 && (
            <ul className="mt-1 list-disc pl-5 text-amber-800">
              {verdict.warnings.map((w) => <li key={w}>{w}</li>)}
            </ul>
          )}
          {verdict.invalid.length > 0 && (
            <div className="mt-2 max-h-56 overflow-y-auto" tabIndex={0}>
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
