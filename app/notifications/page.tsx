import Link from 'next/link';
import { pageActor } from '@/lib/auth/page';
import { listNotifications, notificationLink } from '@/lib/notifications/list';
import { EmptyState, PageHeader } from '@/components/ui';
import { formatDateTime } from '@/components/admin/format';
import { MarkReadButton } from '@/components/notifications/mark-read-button';

export const metadata = { title: 'Notifications' };

export default async function NotificationsPage() {
  const actor = await pageActor();
  const { items, unread } = await listNotifications(actor.userId, { limit: 200 });
  return (
    <>
      <PageHeader
        title="Notifications"
        subtitle="Changes to your pools made by someone else (members, rules) and how your queries’ retrievals ended, newest first."
        actions={unread > 0 ? <MarkReadButton label={`Mark all ${unread} read`} /> : undefined}
      />
      {items.length === 0 ? (
        <EmptyState title="No notifications">When someone else changes the members or the rules of a pool you own, you are told here.</EmptyState>
      ) : (
        <ul className="card divide-y divide-slate-200" aria-label="Notifications">
          {items.map((n) => {
            const link = notificationLink(n);
            return (
            <li key={n.id} className={`flex flex-wrap items-start gap-3 p-3 ${n.readAt ? 'text-slate-600' : 'bg-amber-50'}`}>
              <span className="tabular-nums text-xs text-slate-500">{formatDateTime(n.createdAt)}</span>
              <span className="min-w-0 flex-1">
                {!n.readAt && <span className="mr-2 badge bg-amber-100 text-amber-900">new</span>}
                {n.text}
                {link && (
                  <>
                    {' '}
                    <Link href={link.href}>{link.label}</Link>
                  </>
                )}
              </span>
              {!n.readAt && <MarkReadButton ids={[n.id]} label="Mark read" />}
            </li>
            );
          })}
        </ul>
      )}
    </>
  );
}
