/**
 * The report export behind GET /pools/{id}/deid-report/export: builds the report, renders it as
 * PDF or CSV and audits who took it ('pool.deid-report-export'; ids and the format only).
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { deidReportCsv, deidReportPdf } from './export-deid-report';
import { getDeidReport } from './get-deid-report';

export async function exportDeidReport(opts: { actor: Actor; poolId: string; format: 'csv' | 'pdf' }): Promise<{ body: BodyInit; contentType: string; fileName: string }> {
  const report = await getDeidReport(opts.poolId);
  const stamp = report.generatedAt.slice(0, 10);
  await audit({ userId: opts.actor.userId, action: 'pool.deid-report-export', poolId: opts.poolId, targetType: 'pool', targetId: opts.poolId, detail: { format: opts.format } });
  if (opts.format === 'csv') {
    return { body: deidReportCsv(report), contentType: 'text/csv; charset=utf-8', fileName: `deid-report-${opts.poolId}-${stamp}.csv` };
  }
  const pdf = await deidReportPdf(report);
  return { body: Buffer.from(pdf), contentType: 'application/pdf', fileName: `deid-report-${opts.poolId}-${stamp}.pdf` };
}
