import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { listIdentityMap } from '@/lib/pools/identity-map';

export const GET = route(api.getIdentityMap, async ({ actor, params, query }) => listIdentityMap(actor, params.id, query, 'api'));
