import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { purgePool, purgeStatus } from '@/lib/pools/purge';

export const GET = route(api.getPoolPurge, async ({ pool }) => ({ purge: await purgeStatus(pool!.pool.id) }));
export const POST = route(api.purgePool, async ({ actor, pool, body }) => ({ purge: await purgePool(actor, pool!.pool, body) }));
