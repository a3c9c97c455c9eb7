import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { auditCsv } from '@/lib/audit-log/list';

/** The audit log as CSV: administrators only (lib/audit-log/list.ts decides), same fields as the page. */
export const GET = route(api.exportAudit, async ({ actor, query }) => {
  const { csv, truncated } = await auditCsv(actor, query);
  const day = new Date().toISOString().slice(0, 10);
  return new Response(csv, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="tributary-audit-${day}.csv"`,
      'cache-control': 'no-store',
      ...(truncated ? { 'x-tributary-truncated': 'true' } : {}),
    },
  });
});
