/**
 * Starting, reading, retrying and cancelling exports of a pool. The caller's access to the pool
 * was decided by lib/auth/access ('export' to start, retry and cancel; 'read' to look); every
 * lookup here is scoped by that pool's id: another pool's exporter or study answers NOT_FOUND.
 *
 * Creating an export expands its studies into ExportInstance rows (PENDING) with the research
 * UIDs, in the same transaction as the Export row, then enqueues its job. Whether an instance is
 * already at the destination is decided by the job just before sending (lib/exports/run-export.ts:
 * same SHA-256 as delivered before → SKIPPED, unless `resend`).
 */
import type { Prisma } from '../generated/prisma/client';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db } from '../db';
import { AppError } from '../errors';
import { jobId } from '../jobs/catalogue';
import { enqueue } from '../jobs/queues';
import { exportCounts, TERMINAL } from './run-export';
import type { ExportRequest } from './schema';

/** Instances per export (a larger pool is exported as several selections). */
export const MAX_EXPORT_INSTANCES = 500_000;
const INSERT_CHUNK = 5_000;

export type ExportScope = { kind: 'study' | 'selection' | 'pool' | 'auto'; studyIds?: string[]; ruleVersion?: number };

export async function enqueueExport(exportId: string, generation: number) {
  await enqueue('export.send', { exportId, generation }, { jobId: jobId.export(exportId, generation) });
}

/** Creates the export (rows PENDING) and enqueues it. `actor` null: an automatic export. */
export async function createExport(actor: Actor | null, poolId: string, input: ExportRequest, scopeOverride?: ExportScope) {
  const exporter = await db.exporter.findFirst({ where: { id: input.exporterId, poolId }, select: { id: true, enabled: true, destinationId: true } });
  if (!exporter) throw new AppError('NOT_FOUND', 'Exporter not found in this pool', { exporterId: ['not an exporter of this pool'] });
  if (!exporter.enabled) throw new AppError('CONFLICT', 'This exporter is disabled; its pool owner can enable it');
  let studyIds: string[];
  if (input.wholePool) {
    studyIds = (await db.study.findMany({ where: { poolId }, select: { id: true } })).map((s) => s.id);
    if (!studyIds.length) throw new AppError('VALIDATION', 'This pool holds no studies yet', { wholePool: ['the pool is empty'] });
  } else {
    const ids = [...new Set(input.studyIds)];
    const found = await db.study.findMany({ where: { poolId, id: { in: ids } }, select: { id: true } });
    if (found.length !== ids.length) throw new AppError('NOT_FOUND', ids.length === 1 ? 'Study not found' : 'One or more of the selected studies were not found in this pool', { studyIds: ['not in this pool'] });
    studyIds = ids;
  }
  const where: Prisma.InstanceWhereInput = input.wholePool ? { poolId } : { poolId, series: { studyId: { in: studyIds } } };
  const count = await db.instance.count({ where });
  if (count === 0) throw new AppError('VALIDATION', 'The selected studies hold no instances', { studyIds: ['no instances'] });
  if (count > MAX_EXPORT_INSTANCES) throw new AppError('VALIDATION', `This selection holds ${count} instances; one export sends at most ${MAX_EXPORT_INSTANCES}. Select fewer studies.`, { studyIds: ['too many instances'] });
  const scope: ExportScope = scopeOverride ?? (input.wholePool ? { kind: 'pool' } : { kind: studyIds.length === 1 ? 'study' : 'selection', studyIds });

  const ex = await db.$transaction(
    async (tx) => {
      const created = await tx.export.create({
        data: { poolId, exporterId: exporter.id, requestedById: actor?.userId ?? null, scope: scope as Prisma.InputJsonValue, resend: input.resend, total: count },
      });
      let cursor: string | undefined;
      for (;;) {
        const page = await tx.instance.findMany({
          where,
          orderBy: { id: 'asc' },
          take: INSERT_CHUNK,
          ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
          select: { id: true, sopInstanceUid: true, sopClassUid: true, series: { select: { seriesInstanceUid: true, study: { select: { studyInstanceUid: true } } } } },
        });
        if (!page.length) break;
        await tx.exportInstance.createMany({
          data: page.map((i) => ({
            exportId: created.id,
            instanceId: i.id,
            studyInstanceUid: i.series.study.studyInstanceUid,
            seriesInstanceUid: i.series.seriesInstanceUid,
            sopInstanceUid: i.sopInstanceUid,
            sopClassUid: i.sopClassUid,
          })),
          skipDuplicates: true,
        });
        cursor = page[page.length - 1].id;
        if (page.length < INSERT_CHUNK) break;
      }
      const total = await tx.exportInstance.count({ where: { exportId: created.id } });
      return tx.export.update({ where: { id: created.id }, data: { total } });
    },
    { timeout: 120_000 },
  );
  await audit({
    userId: actor?.userId ?? null,
    action: 'export.create',
    poolId,
    targetType: 'export',
    targetId: ex.id,
    detail: { exporterId: exporter.id, destinationId: exporter.destinationId, scope: scope.kind, studies: studyIds.length, instances: ex.total, resend: input.resend },
  });
  await enqueueExport(ex.id, ex.attempts);
  return ex;
}

