import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { decideQuarantined } from '@/lib/pools/quarantine';

export const POST = route(api.decideQuarantine, async ({ actor, pool, body }) => decideQuarantined(actor, pool!.pool, body));
