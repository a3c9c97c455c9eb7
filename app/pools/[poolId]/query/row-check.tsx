'use client';
/**
 * What the spreadsheet and the database-cohort forms share: "Check" (every row validated,
 * nothing runs), then "Run N valid rows", and the check's verdict with the invalid rows and why.
 */
import type { ReactNode } from 'react';

export interface RowVerdict {
  validRows: number;
  duplicatesMerged: number;
  invalid: { rowNumber: number; errors: string[] }[];
  warnings: string[];
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

export function RowCheck({
  verdict,
  busy,
  canCheck,
  checkLabel,
  checkingLabel,
  onSend,
  error,
  panelLabel,
  summary,
  invalidNote,
}: {
  verdict: RowVerdict | null;
  busy: 'check' | 'run' | null;
  canCheck: boolean;
  checkLabel: string;
  checkingLabel: string;
  onSend: (dryRun: boolean) => void;
  error: string | null;
  /** The verdict panel's accessible name ("File check", "Cohort check"). */
  panelLabel: string;
  /** The first words of the verdict, before ", N duplicates merged, M invalid". */
  summary: (v: RowVerdict) => ReactNode;
  /** Said after "M invalid", e.g. "(listed on the query)". */
  invalidNote: string;
}) {
  return (
    <>
      <div className="flex gap-2">
        <button type="button" className="btn" disabled={!canCheck || busy !== null} onClick={() => onSend(true)}>
          {busy === 'check' ? checkingLabel : checkLabel}
        </button>
        {verdict && verdict.validRows > 0 && (
          <button type="button" className="btn btn-primary" disabled={busy !== null} onClick={() => onSend(false)}>
            {busy === 'run' ? 'Submitting…' : `Run ${plural(verdict.validRows, 'valid row')}`}
          </button>
        )}
      </div>
      {error && <p role="alert" className="field-error text-sm">{error}</p>}
      {verdict && (
        <div className="rounded-md border border-slate-200 bg-slate-50 p-3" role="status" aria-label={panelLabel}>
          <p>
            {summary(verdict)}
            {verdict.duplicatesMerged > 0 && <>, {plural(verdict.duplicatesMerged, 'duplicate')} merged</>}
            {verdict.invalid.length > 0 && <span className="text-rose-700">, {verdict.invalid.length} invalid {invalidNote}</span>}
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
    </>
  );
}
