import Link from 'next/link';
import type { PoolRole } from '@/lib/db';

export type PoolTab = 'studies' | 'query' | 'viewers' | 'exports' | 'exporters' | 'quarantine' | 'report' | 'identity' | 'settings';

/**
 * The pool's sections. Which ones show is only a convenience: every page and endpoint checks
 * access itself (lib/auth/access).
 */
export function PoolTabs({ poolId, active, poolRole, isAdmin }: { poolId: string; active: PoolTab; poolRole: PoolRole | null; isAdmin: boolean }) {
  const canQuery = isAdmin || poolRole === 'OWNER' || poolRole === 'COORDINATOR';
  // An administrator account never acts as owner (lib/auth/access.ts, separation of duties).
  const owns = poolRole === 'OWNER' && !isAdmin;
  const tabs: { key: PoolTab; href: string; label: string; show: boolean }[] = [
    { key: 'studies', href: `/pools/${poolId}`, label: 'Studies', show: true },
    { key: 'query', href: `/pools/${poolId}/query`, label: 'Query & retrieve', show: canQuery },
    { key: 'viewers', href: `/pools/${poolId}/viewers`, label: 'Viewers & DICOMweb', show: true },
    { key: 'exports', href: `/pools/${poolId}/exports`, label: 'Exports', show: true },
    { key: 'exporters', href: `/pools/${poolId}/exporters`, label: 'Exporters', show: owns },
    { key: 'quarantine', href: `/pools/${poolId}/quarantine`, label: 'Quarantine', show: owns || isAdmin },
    { key: 'report', href: `/pools/${poolId}/report`, label: 'De-identification report', show: owns || isAdmin },
    { key: 'identity', href: `/pools/${poolId}/identity`, label: 'Identity map', show: owns },
    { key: 'settings', href: `/pools/${poolId}/settings`, label: 'Rules & settings', show: owns || isAdmin },
  ];
  return (
    // Links to the pool's pages (not an ARIA tab widget: each is its own page, reached with Tab and Enter).
    <nav className="mb-4 flex gap-1 overflow-x-auto border-b border-slate-200" aria-label="Pool sections">
      {tabs
        .filter((t) => t.show)
        .map((t) => (
          <Link
            key={t.key}
            href={t.href}
            aria-current={active === t.key ? 'page' : undefined}
            className={`-mb-px whitespace-nowrap border-b-2 px-3 py-1.5 text-sm hover:no-underline ${active === t.key ? 'border-sky-700 font-medium text-sky-800' : 'border-transparent text-slate-600 hover:text-slate-900'}`}
          >
            {t.label}
          </Link>
        ))}
    </nav>
  );
}
