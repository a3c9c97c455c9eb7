import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { exportReceiptFor } from '@/lib/receipts/export';

export const GET = route(api.getExportReceipt, async ({ params }) => {
  const doc = await exportReceiptFor(params.id, params.exportId);
  return new Response(JSON.stringify(doc, null, 2) + '\n', {
    headers: {
      'content-type': 'application/json',
      'content-disposition': `attachment; filename="receipt-export-${params.exportId}-${(doc.body.export as { attempt?: number } | null)?.attempt ?? 0}.json"`,
      'cache-control': 'no-store',
    },
  });
});
