import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { retryRetrieval } from '@/lib/retrievals/request';

export const POST = route(api.retryRetrieval, async ({ actor, params }) => retryRetrieval(actor, params.id));
