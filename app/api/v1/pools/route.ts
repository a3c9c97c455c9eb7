import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createPool, listPools } from '@/lib/pools/pools';

export const GET = route(api.listPools, async ({ actor }) =>
  (await listPools(actor)).map(({ members, _count, ...p }) => ({ ...p, poolRole: members[0]?.role ?? null, studies: _count.studies, memberCount: _count.members })),
);
export const POST = route(api.createPool, async ({ actor, body }) => {
  const { secret: _secret, ...pool } = await createPool(actor, body);
  return pool;
});
