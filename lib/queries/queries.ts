/**
 * Queries: a coordinator, inside a target pool, asks a connector's PACS for studies by MRN.
 * Items and results carry PHI and are shown to the pool's coordinators and owners only
 * (lib/auth/access: need 'coordinate').
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { requirePool } from '../auth/access';
import { db, type QuerySource } from '../db';
import { AppError } from '../errors';
import { waitingForWindowUntil } from '../connectors/schedule';
import { jobId } from '../jobs/catalogue';
import { enqueue } from '../jobs/queues';
import { findSlots } from './run-find';
import type { QueryInput } from './schema';

/** One find job per slot; deterministic ids, so enqueueing again is harmless (lib/jobs/recover.ts relies on it). */
export async function enqueueFind(queryId: string, generation: number, slots: number) {
  await Promise.all(Array.from({ length: slots }, (_, slot) => enqueue('query.find', { queryId, slot }, { jobId: jobId.find(queryId, generation, slot) })));
}

export interface InvalidRowInput {
  rowNumber: number;
  errors: string[];
  patientId?: string;
}

export async function createQuery(
  actor: Actor,
  input: Omit<QueryInput, 'items'> & {
    items: (QueryInput['items'][number] & { rowNumber?: number; mergedRowNumbers?: number[]; studyInstanceUid?: string })[];
    source?: QuerySource;
    cohortSourceId?: string;
    fileName?: string | null;
    invalid?: InvalidRowInput[];
  },
) {
  const connector = await db.connector.findUnique({ where: { id: input.connectorId } });
  if (!connector) throw new AppError('VALIDATION', 'Unknown connector', { connectorId: ['unknown connector'] });
  const rows = [
    ...input.items.map((it, i) => ({
      rowNumber: it.rowNumber ?? i + 1,
      mergedRowNumbers: it.mergedRowNumbers ?? [],
      patientId: it.patientId,
      accessionNumber: it.accessionNumber || null,
      modality: it.modality || null,
      studyDateFrom: it.studyDateFrom || null,
      studyDateTo: it.studyDateTo || null,
      studyDescription: it.studyDescription || null,
      studyInstanceUid: it.studyInstanceUid || null,
      researchId: it.researchId || null,
      researchName: it.researchName || null,
    })),
    ...(input.invalid ?? []).map((bad) => ({
      rowNumber: bad.rowNumber,
      patientId: (bad.patientId ?? '').slice(0, 64),
      status: 'INVALID' as const,
      error: bad.errors.join('; '),
    })),
  ];
  // One INSERT for all rows, raw with one JSON parameter: a nested create would send one per
  // row, and createMany spends ~0.5 ms of CPU per row in Prisma's WASM query compiler.
  const query = await db.$transaction(async (tx) => {
    const q = await tx.query.create({
      data: {
        poolId: input.poolId,
        connectorId: connector.id,
        createdById: actor.userId,
        source: input.source ?? 'SINGLE',
        fileName: input.fileName ?? null,
        cohortSourceId: input.cohortSourceId ?? null,
        status: 'PENDING',
      },
    });
    await tx.$executeRaw`
      INSERT INTO "QueryItem" ("id", "queryId", "rowNumber", "mergedRowNumbers", "patientId", "accessionNumber", "modality",
        "studyDateFrom", "studyDateTo", "studyDescription", "studyInstanceUid", "researchId", "researchName", "status", "error")
      SELECT gen_random_uuid()::text, ${q.id}, x."rowNumber", coalesce(x."mergedRowNumbers", '{}'), x."patientId", x."accessionNumber", x."modality",
        x."studyDateFrom", x."studyDateTo", x."studyDescription", x."studyInstanceUid", x."researchId", x."researchName",
        coalesce(x."status", 'PENDING')::"QueryItemStatus", x."error"
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x("rowNumber" int, "mergedRowNumbers" int[], "patientId" text,
        "accessionNumber" text, "modality" text, "studyDateFrom" text, "studyDateTo" text, "studyDescription" text, "studyInstanceUid" text,
        "researchId" text, "researchName" text, "status" text, "error" text)`;
    return q;
  });
  // Nothing to ask the PACS when every row was invalid: the query is done at once.
  if (input.items.length) await enqueueFind(query.id, 0, findSlots(input.items.length, connector.maxAssociations, query.source));
  else await db.query.update({ where: { id: query.id }, data: { status: 'DONE', error: `${input.invalid?.length ?? 0} row(s) invalid` } });
  await audit({
    userId: actor.userId,
    action: 'query.submit',
    poolId: input.poolId,
    targetType: 'query',
    targetId: query.id,
    detail: { rows: input.items.length, invalidRows: input.invalid?.length ?? 0, connectorId: connector.id },
  });
  return query;
}

