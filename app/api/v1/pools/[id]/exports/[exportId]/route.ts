import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { getExport } from '@/lib/exports/request';

export const GET = route(api.getExport, async ({ pool, params, query }) => getExport(pool!.pool.id, params.exportId, query));
