import type { Metadata } from 'next';
import Link from 'next/link';
import './globals.css';
import { actorFromSession } from '@/lib/auth/actor';
import { unreadNotificationCount } from '@/lib/notifications/list';
import { SignOutButton } from '@/components/sign-out-button';

// Pages set their own part ("Cardiac CT cohort · Studies"); the template appends the product name.
export const metadata: Metadata = {
  title: { template: '%s · Tributary', default: 'Tributary' },
  description: 'Research imaging broker',
  icons: { icon: [{ url: '/favicon.svg', type: 'image/svg+xml' }] },
};
// Every page shows who is signed in: rendered per request, never prerendered at build time
// (so `next build` needs no database or secret, e.g. in the Docker image).
export const dynamic = 'force-dynamic';

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const actor = await actorFromSession();
  const unread = actor ? await unreadNotificationCount(actor.userId) : 0;
  return (
    <html lang="en">
      <body className="min-h-screen">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:bg-white focus:p-2">
          Skip to content
        </a>
        <header className="border-b border-slate-200 bg-white">
          <nav className="mx-auto flex max-w-7xl items-center gap-5 px-4 py-2" aria-label="Main">
            <Link href="/pools" className="font-semibold text-slate-900 hover:no-underline">
              <span className="text-sky-700">▍</span>Tributary
            </Link>
            {actor && (
              <>
                <Link href="/pools">Pools</Link>
                {actor.role === 'ADMIN' && (
                  <>
                    <Link href="/admin/devices">Devices</Link>
                    <Link href="/admin/pools">Manage pools</Link>
                    <Link href="/admin/connectors">Connectors</Link>
                    <Link href="/admin/cohort-sources">Cohort sources</Link>
                    <Link href="/admin/destinations">Destinations</Link>
                    <Link href="/admin/users">Users</Link>
                    <Link href="/admin/queues">Queues</Link>
                    <Link href="/admin/audit">Audit</Link>
                  </>
                )}
                <span className="ml-auto flex items-center gap-3 text-slate-600">
                  {/* The visible text is the accessible name ("Notifications 2 unread"), as WCAG 2.5.3 asks. */}
                  <Link href="/notifications">
                    Notifications
                    {unread > 0 && ' '}
                    {unread > 0 && (
                      <span className="badge bg-amber-100 text-amber-900 tabular-nums">
                        {unread}
                        <span className="sr-only"> unread</span>
                      </span>
                    )}
                  </Link>
                  <Link href="/account" title="Account and API tokens">
                    {actor.name} <span className="text-xs text-slate-400">({actor.role.toLowerCase()})</span>
                  </Link>
                  <SignOutButton />
                </span>
              </>
            )}
          </nav>
        </header>
        <main id="main" className="mx-auto max-w-7xl px-4 py-5">
          {children}
        </main>
      </body>
    </html>
  );
}
