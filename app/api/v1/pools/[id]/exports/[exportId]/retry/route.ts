import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { retryExport } from '@/lib/exports/request';

export const POST = route(api.retryExport, async ({ actor, pool, params }) => retryExport(actor, pool!.pool.id, params.exportId));
