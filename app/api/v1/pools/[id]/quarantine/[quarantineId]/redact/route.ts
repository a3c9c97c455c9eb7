import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { redactAndRelease } from '@/lib/pools/redact';

export const POST = route(api.redactQuarantined, async ({ actor, pool, params, body }) => redactAndRelease(actor!, pool!.pool, params.quarantineId, body));
