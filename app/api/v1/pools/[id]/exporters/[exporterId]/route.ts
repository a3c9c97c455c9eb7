import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { deleteExporter, getExporter, updateExporter } from '@/lib/exports/exporters';

export const GET = route(api.getExporter, async ({ pool, params }) => getExporter(pool!.pool.id, params.exporterId));
export const PATCH = route(api.updateExporter, async ({ actor, pool, params, body }) => updateExporter(actor, pool!.pool.id, params.exporterId, body));
export const DELETE = route(api.deleteExporter, async ({ actor, pool, params }) => deleteExporter(actor, pool!.pool.id, params.exporterId));
