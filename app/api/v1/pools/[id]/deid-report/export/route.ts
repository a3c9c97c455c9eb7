import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { exportDeidReport } from '@/lib/reports/export-deid-report-file';

export const GET = route(api.exportDeidReport, async ({ actor, params, query }) => {
  const file = await exportDeidReport({ actor, poolId: params.id, format: query.format });
  return new Response(file.body, {
    headers: {
      'content-type': file.contentType,
      'content-disposition': `attachment; filename="${file.fileName}"`,
      'cache-control': 'no-store',
    },
  });
});
