import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { dropQuarantined } from '@/lib/pools/quarantine';

export const POST = route(api.dropQuarantined, async ({ actor, pool, params }) => dropQuarantined(actor, pool!.pool, params.quarantineId));
