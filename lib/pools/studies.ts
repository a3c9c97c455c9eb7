/**
 * Browsing a pool's de-identified index. Every function takes the poolId that access control
 * already checked and scopes every lookup by it, so an id from another pool finds nothing.
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, Prisma } from '../db';
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

/**
 * Up to this many matching studies the list's total is counted exactly; beyond it the total is
 * PostgreSQL's estimate (`totalEstimated`: "about 1.2 million studies"), so a page of a pool of
 * millions never counts them all.
 */
export const STUDY_COUNT_EXACT_UP_TO = 20_000;
/** The same bound for a search: its matches are rechecked row by row, so it counts fewer. */
export const STUDY_SEARCH_COUNT_EXACT_UP_TO = 2_000;

/** The WHERE clause of the study list (raw SQL, so the count and the page share it). */
function studyListWhere(poolId: string, q: StudyListQuery): Prisma.Sql {
  const conds: Prisma.Sql[] = [Prisma.sql`"poolId" = ${poolId}`];
  if (q.q) {
    // ILIKE '%…%' with the user's %, _ and \ escaped; served by the trigram indexes.
    const like = `%${escapeLike(q.q)}%`;
    conds.push(Prisma.sql`("patientId" ILIKE ${like} OR "patientName" ILIKE ${like} OR "studyDescription" ILIKE ${like} OR "accessionNumber" ILIKE ${like})`);
  }
  if (q.modality) {
    // Modalities are stored as "CT\SR": match whole codes only ("CT" must not match "OCT").
    // Same expression as Study_modalities_codes_idx (GIN), separator as a literal.
    conds.push(Prisma.sql`string_to_array("modalities", '\\') && ARRAY[${q.modality.toUpperCase()}]::text[]`);
  }
  return Prisma.join(conds, ' AND ');
}

/**
 * ORDER BY of the study list; the tie-breaker runs in the sort's direction so PostgreSQL can walk
 * the (poolId, column, id) indexes. Sorted by research ID, a patient's studies come together
 * newest first (the pool page groups them). `flip` reverses every key (deep pages, below).
 */
function studyListOrder(q: StudyListQuery, flip = false): Prisma.Sql {
  const d = (dir: 'asc' | 'desc') => ((dir === 'desc') !== flip ? 'DESC' : 'ASC');
  // q.sort is one of STUDY_SORTS (zod enum): a fixed column name, never user text.
  const keys = q.sort === 'patientId' ? [`"patientId" ${d(q.dir)}`, `"studyDate" ${d('desc')}`, `"id" ${d(q.dir)}`] : [`"${q.sort}" ${d(q.dir)}`, `"id" ${d(q.dir)}`];
  return Prisma.raw(keys.join(', '));
}

/**
 * The number of studies matching `where`: exact up to STUDY_COUNT_EXACT_UP_TO (a count over a
 * LIMIT, which stops there), else the planner's estimate, never below the exact bound.
 */
