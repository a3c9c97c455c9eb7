import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { cancelRetrieval } from '@/lib/retrievals/request';

export const POST = route(api.cancelRetrieval, async ({ actor, params }) => cancelRetrieval(actor, params.id));
