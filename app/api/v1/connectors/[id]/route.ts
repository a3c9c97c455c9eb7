import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { deleteConnector, getConnector, updateConnector } from '@/lib/connectors/connectors';

export const GET = route(api.getConnector, async ({ params }) => getConnector(params.id));
export const PATCH = route(api.updateConnector, async ({ actor, params, body }) => updateConnector(actor, params.id, body));
export const DELETE = route(api.deleteConnector, async ({ actor, params }) => deleteConnector(actor, params.id));
