/** A user's notifications, newest first, and their unread count (lib/notifications/create.ts). */
import { db } from '../db';

/** `poolId` limits the list to one pool's notices (a pool-scoped API token sees no others). */
export async function listNotifications(userId: string, opts: { unreadOnly?: boolean; limit?: number; poolId?: string } = {}) {
  const where = { userId, ...(opts.poolId ? { poolId: opts.poolId } : {}), ...(opts.unreadOnly ? { readAt: null } : {}) };
  const [items, unread] = await Promise.all([
    db.notification.findMany({
      where,
      orderBy: { createdAt: 'desc' },
      take: Math.min(Math.max(opts.limit ?? 50, 1), 200),
      select: { id: true, poolId: true, kind: true, text: true, createdAt: true, readAt: true, dedupeKey: true },
    }),
    db.notification.count({ where: { ...where, readAt: null } }),
  ]);
  return { items, unread };
}

export function unreadNotificationCount(userId: string): Promise<number> {
  return db.notification.count({ where: { userId, readAt: null } });
}

/** Where a notice leads in the app: the query for a retrieval notice, else the pool's settings. */
export function notificationLink(n: { kind: string; poolId: string | null; dedupeKey?: string | null }): { href: string; label: string } | null {
  if (!n.poolId) return null;
  const queryId = n.kind.startsWith('query.') && n.dedupeKey?.startsWith('query-settled:') ? n.dedupeKey.split(':')[1] : null;
  if (queryId) return { href: `/pools/${n.poolId}/queries/${queryId}`, label: 'Open the query' };
  return { href: `/pools/${n.poolId}/settings`, label: 'Open the pool’s settings' };
}
