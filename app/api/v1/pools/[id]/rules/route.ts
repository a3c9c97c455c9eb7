import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { getPoolRules, updatePoolRules } from '@/lib/pools/rules';

export const GET = route(api.getPoolRules, async ({ params }) => getPoolRules(params.id));
export const PUT = route(api.updatePoolRules, async ({ actor, params, body }) => updatePoolRules(actor, params.id, body));
