import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { retryQuery } from '@/lib/queries/queries';

export const POST = route(api.retryQuery, async ({ actor, params }) => retryQuery(actor, params.id));
