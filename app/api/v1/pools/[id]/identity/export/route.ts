import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { exportIdentityMap } from '@/lib/pools/identity-map';

export const GET = route(api.exportIdentityMap, async ({ actor, params, query }) => {
  const { csv, fileName } = await exportIdentityMap(actor, params.id, query.table);
  return new Response(csv, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${fileName}"`,
      // PHI: never cached by the browser or anything in between.
      'cache-control': 'no-store',
    },
  });
});
