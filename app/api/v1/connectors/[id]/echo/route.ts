import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { echoConnector } from '@/lib/connectors/connectors';

export const POST = route(api.echoConnector, async ({ actor, params }) => echoConnector(actor, params.id));
