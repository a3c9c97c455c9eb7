import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { buildTemplate, TEMPLATE_CONTENT_TYPE, TEMPLATE_FILE_NAME } from '@/lib/excel';

export const GET = route(api.queryTemplate, async () => {
  const buf = await buildTemplate();
  return new Response(new Uint8Array(buf), {
    headers: { 'Content-Type': TEMPLATE_CONTENT_TYPE, 'Content-Disposition': `attachment; filename="${TEMPLATE_FILE_NAME}"`, 'Cache-Control': 'no-store' },
  });
});
