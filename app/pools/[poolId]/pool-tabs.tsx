import Link from 'next/link';
import type { PoolRole } from '@/lib/db';

export function PoolTabs({ poolId, active, poolRole, isAdmin }: { poolId: string; active: 'studies' | 'query' | 'settings'; poolRole: PoolRole | null; isAdmin: boolean }) {
  const canQuery = isAdmin || poolRole === 'OWNER' || poolRole === 'COORDINATOR';
  const tabs = [
    { key: 'studies', href: `/pools/${poolId}`, label: 'Studies', show: true },
    { key: 'query', href: `/pools/${poolId}/query`, label: 'Query & retrieve', show: canQuery },
  ].filter((t) => t.show);
  return (
    <div className="mb-4 flex gap-1 border-b border-slate-200" role="tablist">
      {tabs.map((t) => (
        <Link
          key={t.key}
          href={t.href}
          role="tab"
          aria-selected={active === t.key}
          className={`-mb-px border-b-2 px-3 py-1.5 text-sm hover:no-underline ${active === t.key ? 'border-sky-700 font-medium text-sky-800' : 'border-transparent text-slate-600 hover:text-slate-900'}`}
        >
          {t.label}
        </Link>
      ))}
    </div>
  );
}
