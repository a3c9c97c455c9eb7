import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createExporter, listExporters } from '@/lib/exports/exporters';

// The owner sees every setting; other readers (researchers choosing where to export, admins,
// pool-scoped tokens) see names and destination names only.
export const GET = route(api.listExporters, async ({ pool }) => listExporters(pool!.pool.id, pool!.isOwner ? 'owner' : 'summary'));
export const POST = route(api.createExporter, async ({ actor, pool, body }) => createExporter(actor, pool!.pool.id, body));
