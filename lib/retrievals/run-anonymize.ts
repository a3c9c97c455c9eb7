/**
 * The de-identify step of a retrieval: every staged instance goes through the target pool's
 * rules into the pool's storage and index, then its staged original is deleted. Each instance
 * is committed on its own (index row, staged-row removal and counter in one transaction), so a
 * crash resumes with what is left and never counts an instance twice.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ruleSetSchema } from '../anonymize/rules';
import { audit } from '../audit';
import { db } from '../db';
import { logger } from '../logger';
import { resolvePatientIdentity } from '../pools/identity';
import { refreshStudyCounts, storeDeidentified } from '../pools/ingest';
import { pruneEmptyDirs, stagingDir } from '../storage';
import { dropStaged } from './staging';

const log = logger('retrieval.anonymize');
const BATCH = 32;

export async function runAnonymize(retrievalId: string, generation: number): Promise<void> {
  const r = await db.retrieval.findUnique({
    where: { id: retrievalId },
    include: { pool: true, result: { include: { item: true } }, connector: { select: { receivingPoolId: true } } },
  });
  if (!r || r.attempts !== generation || r.state === 'CANCELLED' || r.state === 'DONE') return;
  const { pool } = r;
  const rules = ruleSetSchema.parse(pool.rules);
  const identity = await resolvePatientIdentity({
    poolId: pool.id,
    poolSecret: pool.secret,
    sourcePatientId: r.result.patientId,
    researchId: r.result.item.researchId,
    researchName: r.result.item.researchName,
  });
  const studyIds: string[] = [];
  let quarantined = 0;
  for (;;) {
    const batch = await db.stagedInstance.findMany({ where: { retrievalId: r.id }, take: BATCH, orderBy: { receivedAt: 'asc' } });
    if (!batch.length) break;
    const current = await db.retrieval.findUnique({ where: { id: r.id }, select: { state: true } });
    if (current?.state === 'CANCELLED') break;
    await Promise.all(
      batch.map(async (s) => {
        try {
          const outcome = await storeDeidentified({
            pool,
            rules,
            identity,
            inPath: s.path,
            sourcePatientId: r.result.patientId,
            alsoCommit: (tx) => [
              tx.stagedInstance.delete({ where: { id: s.id } }),
              tx.retrieval.update({ where: { id: r.id }, data: { stored: { increment: 1 } } }),
            ],
          });
          if (outcome.kind === 'stored') studyIds.push(outcome.studyId);
          else {
            quarantined++;
            await dropStaged(s);
          }
          await fs.rm(s.path, { force: true });
        } catch (e) {
          log.warn('instance failed de-identification', { retrievalId: r.id, err: e instanceof Error ? e.message : String(e) });
          await db.retrieval.update({ where: { id: r.id }, data: { failed: { increment: 1 } } });
          await dropStaged(s);
        }
      }),
    );
    await refreshStudyCounts(studyIds.splice(0));
  }
  const dir = stagingDir(r.connector.receivingPoolId);
  await pruneEmptyDirs(path.join(dir, r.studyInstanceUid), dir);
  const done = await db.retrieval.findUniqueOrThrow({ where: { id: r.id } });
  if (done.state === 'CANCELLED') return;
  const complete = done.failed === 0 && done.stored + quarantined >= done.expected;
  await db.retrieval.update({
    where: { id: r.id },
    data: {
      state: complete ? 'DONE' : 'PARTIAL',
      finishedAt: new Date(),
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
