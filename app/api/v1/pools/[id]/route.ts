import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { deletePool, getPoolDetail, updatePool } from '@/lib/pools/pools';

export const GET = route(api.getPool, async ({ params }) => getPoolDetail(params.id));
export const PATCH = route(api.updatePool, async ({ actor, params, body }) => {
  const { secret: _secret, ...pool } = await updatePool(actor, params.id, body);
  return pool;
});
export const DELETE = route(api.deletePool, async ({ actor, params }) => deletePool(actor, params.id));
