/**
 * Selecting studies of a query for retrieval. One Retrieval per selected study; asking twice
 * does not duplicate anything (a study already queued, moving or done is left alone); a failed,
 * partial or cancelled one is retried with a new job generation.
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db } from '../db';
import { AppError } from '../errors';
import { jobId } from '../jobs/catalogue';
import { enqueue } from '../jobs/queues';

const RETRYABLE = ['FAILED', 'PARTIAL', 'CANCELLED'] as const;

export async function requestRetrieval(actor: Actor, queryId: string, studyInstanceUids: string[]) {
  const q = await db.query.findUnique({ where: { id: queryId }, select: { id: true, poolId: true, connectorId: true } });
  if (!q) throw new AppError('NOT_FOUND', 'Query not found');
  const results = await db.queryResult.findMany({
    where: { queryId, studyInstanceUid: { in: studyInstanceUids } },
    include: { retrieval: true },
  });
  if (results.length !== new Set(studyInstanceUids).size)
    throw new AppError('VALIDATION', 'Some selected studies are not results of this query', { studyInstanceUids: ['unknown study'] });
  let retried = 0;
  // Every selected study at once (20 studies: three statements and the jobs, not 60 round trips).
  await db.queryResult.updateMany({ where: { id: { in: results.map((r) => r.id) } }, data: { selected: true } });
  const fresh = results.filter((r) => !r.retrieval);
  if (fresh.length) {
    // (A request racing this one creates the same rows: skipped here, and its jobs have the same ids.)
    await db.retrieval.createMany({
      data: fresh.map((r) => ({
        queryId,
        resultId: r.id,
        poolId: q.poolId,
        connectorId: q.connectorId,
        studyInstanceUid: r.studyInstanceUid,
        expected: r.numInstances ?? 0,
      })),
      skipDuplicates: true,
    });
    const order = new Map(fresh.map((r, i) => [r.id, i]));
    const created = (await db.retrieval.findMany({ where: { resultId: { in: fresh.map((r) => r.id) } }, select: { id: true, attempts: true, resultId: true } }))
      .sort((a, b) => order.get(a.resultId)! - order.get(b.resultId)!);
    // Added in the order selected (BullMQ takes them in the order added).
    for (const ret of created) await enqueue('retrieval.move', { retrievalId: ret.id, generation: ret.attempts }, { jobId: jobId.move(ret.id, ret.attempts) });
  }
  const queued = fresh.length;
  for (const r of results) {
    if (r.retrieval && (RETRYABLE as readonly string[]).includes(r.retrieval.state)) {
      await retryRetrieval(actor, r.retrieval.id, { audit: false });
      retried++;
    }
  }
  await audit({
    userId: actor.userId,
    action: 'retrieval.request',
    poolId: q.poolId,
    targetType: 'query',
    targetId: queryId,
    detail: { studies: results.length, queued, retried },
  });
  return { queued, retried, unchanged: results.length - queued - retried };
}

/** A user retry: new generation, so BullMQ's deterministic job id is new too. */
export async function retryRetrieval(actor: Actor, retrievalId: string, opts: { audit?: boolean } = {}) {
  const r = await db.retrieval.findUnique({ where: { id: retrievalId } });
  if (!r) throw new AppError('NOT_FOUND', 'Retrieval not found');
  if (!(RETRYABLE as readonly string[]).includes(r.state)) throw new AppError('CONFLICT', `This study is ${r.state.toLowerCase()}; only failed, partial or cancelled studies can be retried`);
  // Instances whose de-identification failed are asked for again (their records go with the count).
  const [, updated] = await db.$transaction([
    db.retrievalInstance.deleteMany({ where: { retrievalId: r.id, outcome: 'failed' } }),
    db.retrieval.update({
      where: { id: r.id },
      data: { state: 'QUEUED', attempts: { increment: 1 }, lastError: null, finishedAt: null, failed: 0 },
    }),
  ]);
  await enqueue('retrieval.move', { retrievalId: r.id, generation: updated.attempts }, { jobId: jobId.move(r.id, updated.attempts) });
  if (opts.audit !== false)
    await audit({ userId: actor.userId, action: 'retrieval.retry', poolId: r.poolId, targetType: 'retrieval', targetId: r.id });
  return updated;
}

export async function cancelRetrieval(actor: Actor, retrievalId: string) {
  const r = await db.retrieval.findUnique({ where: { id: retrievalId } });
  if (!r) throw new AppError('NOT_FOUND', 'Retrieval not found');
  if (['DONE', 'CANCELLED'].includes(r.state)) return r;
  const updated = await db.retrieval.update({ where: { id: r.id }, data: { state: 'CANCELLED', finishedAt: new Date() } });
  await audit({ userId: actor.userId, action: 'retrieval.cancel', poolId: r.poolId, targetType: 'retrieval', targetId: r.id });
  return updated;
}
