/**
 * In-app notifications of the caller (lib/notifications): list (newest first, with the unread
 * count) and mark read. A pool-scoped token sees only its pool's notices and cannot mark them.
 */
import { z } from 'zod';
import { type Endpoint, e } from '../endpoint';

export const notificationListQuerySchema = z.object({
  unread: z.enum(['1', 'true']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const markNotificationsReadSchema = z.object({
  /** The notifications to mark read (the caller's own); all unread ones when absent. */
  ids: z.array(z.string().min(1).max(64)).max(200).optional(),
});

export const notificationEndpoints = {
  listNotifications: e({
    method: 'get',
    path: '/notifications',
    summary: 'Your notifications, newest first, and how many are unread (?unread=1 for unread only)',
    tag: 'notifications',
    access: 'signed-in',
    query: notificationListQuerySchema,
  }),
  markNotificationsRead: e({
    method: 'post',
    path: '/notifications/read',
    summary: 'Mark your notifications read: the ids given, or all of them',
    tag: 'notifications',
    access: 'signed-in',
    body: markNotificationsReadSchema,
  }),
} satisfies Record<string, Endpoint>;
