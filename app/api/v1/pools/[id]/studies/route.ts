import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { auditPoolView, listStudies } from '@/lib/pools/studies';

export const GET = route(api.listStudies, async ({ actor, params, query }) => {
  const list = await listStudies(params.id, query);
  await auditPoolView(actor, params.id, 'api');
  return list;
});
