/** Small presentational pieces shared by pages (server or client). */
import Link from 'next/link';

export function PageHeader({ title, subtitle, actions, crumbs }: { title: React.ReactNode; subtitle?: React.ReactNode; actions?: React.ReactNode; crumbs?: { href: string; label: string }[] }) {
  return (
    <div className="mb-4">
      {crumbs && crumbs.length > 0 && (
        <nav aria-label="Breadcrumb" className="mb-1 text-xs text-slate-500">
          {crumbs.map((c, i) => (
            <span key={c.href}>
              {i > 0 && <span className="mx-1">/</span>}
              <Link href={c.href}>{c.label}</Link>
            </span>
          ))}
        </nav>
      )}
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1>{title}</h1>
          {subtitle && <p className="mt-0.5 text-slate-500">{subtitle}</p>}
        </div>
        {actions && <div className="flex items-center gap-2">{actions}</div>}
      </div>
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className="card px-6 py-10 text-center">
      <p className="font-medium text-slate-700">{title}</p>
      {children && <div className="mx-auto mt-1 max-w-xl text-slate-500">{children}</div>}
    </div>
  );
}

const STATE_STYLES: Record<string, string> = {
  QUEUED: 'bg-slate-100 text-slate-700',
  SCHEDULED: 'bg-violet-100 text-violet-800',
  PENDING: 'bg-slate-100 text-slate-700',
  RUNNING: 'bg-sky-100 text-sky-800',
  MOVING: 'bg-sky-100 text-sky-800',
  ANONYMIZING: 'bg-indigo-100 text-indigo-800',
  DONE: 'bg-emerald-100 text-emerald-800',
  PARTIAL: 'bg-amber-100 text-amber-800',
  FAILED: 'bg-rose-100 text-rose-800',
  INVALID: 'bg-rose-100 text-rose-800',
  CANCELLED: 'bg-slate-200 text-slate-600',
  COMPLETED: 'bg-emerald-100 text-emerald-800',
  WARNING: 'bg-amber-100 text-amber-800',
  CANCELED: 'bg-slate-200 text-slate-600',
};

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${STATE_STYLES[state] ?? 'bg-slate-100'}`}>{state.toLowerCase()}</span>;
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <div className="w-full">
      <div
        className="h-2 w-full overflow-hidden rounded bg-slate-200"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <div className="h-2 rounded bg-sky-600 transition-all" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function formatDicomDate(d: string | null | undefined): string {
  if (!d || !/^\d{8}$/.test(d)) return d ?? '';
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
}

export function formatPersonName(pn: string | null | undefined): string {
  if (!pn) return '';
  const [family, given] = pn.split('^');
  return given ? `${family}, ${given}` : family;
}
