'use client';
/**
 * Spreadsheet upload: the file is checked first (every row validated, nothing runs); the
 * coordinator sees the bad rows with their reasons and runs the valid rows when ready.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { RowCheck, type RowVerdict } from './row-check';

interface Verdict extends RowVerdict {
  fileName: string;
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
      <RowCheck
        verdict={verdict}
        busy={busy}
        canCheck={file !== null}
        checkLabel="Check file"
        checkingLabel="Checking…"
        onSend={(dryRun) => void send(dryRun)}
        error={error}
        panelLabel="File check"
        summary={(v) => <><strong className="tabular-nums">{v.validRows}</strong> valid row{v.validRows === 1 ? '' : 's'}</>}
        invalidNote="(they will be listed on the query; fix them and upload them again)"
      />
    </div>
  );
}
