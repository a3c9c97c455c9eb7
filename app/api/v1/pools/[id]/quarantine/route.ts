import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { listQuarantine } from '@/lib/pools/quarantine';

export const GET = route(api.listQuarantine, async ({ params, query }) => listQuarantine(params.id, query));
