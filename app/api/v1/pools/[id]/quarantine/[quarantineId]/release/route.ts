import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { releaseQuarantined } from '@/lib/pools/quarantine';

export const POST = route(api.releaseQuarantined, async ({ actor, pool, params }) => releaseQuarantined(actor, pool!.pool, params.quarantineId));
