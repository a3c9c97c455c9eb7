/** Marks a user's notifications read: the ids given (only their own), or all of them. */
import { db } from '../db';

export async function markNotificationsRead(userId: string, ids: string[] | undefined): Promise<{ marked: number }> {
  const { count } = await db.notification.updateMany({
    where: { userId, readAt: null, ...(ids ? { id: { in: ids } } : {}) },
    data: { readAt: new Date() },
  });
  return { marked: count };
}
