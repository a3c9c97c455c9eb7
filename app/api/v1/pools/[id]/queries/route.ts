import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { listQueries } from '@/lib/queries/queries';

export const GET = route(api.listPoolQueries, async ({ params }) => listQueries(params.id));
