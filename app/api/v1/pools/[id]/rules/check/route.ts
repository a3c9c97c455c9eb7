import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { checkPoolRules } from '@/lib/pools/rules';

export const POST = route(api.checkPoolRules, async ({ params, body }) => checkPoolRules(params.id, body.rules));
