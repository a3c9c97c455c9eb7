/**
 * The de-identify step of a retrieval: every staged instance goes through the target pool's
 * rules into the pool's storage and index, then its staged original is deleted. Each instance
 * is committed on its own (index row, study/series counts, staged-row removal and the
 * per-instance record in one transaction), so a crash resumes with what is left and never
 * counts an instance twice. Order per instance: de-identified output written to a temp name,
 * fsynced, renamed into the pool; commit; unlink the original. A crash before the commit leaves
 * the staged row (processed again: same research UIDs, same path, upserted index row); a crash
 * after it leaves a file without a row, removed by the staging reconciliation.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ruleSetSchema } from '../anonymize/rules';
import { audit } from '../audit';
import { db } from '../db';
import { logger } from '../logger';
import { identityForRetrieval } from '../pools/identity';
import { markRetrievalProvenanceFinished, retrievalProvenance } from '../pools/provenance';
import { storeDeidentified } from '../receive/ingest';
import { isSafeUid } from '../dicom/uids';
import { crashPoint } from '../testing/crash-point';
import { pruneEmptyDirs, stagingDir, stagingStudyDir } from '../storage';
import { dropStaged, dropStagedFor } from '../receive/staging';

const log = logger('retrieval.anonymize');
const BATCH = 32;

/** stored = instances of this retrieval now in the pool, counted from their records (exact after a crash). */
async function refreshStoredCount(retrievalId: string) {
  const stored = await db.retrievalInstance.count({ where: { retrievalId, outcome: 'stored' } });
  await db.retrieval.update({ where: { id: retrievalId }, data: { stored } });
}

export async function runAnonymize(retrievalId: string, generation: number): Promise<void> {
  const r = await db.retrieval.findUnique({
    where: { id: retrievalId },
    include: { pool: true, result: { include: { item: true } }, connector: { select: { receivingPoolId: true } } },
  });
  if (!r || r.attempts !== generation || r.state === 'CANCELLED' || r.state === 'DONE') return;
  const { pool } = r;
  if (pool.closedAt) {
    // Project close-out under way (lib/pools/purge.ts): nothing more enters the pool, not even an identity.
    await dropStagedFor(r.id);
    await db.retrieval.updateMany({ where: { id: r.id, state: { notIn: ['DONE', 'CANCELLED'] } }, data: { state: 'CANCELLED', finishedAt: new Date() } });
    return;
  }
  const rules = ruleSetSchema.parse(pool.rules);
  // Research identity (existing, query row, lookup table, else pseudonym) and the lookup tables the
  // rules name. A research ID that belongs to another patient fails the study: never merged.
  const found = await identityForRetrieval(pool, rules, r);
  if ('refused' in found) return;
  const { identity } = found;
  // Where the study came from (connector, query, method, identity source): recorded on the study
  // with each instance's index row (lib/pools/provenance.ts).
  const provenance = await retrievalProvenance(r.id, found.identitySource);
  for (;;) {
    const batch = await db.stagedInstance.findMany({ where: { retrievalId: r.id }, take: BATCH, orderBy: { receivedAt: 'asc' } });
    if (!batch.length) break;
    const current = await db.retrieval.findUnique({ where: { id: r.id }, select: { state: true } });
    if (current?.state === 'CANCELLED') {
      await dropStagedFor(r.id);
      break;
    }
    await Promise.all(
      batch.map(async (s) => {
        try {
          crashPoint('deid.before-write');
          await storeDeidentified({
            pool,
            rules,
            identity,
            inPath: s.path,
            sourcePatientId: r.result.patientId,
            retrievalId: r.id,
            provenance,
            // The per-instance record (counters, "retry what is missing") commits with the index
            // rows and the staged row's removal, so a resumed job never counts an instance twice.
            alsoCommit: (tx, done) => [
              tx.stagedInstance.delete({ where: { id: s.id } }),
              tx.retrievalInstance.upsert({
                where: { retrievalId_sourceSopUid: { retrievalId: r.id, sourceSopUid: done.sourceSopUid } },
                create: { retrievalId: r.id, sourceSopUid: done.sourceSopUid, sourceSeriesUid: done.sourceSeriesUid, outcome: done.kind },
                update: { outcome: done.kind },
              }),
            ],
          });
          // Committed: the index row is in and the staged row is gone; only now the original goes.
          // A crash right here leaves a staged file without a row, which the staging
          // reconciliation (lib/receive/reconcile-staging.ts) deletes.
          crashPoint('deid.after-commit');
          await fs.rm(s.path, { force: true });
          await pruneEmptyDirs(path.dirname(s.path), stagingDir(s.receivingPoolId));
        } catch (e) {
          log.warn('instance failed de-identification', { retrievalId: r.id, err: e });
          // The staged original goes first: a crash in between can only under-count, never count twice.
          await dropStaged(s);
          await db.retrieval.update({ where: { id: r.id }, data: { failed: { increment: 1 } } });
        }
      }),
    );
    await refreshStoredCount(r.id);
  }
  // (The SCP never stages under an unsafe UID, so there is nothing to prune for one.)
  if (isSafeUid(r.studyInstanceUid)) await pruneEmptyDirs(stagingStudyDir(r.connector.receivingPoolId, r.studyInstanceUid), stagingDir(r.connector.receivingPoolId));
  await refreshStoredCount(r.id);
  const done = await db.retrieval.findUniqueOrThrow({ where: { id: r.id } });
  if (done.state === 'CANCELLED') return;
  const quarantined = await db.retrievalInstance.count({ where: { retrievalId: r.id, outcome: 'quarantined' } });
  const complete = done.failed === 0 && done.stored + quarantined >= done.expected;
  const finishedAt = new Date();
  await markRetrievalProvenanceFinished(r.id, finishedAt);
  await db.retrieval.update({
    where: { id: r.id },
    data: {
      state: complete ? 'DONE' : 'PARTIAL',
      finishedAt,
      lastError: complete ? null : (done.lastError ?? `${Math.max(done.expected - done.stored, done.failed)} instance(s) missing or failed`),
    },
  });
  await audit({
    action: 'retrieval.done',
    poolId: pool.id,
    targetType: 'retrieval',
    targetId: r.id,
    detail: { stored: done.stored, failed: done.failed, expected: done.expected, quarantined, complete },
  });
}
