import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { cancelQuery } from '@/lib/queries/queries';

export const POST = route(api.cancelQuery, async ({ actor, params }) => cancelQuery(actor, params.id));
