import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { getQueryDetail } from '@/lib/queries/queries';

export const GET = route(api.getQuery, async ({ actor, params }) => getQueryDetail(params.id, { viewer: actor! }));
