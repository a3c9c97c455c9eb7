import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { quarantineImage } from '@/lib/pools/quarantine-ocr';

export const GET = route(api.getQuarantineImage, async ({ pool, params, query }) => {
  const img = await quarantineImage(pool!.pool.id, params.quarantineId, query.frame);
  return new Response(new Uint8Array(img.png), {
    headers: { 'Content-Type': 'image/png', 'Content-Length': String(img.png.length), 'Cache-Control': 'private, no-store' },
  });
});
