import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { listPools } from '@/lib/pools/pools';

export const GET = route(api.me, async ({ actor }) => ({
  user: { id: actor.userId, email: actor.email, name: actor.name, role: actor.role, tokenPoolId: actor.tokenPoolId },
  pools: (await listPools(actor)).map((p) => ({ id: p.id, name: p.name, kind: p.kind, poolRole: p.members[0]?.role ?? null })),
}));
