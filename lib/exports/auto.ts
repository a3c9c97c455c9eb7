/**
 * "Export every new study automatically" (Exporter.autoExport): when a study settles in a pool
 * (its retrieval is DONE), each enabled auto-export exporter of that pool gets a whole-study
 * export. Once per study, exporter and rule version: the scope records the rule version, and a
 * transaction-scoped advisory lock makes two workers settling the same study create one export.
 * A study whose retrieval ends PARTIAL is not exported automatically (a person decides).
 */
import type { Prisma } from '../generated/prisma/client';
import { db } from '../db';
import { logger } from '../logger';
import { createExport, type ExportScope } from './request';

const log = logger('exports.auto');

export async function autoExportStudy(poolId: string, studyId: string): Promise<string[]> {
  const exporters = await db.exporter.findMany({ where: { poolId, autoExport: true, enabled: true }, select: { id: true } });
  if (!exporters.length) return [];
  const pool = await db.pool.findUnique({ where: { id: poolId }, select: { ruleVersion: true } });
  if (!pool) return [];
  const created: string[] = [];
  for (const exp of exporters) {
    const scope: ExportScope = { kind: 'auto', studyIds: [studyId], ruleVersion: pool.ruleVersion };
    const key = `auto-export:${exp.id}:${studyId}:${pool.ruleVersion}`;
    try {
      const id = await db.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${key}))`;
        const existing = await tx.export.findFirst({ where: { exporterId: exp.id, scope: { equals: scope as Prisma.InputJsonValue } }, select: { id: true } });
        if (existing) return null;
        // Created inside the lock: a second caller waits, then finds this one.
        const ex = await createExport(null, poolId, { exporterId: exp.id, studyIds: [studyId], wholePool: false, resend: false }, scope);
        return ex.id;
      }, { timeout: 120_000 });
      if (id) created.push(id);
    } catch (e) {
      log.warn('automatic export not created', { poolId, exporterId: exp.id, err: e });
    }
  }
  return created;
}

/** The pool study a settled retrieval produced (through the pool's study identity map). */
export async function autoExportRetrieval(retrievalId: string): Promise<string[]> {
  const r = await db.retrieval.findUnique({ where: { id: retrievalId }, select: { poolId: true, state: true, studyInstanceUid: true } });
  if (!r || r.state !== 'DONE') return [];
  const hasAuto = await db.exporter.count({ where: { poolId: r.poolId, autoExport: true, enabled: true } });
  if (!hasAuto) return [];
  const ids = await db.studyIdentity.findMany({ where: { poolId: r.poolId, sourceStudyUid: r.studyInstanceUid }, select: { researchStudyUid: true } });
  const studies = await db.study.findMany({ where: { poolId: r.poolId, studyInstanceUid: { in: ids.map((i) => i.researchStudyUid) } }, select: { id: true } });
  const out: string[] = [];
  for (const s of studies) out.push(...(await autoExportStudy(r.poolId, s.id)));
  return out;
}
