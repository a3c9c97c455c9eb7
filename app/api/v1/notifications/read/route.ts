import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { requireActor } from '@/lib/auth/access';
import { AppError } from '@/lib/errors';
import { markNotificationsRead } from '@/lib/notifications/mark-read';

export const POST = route(api.markNotificationsRead, async ({ actor, body }) => {
  const a = requireActor(actor);
  if (a.tokenPoolId) throw new AppError('FORBIDDEN', 'A pool-scoped token is read-only');
  return markNotificationsRead(a.userId, body.ids);
});