export async function listQueries(poolId: string, page = 1, pageSize = 50) {
  const [rows, total] = await Promise.all([
    db.query.findMany({
      where: { poolId },
      orderBy: { createdAt: 'desc' },
      skip: (page - 1) * pageSize,
      take: pageSize,
      include: {
        connector: { select: { id: true, name: true } },
        createdBy: { select: { id: true, name: true } },
        _count: { select: { items: true, results: true, retrievals: true } },
      },
    }),
    db.query.count({ where: { poolId } }),
  ]);
  return { rows, total, page, pageSize };
}

/**
 * Who may follow a finished study from the query page to its research copy in the pool: that
 * link pairs a source identity (the MRN the page shows) with a research ID. The pool's owner may
 * (they hold the identity map), and the coordinator who ran the query (they retrieved those
 * studies: docs/security.md, "learn the research ID of an MRN it did not retrieve"); another
 * coordinator of the pool and an administrator may not.
 */
export async function mayLinkPoolStudies(viewer: Actor, query: { poolId: string; createdById: string | null }): Promise<boolean> {
  const access = await requirePool(viewer, query.poolId, 'read');
  if (access.isOwner) return true;
  return !access.isAdmin && query.createdById === viewer.userId && (access.poolRole === 'COORDINATOR' || access.poolRole === 'OWNER');
}

/**
 * Everything the query page needs: rows, results per row, and retrieval state per study. With a
 * viewer allowed to (mayLinkPoolStudies), each finished study carries `poolStudyId`, the id of
 * its de-identified copy in the pool (null otherwise).
 */
export async function getQueryDetail(queryId: string, opts: { viewer?: Actor } = {}) {
  const q = await db.query.findUnique({
    where: { id: queryId },
    include: {
      connector: { select: { id: true, name: true, schedule: true, maxAssociations: true } },
      items: { orderBy: { rowNumber: 'asc' } },
      results: {
        orderBy: [{ studyDate: 'desc' }],
        include: { retrieval: true },
      },
    },
  });
  if (!q) throw new AppError('NOT_FOUND', 'Query not found');
  const retrievals = q.results.map((r) => r.retrieval).filter((r): r is NonNullable<typeof r> => !!r);
  const expected = retrievals.reduce((s, r) => s + Math.max(r.expected, r.received), 0);
  const stored = retrievals.reduce((s, r) => s + r.stored, 0);
  const failed = retrievals.reduce((s, r) => s + r.failed, 0);
  const terminal = retrievals.filter((r) => ['DONE', 'PARTIAL', 'FAILED', 'CANCELLED'].includes(r.state)).length;
  // Work that needs an association (rows to ask, studies to move) waits for the connector's
  // window: say until when, and only while outside it.
  const rowsWaiting = (q.status === 'PENDING' || q.status === 'RUNNING') && q.items.some((i) => i.status === 'PENDING' || i.status === 'RUNNING');
  const studiesWaiting = retrievals.some((r) => r.state === 'QUEUED' || r.state === 'SCHEDULED');
  const scheduledFor = rowsWaiting || studiesWaiting ? waitingForWindowUntil(q.connector.schedule) : null;
  const poolStudy = new Map<string, string>();
  const finished = retrievals.filter((r) => r.state === 'DONE' || r.state === 'PARTIAL');
  if (opts.viewer && finished.length && (await mayLinkPoolStudies(opts.viewer, q))) {
    const ids = await db.studyIdentity.findMany({
      where: { poolId: q.poolId, sourceStudyUid: { in: finished.map((r) => r.studyInstanceUid) } },
      select: { sourceStudyUid: true, researchStudyUid: true },
    });
    const studies = await db.study.findMany({ where: { poolId: q.poolId, studyInstanceUid: { in: ids.map((i) => i.researchStudyUid) } }, select: { id: true, studyInstanceUid: true } });
    const byResearchUid = new Map(studies.map((s) => [s.studyInstanceUid, s.id]));
    for (const i of ids) {
      const id = byResearchUid.get(i.researchStudyUid);
      if (id) poolStudy.set(i.sourceStudyUid, id);
    }
  }
  return {
    ...q,
    results: q.results.map((r) => ({ ...r, poolStudyId: r.retrieval && (r.retrieval.state === 'DONE' || r.retrieval.state === 'PARTIAL') ? (poolStudy.get(r.studyInstanceUid) ?? null) : null })),
    scheduledFor,
    progress: {
      rows: q.items.length,
      rowsDone: q.items.filter((i) => i.status !== 'PENDING' && i.status !== 'RUNNING').length,
      studies: retrievals.length,
      studiesDone: terminal,
      instancesExpected: expected,
      instancesStored: stored,
      instancesFailed: failed,
    },
  };
}

