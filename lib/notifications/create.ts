/**
 * In-app notifications: short notices to one user, shown in the header (unread count) and on
 * /notifications. Generic: pool membership and rule changes use it (notify-pool-owners.ts);
 * other capabilities (e.g. "your retrieval finished") add their own `kind`.
 *
 * The text names people, pools and versions, never PHI (no patient names, MRNs, accession
 * numbers, UIDs): it is shown as is and may be read long after.
 */
import { db, type Tx } from '../db';

export interface NotificationInput {
  userId: string;
  poolId?: string | null;
  /** A dotted key naming what happened ("pool.members-update"), no values. */
  kind: string;
  text: string;
}

export const NOTIFICATION_TEXT_MAX = 500;

export async function createNotifications(items: NotificationInput[], tx: Tx = db): Promise<number> {
  if (!items.length) return 0;
  const { count } = await tx.notification.createMany({
    data: items.map((n) => ({ userId: n.userId, poolId: n.poolId ?? null, kind: n.kind, text: n.text.slice(0, NOTIFICATION_TEXT_MAX) })),
  });
  return count;
}
