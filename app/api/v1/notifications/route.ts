import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { requireActor } from '@/lib/auth/access';
import { listNotifications } from '@/lib/notifications/list';

export const GET = route(api.listNotifications, async ({ actor, query }) => {
  const a = requireActor(actor);
  return listNotifications(a.userId, { unreadOnly: !!query.unread, limit: query.limit, poolId: a.tokenPoolId ?? undefined });
});
