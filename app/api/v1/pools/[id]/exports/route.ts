import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createExport, listExports } from '@/lib/exports/request';

export const GET = route(api.listExports, async ({ pool, query }) => ({ exports: await listExports(pool!.pool.id, query) }));

export const POST = route(api.createExport, async ({ actor, pool, body }) => createExport(actor, pool!.pool.id, body));
