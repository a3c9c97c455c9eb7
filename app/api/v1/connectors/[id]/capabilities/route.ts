import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { checkConnector } from '@/lib/connectors/capabilities';

export const POST = route(api.checkConnector, async ({ actor, params, body }) => checkConnector(actor, params.id, body));