async function countStudies(where: Prisma.Sql, cap: number): Promise<{ total: number; estimated: boolean }> {
  const [{ n }] = await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM (SELECT 1 FROM "Study" WHERE ${where} LIMIT ${cap + 1}) x`;
  if (n <= cap) return { total: n, estimated: false };
  return estimateStudies(where, n);
}

/** The planner's estimate of the studies matching `where`, never below `atLeast` (counted). */
async function estimateStudies(where: Prisma.Sql, atLeast: number): Promise<{ total: number; estimated: true }> {
  const plan = await db.$queryRaw<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[]>`EXPLAIN (FORMAT JSON) SELECT 1 FROM "Study" WHERE ${where}`;
  const est = Math.round(plan[0]?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'] ?? 0);
  return { total: Math.max(est, atLeast), estimated: true };
}

/**
 * A search's page and its exact count in ONE pass over its matches: up to
 * STUDY_SEARCH_COUNT_EXACT_UP_TO + 1 matching rows (id and the sortable columns), counted and
 * sorted together. A rare term (a research ID) is rechecked row by row once, not once for the count
 * and again for the page. null when the page is past the last match (the count is then unknown
 * here); `more` when there are more matches than the bound (the page must then come from all of
 * them, not from this sample).
 */
async function searchPageAndCount(where: Prisma.Sql, q: StudyListQuery, skip: number, cap: number): Promise<{ ids: string[]; total: number } | { more: number } | null> {
  const rows = await db.$queryRaw<{ id: string; n: number }[]>`
    SELECT "id", count(*) OVER ()::int AS n
      FROM (SELECT "id", "patientId", "studyDate", "studyDescription", "modalities", "numSeries", "numInstances", "createdAt"
              FROM "Study" WHERE ${where} LIMIT ${cap + 1}) m
     ORDER BY ${studyListOrder(q)} LIMIT ${q.pageSize} OFFSET ${skip}`;
  if (!rows.length) return null;
  if (rows[0].n > cap) return { more: rows[0].n };
  return { ids: rows.map((r) => r.id), total: rows[0].n };
}

/**
 * One page of a pool's studies. Both statements stay cheap at millions of studies: the count
 * stops at STUDY_COUNT_EXACT_UP_TO (STUDY_SEARCH_COUNT_EXACT_UP_TO with a search); the page
 * first picks its 50 ids (an index-only walk of (poolId, column, id)), then reads just those
 * rows; a page in the second half of an exactly counted list is read from the other end (OFFSET
 * total − end in the reversed order), so the last page costs what the first does. A search with
 * up to STUDY_SEARCH_COUNT_EXACT_UP_TO matches gets its page and count from one pass over them
 * (searchPageAndCount).
 */
export async function listStudies(poolId: string, q: StudyListQuery) {
  const where = studyListWhere(poolId, q);
  const skip = (q.page - 1) * q.pageSize;
  // Every sort, the counts included, walks a (poolId, column, id) index (prisma/schema.prisma).
  const select = async (flip: boolean, take: number, offset: number): Promise<string[]> => {
    const rows = await db.$queryRaw<{ id: string }[]>`SELECT "id" FROM "Study" WHERE ${where} ORDER BY ${studyListOrder(q, flip)} LIMIT ${take} OFFSET ${offset}`;
    return rows.map((r) => r.id);
  };
  const pageIds = async (count?: { total: number; estimated: boolean }): Promise<string[]> => {
    if (count && !count.estimated && skip > count.total / 2) {
      const take = Math.min(q.pageSize, count.total - skip);
      if (take <= 0) return [];
      return (await select(true, take, count.total - skip - take)).reverse();
    }
    return select(false, q.pageSize, skip);
  };
  const cap = q.q ? STUDY_SEARCH_COUNT_EXACT_UP_TO : STUDY_COUNT_EXACT_UP_TO;
  let count: { total: number; estimated: boolean };
  let ids: string[];
  const one = q.q ? await searchPageAndCount(where, q, skip, cap) : null;
  if (one && 'ids' in one) {
    ids = one.ids;
    count = { total: one.total, estimated: false };
  } else if (one) {
    // More matches than the exact bound: the page from all of them, the total estimated.
    [ids, count] = await Promise.all([pageIds(), estimateStudies(where, one.more)]);
  } else if (skip === 0) [ids, count] = await Promise.all([pageIds(), countStudies(where, cap)]);
  else {
    count = await countStudies(where, cap);
    ids = await pageIds(count);
  }
  const found = ids.length ? await db.study.findMany({ where: { poolId, id: { in: ids } } }) : [];
  const byId = new Map(found.map((r) => [r.id, r]));
  const rows = ids.flatMap((id) => byId.get(id) ?? []);
  return { rows, total: count.total, totalEstimated: count.estimated, page: q.page, pageSize: q.pageSize };
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
  // The distinct modality strings by skipping along the (poolId, modalities, id) index, one
  // probe per distinct value: a GROUP BY would read every study of the pool on every page view.
  const groups = await db.$queryRaw<{ modalities: string }[]>`
    WITH RECURSIVE m AS (
      (SELECT "modalities" FROM "Study" WHERE "poolId" = ${poolId} ORDER BY "modalities" LIMIT 1)
      UNION ALL
      SELECT (SELECT s."modalities" FROM "Study" s WHERE s."poolId" = ${poolId} AND s."modalities" > m."modalities" ORDER BY s."modalities" LIMIT 1)
        FROM m WHERE m."modalities" IS NOT NULL)
    SELECT "modalities" FROM m WHERE "modalities" IS NOT NULL`;
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
