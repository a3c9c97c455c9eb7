import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { addPoolMember, getPoolDetail, setPoolMembers } from '@/lib/pools/pools';

export const PUT = route(api.setPoolMembers, async ({ actor, params, body }) => {
  await setPoolMembers(actor, params.id, body.members);
  return (await getPoolDetail(params.id)).members;
});

export const POST = route(api.addPoolMember, async ({ actor, params, body }) => addPoolMember(actor, params.id, body));
