import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { cancelExport } from '@/lib/exports/request';

export const POST = route(api.cancelExport, async ({ actor, pool, params }) => cancelExport(actor, pool!.pool.id, params.exportId));
