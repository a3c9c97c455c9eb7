import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { safeName } from '@/lib/exports/download';
import { purgeReceipt } from '@/lib/pools/purge';

export const GET = route(api.getPoolPurgeReceipt, async ({ pool }) => {
  const { document } = await purgeReceipt(pool!.pool.id);
  const name = `purge-receipt_${safeName(pool!.pool.name, 60) || 'pool'}.json`;
  return new Response(`${JSON.stringify(document, null, 2)}\n`, {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'private, no-store',
    },
  });
});
