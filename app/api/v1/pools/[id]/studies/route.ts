import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { listStudies } from '@/lib/pools/studies';

export const GET = route(api.listStudies, async ({ params, query }) => listStudies(params.id, query));