const summarySelect = {
  id: true,
  poolId: true,
  exporterId: true,
  requestedById: true,
  scope: true,
  resend: true,
  state: true,
  total: true,
  sent: true,
  warnings: true,
  failed: true,
  skipped: true,
  attempts: true,
  cancelRequested: true,
  lastError: true,
  scheduledFor: true,
  startedAt: true,
  finishedAt: true,
  createdAt: true,
  exporter: { select: { name: true, destination: { select: { name: true, type: true } } } },
} satisfies Prisma.ExportSelect;

export async function listExports(poolId: string, opts: { take?: number; before?: string } = {}) {
  const take = Math.min(Math.max(opts.take ?? 50, 1), 200);
  return db.export.findMany({
    where: { poolId, ...(opts.before ? { createdAt: { lt: new Date(opts.before) } } : {}) },
    orderBy: { createdAt: 'desc' },
    take,
    select: summarySelect,
  });
}

/** One export with its per-instance failures and warnings (paged, `offset`/`limit`). */
export async function getExport(poolId: string, exportId: string, opts: { offset?: number; limit?: number; state?: string } = {}) {
  const ex = await db.export.findFirst({ where: { id: exportId, poolId }, select: summarySelect });
  if (!ex) throw new AppError('NOT_FOUND', 'Export not found');
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const offset = Math.max(opts.offset ?? 0, 0);
  const states = opts.state ? [opts.state] : ['FAILED', 'WARNING'];
  const [issues, issueCount] = await Promise.all([
    db.exportInstance.findMany({
      where: { exportId, state: { in: states } },
      orderBy: { sopInstanceUid: 'asc' },
      skip: offset,
      take: limit,
      select: { id: true, state: true, reason: true, studyInstanceUid: true, seriesInstanceUid: true, sopInstanceUid: true, sopClassUid: true, transferSyntaxSent: true, sentAt: true },
    }),
    db.exportInstance.count({ where: { exportId, state: { in: states } } }),
  ]);
  const pending = ex.total - ex.sent - ex.warnings - ex.failed - ex.skipped;
  return { ...ex, pending: Math.max(pending, 0), instances: { items: issues, total: issueCount, offset, limit } };
}

/** Sends the FAILED instances again (new job generation). Only a finished export. */
export async function retryExport(actor: Actor, poolId: string, exportId: string) {
  const ex = await db.export.findFirst({ where: { id: exportId, poolId } });
  if (!ex) throw new AppError('NOT_FOUND', 'Export not found');
  if (!TERMINAL.includes(ex.state)) throw new AppError('CONFLICT', 'This export is still running; cancel it first or wait for it to finish');
  const exporter = await db.exporter.findUnique({ where: { id: ex.exporterId }, select: { enabled: true } });
  if (!exporter?.enabled) throw new AppError('CONFLICT', 'This exporter is disabled; its pool owner can enable it');
  const updated = await db.$transaction(async (tx) => {
    // FAILED, and what a cancel left PENDING, go again.
    const again = await tx.exportInstance.updateMany({ where: { exportId, state: 'FAILED' }, data: { state: 'PENDING', reason: null } });
    const pending = await tx.exportInstance.count({ where: { exportId, state: 'PENDING' } });
    if (pending === 0) throw new AppError('CONFLICT', 'Nothing to retry: no instance of this export failed');
    const up = await tx.export.update({
      where: { id: exportId },
      data: { state: 'QUEUED', attempts: { increment: 1 }, cancelRequested: false, lastError: null, finishedAt: null, failed: { decrement: again.count } },
    });
    return { up, retried: pending };
  });
  await audit({ userId: actor.userId, action: 'export.retry', poolId, targetType: 'export', targetId: exportId, detail: { instances: updated.retried } });
  await enqueueExport(exportId, updated.up.attempts);
  return updated.up;
}

/** Asks a running export to stop (the job aborts its requests); a queued or scheduled one stops at once. */
export async function cancelExport(actor: Actor, poolId: string, exportId: string) {
  const ex = await db.export.findFirst({ where: { id: exportId, poolId } });
  if (!ex) throw new AppError('NOT_FOUND', 'Export not found');
  if (TERMINAL.includes(ex.state)) return ex;
  await db.export.update({ where: { id: exportId }, data: { cancelRequested: true } });
  if (ex.state === 'QUEUED' || ex.state === 'SCHEDULED') {
    // No job is sending: finish it here (a job that wakes up later finds it CANCELED).
    const c = await exportCounts(exportId);
    await db.export.updateMany({
      where: { id: exportId, state: { in: ['QUEUED', 'SCHEDULED'] } },
      data: { state: 'CANCELED', finishedAt: new Date(), scheduledFor: null, sent: c.sent, warnings: c.warnings, failed: c.failed, skipped: c.skipped },
    });
  }
  await audit({ userId: actor.userId, action: 'export.cancel', poolId, targetType: 'export', targetId: exportId });
  return db.export.findUniqueOrThrow({ where: { id: exportId } });
}
