import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { seriesThumbnail } from '@/lib/imaging/series-thumbnail';

export const GET = route(api.getSeriesThumbnail, async ({ params }) => {
  const t = await seriesThumbnail(params.id, params.seriesId);
  return new Response(new Uint8Array(t.png), {
    headers: {
      'Content-Type': 'image/png',
      'Content-Length': String(t.png.length),
      // Pages add ?v=<instance count> to the URL, so a series that grows gets a new URL.
      'Cache-Control': t.cacheable ? 'private, max-age=86400' : 'private, no-store',
      'X-Thumbnail': t.kind === 'image' ? 'image' : `placeholder; reason=${t.reason ?? 'unsupported'}`,
    },
  });
});
