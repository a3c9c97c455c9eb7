import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { getRuleVersion } from '@/lib/pools/rules';

export const GET = route(api.getPoolRuleVersion, async ({ params }) => getRuleVersion(params.id, params.version));
