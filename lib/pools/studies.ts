/**
 * Browsing a pool's de-identified index. Every function takes the poolId that access control
 * already checked and scopes every lookup by it, so an id from another pool finds nothing.
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, type Prisma } from '../db';
import { AppError } from '../errors';
import { logger } from '../logger';
import { key, redis } from '../redis';
import type { StudyListQuery } from './schema';

const log = logger('pools');

/** A user browsing a pool (paging, sorting, searching) is recorded once per this window. */
export const POOL_VIEW_AUDIT_WINDOW_SECONDS = 10 * 60;

/**
 * Audits that a user looked at a pool's study list (pool page or GET /pools/{id}/studies):
 * one `pool.view` per user and pool per POOL_VIEW_AUDIT_WINDOW_SECONDS, whichever way they came
 * in, so paging through 40 pages is one event. A Redis key is the "already recorded" flag; if
 * Redis is down every view is recorded. Ids only: the search text is not recorded (people type
 * MRNs into search boxes).
 */
export async function auditPoolView(actor: Pick<Actor, 'userId'>, poolId: string, via: 'page' | 'api'): Promise<void> {
  try {
    const first = await redis().set(key('pool-view-audit', actor.userId, poolId), '1', 'EX', POOL_VIEW_AUDIT_WINDOW_SECONDS, 'NX');
    if (first !== 'OK') return;
  } catch (err) {
    log.warn('pool view de-duplication unavailable', { err });
  }
  await audit({ userId: actor.userId, action: 'pool.view', poolId, targetType: 'pool', targetId: poolId, detail: { via } });
}

/**
 * Prisma passes contains/startsWith/endsWith to PostgreSQL's LIKE without escaping, so '%', '_'
 * and the escape character '\\' typed by a user would act as wildcards: escape them.
 */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function listStudies(poolId: string, q: StudyListQuery) {
  const where: Prisma.StudyWhereInput = { poolId };
  const and: Prisma.StudyWhereInput[] = [];
  if (q.q) {
    const text = escapeLike(q.q);
    and.push({
      OR: [
        { patientId: { contains: text, mode: 'insensitive' } },
        { patientName: { contains: text, mode: 'insensitive' } },
        { studyDescription: { contains: text, mode: 'insensitive' } },
        { accessionNumber: { contains: text, mode: 'insensitive' } },
      ],
    });
  }
  if (q.modality) {
    // Modalities are stored as "CT\\SR": match whole codes only ("CT" must not match "OCT").
    const m = escapeLike(q.modality.toUpperCase());
    const sep = escapeLike('\\');
    and.push({ OR: [{ modalities: q.modality.toUpperCase() }, { modalities: { startsWith: `${m}${sep}` } }, { modalities: { endsWith: `${sep}${m}` } }, { modalities: { contains: `${sep}${m}${sep}` } }] });
  }
  if (and.length) where.AND = and;
  // The tie-breaker runs in the same direction as the sort, so PostgreSQL can walk the
  // (poolId, studyDate) / (poolId, patientId) indexes and stop after one page.
  // Sorted by research ID, a patient's studies come together newest first (the pool page groups them).
  const orderBy: Prisma.StudyOrderByWithRelationInput[] =
    q.sort === 'patientId' ? [{ patientId: q.dir }, { studyDate: 'desc' }, { id: q.dir }] : [{ [q.sort]: q.dir }, { id: q.dir }];
  const [rows, total] = await Promise.all([
    db.study.findMany({
      where,
      orderBy,
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
    }),
    db.study.count({ where }),
  ]);
  return { rows, total, page: q.page, pageSize: q.pageSize };
}

export interface StudySummary {
  /** Series in order (number, then UID): what each one is, as the pool's rules left it. */
  series: { id: string; seriesNumber: number | null; modality: string; seriesDescription: string; bodyPartExamined: string; numInstances: number }[];
  /** Body parts of the study's series, distinct, in series order. */
  bodyParts: string[];
}

/**
 * What the pool page shows beside each study of a page: its series (descriptions, body parts,
 * the first one's thumbnail) and how many studies the same research ID has in the pool. One
 * query each for the whole page, scoped by pool.
 */
export async function summarizeStudies(poolId: string, studies: { id: string; patientId: string }[]) {
  const ids = studies.map((s) => s.id);
  const patientIds = [...new Set(studies.map((s) => s.patientId))];
  const [series, perPatient] = await Promise.all([
    ids.length
      ? db.series.findMany({
          where: { poolId, studyId: { in: ids } },
          orderBy: [{ seriesNumber: 'asc' }, { seriesInstanceUid: 'asc' }],
          select: { id: true, studyId: true, seriesNumber: true, modality: true, seriesDescription: true, bodyPartExamined: true, numInstances: true },
        })
      : [],
    patientIds.length ? db.study.groupBy({ by: ['patientId'], where: { poolId, patientId: { in: patientIds } }, _count: { _all: true } }) : [],
  ]);
  const byStudy = new Map<string, StudySummary>(ids.map((id) => [id, { series: [], bodyParts: [] }]));
  for (const { studyId, ...rest } of series) {
    const sum = byStudy.get(studyId)!;
    sum.series.push(rest);
    const part = rest.bodyPartExamined.trim();
    if (part && !sum.bodyParts.includes(part)) sum.bodyParts.push(part);
  }
  const studiesOfPatient = new Map(perPatient.map((g) => [g.patientId, g._count._all]));
  return { byStudy, studiesOfPatient };
}

/** The modality codes present in a pool, for the study list's filter. */
export async function listPoolModalities(poolId: string): Promise<string[]> {
  const groups = await db.study.groupBy({ by: ['modalities'], where: { poolId } });
  const set = new Set<string>();
  for (const g of groups) for (const m of g.modalities.split('\\')) if (m.trim()) set.add(m.trim());
  return [...set].sort();
}

export async function getStudy(poolId: string, studyId: string) {
  const study = await db.study.findFirst({
    where: { id: studyId, poolId },
    include: {
      series: {
        orderBy: [{ seriesNumber: 'asc' }, { seriesInstanceUid: 'asc' }],
        include: {
          instances: {
            orderBy: [{ instanceNumber: 'asc' }, { sopInstanceUid: 'asc' }],
            select: { id: true, sopInstanceUid: true, sopClassUid: true, instanceNumber: true, rows: true, columns: true, numberOfFrames: true, size: true, transferSyntaxUid: true, ruleVersion: true },
          },
        },
      },
    },
  });
  if (!study) throw new AppError('NOT_FOUND', 'Study not found');
  return study;
}

export async function getInstanceFile(poolId: string, instanceId: string) {
  const inst = await db.instance.findFirst({ where: { id: instanceId, poolId }, select: { id: true, path: true, sopInstanceUid: true, size: true } });
  if (!inst) throw new AppError('NOT_FOUND', 'Instance not found');
  return inst;
}
