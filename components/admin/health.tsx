import type { Health } from '@/lib/health/get-health';
import { formatDateTime } from './format';

const LABELS: [keyof Omit<Health, 'status' | 'workers'>, string][] = [
  ['postgres', 'PostgreSQL'],
  ['redis', 'Redis'],
  ['worker', 'Worker'],
  ['scp', 'DICOM SCP'],
];

/** The admin's view of GET /api/v1/health, with each worker process's host, SCP address and last beat. */
export function HealthPanel({ health, now }: { health: Health; now: number }) {
  return (
    <section className="card mb-5" aria-labelledby="health-title">
      <h2 id="health-title" className="border-b border-slate-200 px-3 py-2 text-sm font-semibold">
        Processes{' '}
        <span className={health.status === 'ok' ? 'font-normal text-emerald-700' : 'font-normal text-rose-700'}>
          — {health.status === 'ok' ? 'all up' : 'something is down'}
        </span>
      </h2>
      <ul className="flex flex-wrap gap-4 px-3 py-2 text-sm" aria-label="Parts">
        {LABELS.map(([k, label]) => (
          <li key={k}>
            {label}:{' '}
            <strong className={health[k] === 'ok' ? 'text-emerald-700' : 'text-rose-700'}>{health[k] === 'ok' ? 'up' : 'down'}</strong>
          </li>
        ))}
      </ul>
      {health.workers.length === 0 ? (
        <p className="px-3 pb-3 text-sm text-slate-600">
          No worker process has reported in the last 15 seconds: retrievals and de-identification wait until one runs (<code className="font-mono">npm start</code>, or
          the <code className="font-mono">tributary-worker</code> service).
        </p>
      ) : (
        <table className="table" aria-label="Worker processes">
          <thead>
            <tr>
              <th>Host</th>
              <th className="text-right">PID</th>
              <th>DICOM SCP</th>
              <th>Started</th>
              <th className="text-right">Last beat</th>
            </tr>
          </thead>
          <tbody>
            {health.workers.map((w) => (
              <tr key={`${w.host}:${w.pid}`}>
                <td className="font-mono text-xs">{w.host}</td>
                <td className="text-right tabular-nums">{w.pid}</td>
                <td className="font-mono text-xs">
                  {w.scp.listening ? `${w.scp.bind}:${w.scp.port}` : 'not listening'}
                  {w.scp.tlsPort ? <span className="block">TLS {w.scp.bind}:{w.scp.tlsPort}</span> : null}
                </td>
                <td className="whitespace-nowrap tabular-nums text-slate-600">{formatDateTime(new Date(w.startedAt), true)}</td>
                <td className="text-right tabular-nums text-slate-600">{Math.max(0, Math.round((now - Date.parse(w.at)) / 1000))} s ago</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
