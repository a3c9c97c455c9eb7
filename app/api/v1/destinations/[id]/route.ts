import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { deleteDestination, getDestination, updateDestination } from '@/lib/exports/destinations';

export const GET = route(api.getDestination, async ({ params }) => getDestination(params.id));
export const PATCH = route(api.updateDestination, async ({ actor, params, body }) => updateDestination(actor, params.id, body));
export const DELETE = route(api.deleteDestination, async ({ actor, params }) => deleteDestination(actor, params.id));
