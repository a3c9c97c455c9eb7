'use client';
/** The pool's lookup tables: list, upload (CSV or .xlsx, bad rows reported by number), delete. */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';
import { FormAlert, Spinner } from '@/components/admin/kit';

interface TableRow {
  table: string;
  entries: number;
  updatedAt: string | null;
  usedBy: string | null;
}

interface ImportResult {
  kind: 'identity' | 'table';
  tables: string[];
  stored: number;
  mode: 'merge' | 'replace';
  invalid: { rowNumber: number; errors: string[] }[];
  warnings: string[];
}

export function LookupTables({ poolId, tables }: { poolId: string; tables: TableRow[] }) {
  const router = useRouter();
  const [confirm, confirmDialog] = useConfirm();
  const [kind, setKind] = useState<'identity' | 'table'>('identity');
  const [name, setName] = useState('');
  const [mode, setMode] = useState<'merge' | 'replace'>('merge');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [result, setResult] = useState<ImportResult | null>(null);

  async function upload(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setFields({});
    setResult(null);
    if (!file) return setFields({ file: ['Choose a .csv or .xlsx file'] });
    if (kind === 'table' && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name.trim())) return setFields({ table: ['Letters, digits, "-", "_" or ".", at most 64 characters'] });
    if (
      mode === 'replace' &&
      !(await confirm({
        title: `Replace the whole ${kind === 'identity' ? 'research-ID table' : `table “${name.trim()}”`} with this file?`,
        body: <p>Every entry not in the file is removed. Identities already given to stored studies are kept.</p>,
        confirmLabel: 'Replace table',
        danger: true,
      }))
    )
      return;
    const form = new FormData();
    form.set('kind', kind);
    if (kind === 'table') form.set('table', name.trim());
    form.set('mode', mode);
    form.set('file', file);
    setBusy('upload');
    const res = await apiFetch<ImportResult>(`/pools/${poolId}/lookups`, { form });
    setBusy(null);
    if (!res.ok) {
      setFields(res.error.fields ?? {});
      return setError(res.error.message);
    }
    setResult(res.data);
    router.refresh();
  }

  async function remove(table: string) {
    const what = table === 'research-id' || table === 'research-name' ? 'the research-ID and research-name tables' : `the table “${table}”`;
    if (!(await confirm({ title: `Delete ${what}?`, body: <p>Identities already created are kept; new patients get pseudonyms instead.</p>, confirmLabel: 'Delete', danger: true }))) return;
    setBusy(table);
    setError(null);
    const res = await apiFetch(`/pools/${poolId}/lookups/${encodeURIComponent(table)}`, { method: 'DELETE' });
    setBusy(null);
    if (!res.ok) return setError(res.error.message);
    router.refresh();
  }

  const err = (k: string) => fields[k] && <p className="field-error">{fields[k][0]}</p>;

  return (
    <div className="grid gap-5 lg:grid-cols-2">
      {confirmDialog}
      <div>
        {tables.length === 0 ? (
          <p className="text-slate-500">No lookup table yet.</p>
        ) : (
          <table className="table" aria-label="Lookup tables">
            <thead><tr><th>Table</th><th className="text-right">Entries</th><th>Used by</th><th>Updated</th><th><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {tables.map((t) => (
                <tr key={t.table}>
                  <td className="font-mono text-xs">{t.table}</td>
                  <td className="text-right tabular-nums">{t.entries}</td>
                  <td>{t.usedBy ?? <span className="text-slate-400">not used by the rules</span>}</td>
                  <td className="tabular-nums">{t.updatedAt ? t.updatedAt.slice(0, 10) : ''}</td>
                  <td className="text-right">
                    <button type="button" className="btn btn-sm btn-danger" onClick={() => remove(t.table)} disabled={busy !== null}>
                      {busy === t.table ? 'Deleting…' : 'Delete'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>

      <form onSubmit={upload} className="space-y-3" aria-label="Upload a lookup table" noValidate>
        <fieldset className="flex flex-wrap gap-4">
          <legend className="label">Kind</legend>
          <label className="flex items-center gap-1">
            <input type="radio" name="kind" checked={kind === 'identity'} onChange={() => setKind('identity')} /> Research IDs (MRN, ResearchID, ResearchName)
          </label>
          <label className="flex items-center gap-1">
            <input type="radio" name="kind" checked={kind === 'table'} onChange={() => setKind('table')} /> Named table (original, replacement)
          </label>
        </fieldset>
        {kind === 'table' && (
          <div>
            <label className="label" htmlFor="lk-name">Table name (the value of a look up override)</label>
            <input id="lk-name" className={`input font-mono ${fields.table ? 'input-error' : ''}`} value={name} onChange={(e) => setName(e.target.value)} placeholder="sites" autoComplete="off" />
            {err('table')}
          </div>
        )}
        <div>
          <label className="label" htmlFor="lk-file">File (.csv or .xlsx; the first row is a header)</label>
          <input id="lk-file" type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" className="input" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          {err('file')}
          <p className="mt-1 text-xs text-slate-500">
            {kind === 'identity'
              ? 'Header: MRN (or PatientID), ResearchID, and optionally ResearchName. Research IDs: printable ASCII, at most 64 characters, one per MRN.'
              : 'First column: the original value (as it appears in the attribute); second column: its replacement (at most 64 characters).'}
          </p>
        </div>
        <fieldset className="flex gap-4">
          <legend className="label">Mode</legend>
          <label className="flex items-center gap-1"><input type="radio" name="mode" checked={mode === 'merge'} onChange={() => setMode('merge')} /> Merge (add and update rows)</label>
          <label className="flex items-center gap-1"><input type="radio" name="mode" checked={mode === 'replace'} onChange={() => setMode('replace')} /> Replace the table</label>
        </fieldset>
        <FormAlert message={error} />
        <button type="submit" className="btn btn-primary" disabled={busy !== null}>
          {busy === 'upload' && <Spinner />} Upload
        </button>
        {result && (
          <div className="rounded-md border border-slate-200 bg-slate-50 p-3" role="status" aria-label="Upload result">
            <p>
              <strong className="tabular-nums">{result.stored}</strong> {result.kind === 'identity' ? 'MRN(s)' : 'row(s)'} stored ({result.mode})
              {result.invalid.length > 0 && <span className="text-rose-700">, {result.invalid.length} row(s) refused</span>}.
            </p>
            {result.warnings.length > 0 && <ul className="mt-1 list-disc pl-5 text-amber-800">{result.warnings.map((w) => <li key={w}>{w}</li>)}</ul>}
            {result.invalid.length > 0 && (
              <div className="mt-2 max-h-56 overflow-y-auto" tabIndex={0}>
                <table className="table" aria-label="Refused rows">
                  <thead><tr><th>Row</th><th>Why</th></tr></thead>
                  <tbody>{result.invalid.map((r) => <tr key={r.rowNumber}><td className="tabular-nums">{r.rowNumber}</td><td>{r.errors.join(' ')}</td></tr>)}</tbody>
                </table>
              </div>
            )}
          </div>
        )}
      </form>
    </div>
  );
}