/** Runs the rows that failed (e.g. the PACS was down) again; rows with invalid input stay as they are. */
export async function retryQuery(actor: Actor, queryId: string) {
  const q = await db.query.findUnique({ where: { id: queryId } });
  if (!q) throw new AppError('NOT_FOUND', 'Query not found');
  if (q.status === 'PENDING' || q.status === 'RUNNING') throw new AppError('CONFLICT', 'This query is still running');
  const rows = await db.queryItem.updateMany({ where: { queryId, status: { in: ['FAILED', 'CANCELLED'] } }, data: { status: 'PENDING', error: null } });
  if (!rows.count) throw new AppError('CONFLICT', 'No failed rows to run again');
  const updated = await db.query.update({ where: { id: queryId }, data: { status: 'PENDING', error: null, generation: { increment: 1 } } });
  const connector = await db.connector.findUniqueOrThrow({ where: { id: q.connectorId }, select: { maxAssociations: true } });
  await enqueueFind(queryId, updated.generation, findSlots(rows.count, connector.maxAssociations, q.source));
  await audit({ userId: actor.userId, action: 'query.retry', poolId: q.poolId, targetType: 'query', targetId: queryId, detail: { rows: rows.count } });
  return { rows: rows.count };
}

/**
 * Cancels the rows not yet asked and every study not finished: waiting ones, and running ones
 * too — a move in progress sees the state within ~2 s, sends C-CANCEL and drops what it staged;
 * de-identification stops at its next batch. Studies already DONE stay in the pool.
 */
export async function cancelQuery(actor: Actor, queryId: string) {
  const q = await db.query.findUnique({ where: { id: queryId } });
  if (!q) throw new AppError('NOT_FOUND', 'Query not found');
  const [rows, studies] = await db.$transaction([
    db.queryItem.updateMany({ where: { queryId, status: { in: ['PENDING', 'RUNNING'] } }, data: { status: 'CANCELLED' } }),
    db.retrieval.updateMany({ where: { queryId, state: { in: ['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING'] } }, data: { state: 'CANCELLED', finishedAt: new Date() } }),
    db.query.update({ where: { id: queryId }, data: { status: q.status === 'DONE' ? 'DONE' : 'CANCELLED' } }),
  ]);
  await audit({ userId: actor.userId, action: 'query.cancel', poolId: q.poolId, targetType: 'query', targetId: queryId, detail: { rows: rows.count, studies: studies.count } });
}
