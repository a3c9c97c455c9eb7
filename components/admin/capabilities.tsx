'use client';
/**
 * PACS capability check: an administrator gives the MRN of a patient the PACS holds; Tributary
 * echoes, queries at study, series and image level, and moves one instance to its own SCP. The
 * last result is kept on the connector and shown here; queries adapt to it.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';

interface Step {
  ok: boolean;
  message: string;
}
export interface CapabilitiesView {
  checkedAt: string;
  /** The retrieve method the last check tested (absent in checks made before C-GET existed: C-MOVE). */
  retrieveMethod?: string;
  echo: Step;
  find: (Step & { studies: number; filled: Record<string, boolean> }) | null;
  seriesLevel: (Step & { series: number; countsInstances: boolean }) | null;
  instanceLevel: (Step & { instances: number }) | null;
  move: (Step & { completed: number }) | null;
  dicomweb?: { includeField: Step | null; transferSyntaxes: string[]; warnings: string[] };
}

function Row({ label, step, children }: { label: string; step: Step | null; children?: React.ReactNode }) {
  return (
    <tr>
      <td className="whitespace-nowrap font-medium">{label}</td>
      <td>
        {step === null ? (
          <span className="text-slate-400">not reached</span>
        ) : step.ok ? (
          <span className="badge bg-emerald-100 text-emerald-800">ok</span>
        ) : (
          <span className="badge bg-rose-100 text-rose-800">problem</span>
        )}
      </td>
      <td className="text-slate-700">
        {step?.message}
        {children}
      </td>
    </tr>
  );
}

export function CapabilityCheck({ connectors }: { connectors: { id: string; name: string; capabilities: CapabilitiesView | null }[] }) {
  const router = useRouter();
  const [connectorId, setConnectorId] = useState(connectors[0]?.id ?? '');
  const [patientId, setPatientId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<Record<string, CapabilitiesView>>({});
  const caps = fresh[connectorId] ?? connectors.find((c) => c.id === connectorId)?.capabilities ?? null;

  async function run(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await apiFetch<CapabilitiesView>(`/connectors/${connectorId}/capabilities`, { body: { patientId, moveTest: true } });
    setBusy(false);
    if (!res.ok) return setError(res.error.fields?.patientId?.[0] ?? res.error.message);
    setFresh((f) => ({ ...f, [connectorId]: res.data }));
    router.refresh();
  }

  if (!connectors.length) return null;
  return (
    <section className="card p-4" aria-labelledby="caps-title">
      <h2 id="caps-title" className="mb-1">PACS capability check</h2>
      <p className="mb-3 text-xs text-slate-500">
        Echo, a study-level query showing which keys the PACS fills, series and image level, and a retrieve of one instance (C-MOVE to Tributary’s receiving AE, or C-GET back on Tributary’s own association).
        Give the MRN of a patient the PACS holds; nothing is kept.
      </p>
      <form className="mb-3 flex flex-wrap items-end gap-2" onSubmit={run}>
        <div>
          <label className="label" htmlFor="capConnector">Connector</label>
          <select id="capConnector" className="input" value={connectorId} onChange={(e) => setConnectorId(e.target.value)}>
            {connectors.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="capMrn">Test MRN</label>
          <input id="capMrn" className="input font-mono" value={patientId} onChange={(e) => setPatientId(e.target.value)} autoComplete="off" required />
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy || !patientId.trim()}>{busy ? 'Checking…' : 'Run check'}</button>
      </form>
      {error && <p role="alert" className="field-error mb-2 text-sm">{error}</p>}
      {caps ? (
        <>
          <p className="mb-1 text-xs text-slate-500">Last checked {new Date(caps.checkedAt).toLocaleString()}</p>
          <table className="table" aria-label="Capabilities">
            <tbody>
              <Row label="C-ECHO" step={caps.echo} />
              <Row label="Study-level C-FIND" step={caps.find}>
                {caps.find && Object.keys(caps.find.filled).length > 0 && (
                  <span className="mt-1 flex flex-wrap gap-1">
                    {Object.entries(caps.find.filled).map(([k, v]) => (
                      <span key={k} className={`badge ${v ? 'bg-slate-100 text-slate-700' : 'bg-amber-100 text-amber-800'}`}>{v ? '✓' : '✗'} {k}</span>
                    ))}
                  </span>
                )}
              </Row>
              <Row label="Series level" step={caps.seriesLevel}>
                {caps.seriesLevel && !caps.seriesLevel.countsInstances && <span className="block text-xs text-amber-800">No per-series instance counts: progress totals come from the move itself.</span>}
              </Row>
              <Row label="Image level" step={caps.instanceLevel} />
              <Row label={caps.dicomweb ? 'WADO-RS retrieve' : caps.retrieveMethod === 'CGET' ? 'C-GET back to us' : 'C-MOVE to us'} step={caps.move} />
              {caps.dicomweb && (
                <Row label="QIDO-RS includefield" step={caps.dicomweb.includeField}>
                  {caps.dicomweb.warnings.length > 0 && <span className="block text-xs text-amber-800">Server warning: {caps.dicomweb.warnings.join('; ')}</span>}
                </Row>
              )}
            </tbody>
          </table>
        </>
      ) : (
        <p className="text-slate-500">Not checked yet.</p>
      )}
    </section>
  );
}
