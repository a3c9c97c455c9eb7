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
import { statSync, unlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ruleSetSchema } from '../anonymize/rules';
import { audit } from '../audit';
import { db, Prisma, type Pool, type StagedInstance } from '../db';
import { AppError } from '../errors';
import type { RuleSet } from '../anonymize/rules';
import type { DeidIdentity } from '../anonymize/engine';
import { logger } from '../logger';
import { deidIdentityFor, identityForRetrieval, type IdentitySource } from '../pools/identity';
import { markRetrievalProvenanceFinished, markRetrievalProvenanceStored, retrievalProvenance, type ProvenanceEvent } from '../pools/provenance';
import { deidentifyAndPlace, indexPlacedBatch, storeDeidentified, type IngestOutcome, type PlacedInstance } from '../receive/ingest';
import { isSafeUid } from '../dicom/uids';
import { crashPoint } from '../testing/crash-point';
import { pruneEmptyDirs, stagingDir, stagingStudyDir } from '../storage';
import { dropStagedFor } from '../receive/staging';

const log = logger('retrieval.anonymize');
const BATCH = 32;

/** stored = instances of this retrieval now in the pool, counted from their records (exact after a crash). */
export async function refreshStoredCount(retrievalId: string): Promise<{ state: string; attempts: number } | null> {
  // One raw statement (the pipeline runs it twice a second per moving study): the count, the
  // update, and the state and generation the pipeline checks.
  const [row] = await db.$queryRaw<{ state: string; attempts: number }[]>`
    UPDATE "Retrieval" SET "stored" = (SELECT count(*)::int FROM "RetrievalInstance" WHERE "retrievalId" = ${retrievalId} AND "outcome" = 'stored'),
      "updatedAt" = now() AT TIME ZONE 'UTC'
    WHERE "id" = ${retrievalId}
    RETURNING "state"::text AS "state", "attempts"`;
  return row ?? null;
}

/** What de-identifying one retrieval's instances needs: its pool, rules and research identity. */
export interface DeidContext {
  retrievalId: string;
  pool: Pool;
  rules: RuleSet;
  identity: DeidIdentity;
  sourcePatientId: string;
  /** Where the study came from (connector, query, method, identity source): recorded on the study
   *  with each instance's index row (lib/pools/provenance.ts). */
  provenance?: ProvenanceEvent;
  /** Studies whose provenance row this step has committed already (lib/receive/ingest.ts indexPlacedBatch). */
  provenanceRecorded?: Set<string>;
}

type StagedRow = Pick<StagedInstance, 'id' | 'path' | 'receivingPoolId' | 'sopInstanceUid'>;

/**
 * What commits with one staged instance's outcome (index rows, or its quarantine record): the
 * staged row's removal and the retrieval's per-instance record.
 */
function stagedOutcome(ctx: DeidContext, s: StagedRow): NonNullable<Parameters<typeof storeDeidentified>[0]['alsoCommit']> {
  return (tx, done) => [
    tx.stagedInstance.delete({ where: { id: s.id } }),
    tx.retrievalInstance.upsert({
      where: { retrievalId_sourceSopUid: { retrievalId: ctx.retrievalId, sourceSopUid: done.sourceSopUid } },
      create: { retrievalId: ctx.retrievalId, sourceSopUid: done.sourceSopUid, sourceSeriesUid: done.sourceSeriesUid, outcome: done.kind },
      update: { outcome: done.kind },
    }),
  ];
}

/**
 * One staged instance into the pool: de-identified (worker-thread pool), indexed with its
 * per-instance record and the staged row's removal in one transaction, then the original
 * unlinked. Never throws: an instance that cannot be de-identified is dropped and counted as
 * failed. Shared by this step and the move's pipeline (lib/retrievals/pipeline.ts), so both
 * keep the same crash guarantees.
 */
export async function deidentifyStaged(ctx: DeidContext, s: StagedRow, opts: { prune?: boolean } = {}): Promise<IngestOutcome['kind'] | 'failed'> {
  try {
    crashPoint('deid.before-write');
    const out = await storeDeidentified({
      pool: ctx.pool,
      rules: ctx.rules,
      identity: ctx.identity,
      inPath: s.path,
      sourcePatientId: ctx.sourcePatientId,
      retrievalId: ctx.retrievalId,
      provenance: ctx.provenance,
      // The per-instance record (counters, "retry what is missing") commits with the index
      // rows and the staged row's removal, so a resumed job never counts an instance twice.
      alsoCommit: stagedOutcome(ctx, s),
    });
    // Committed: the index row is in and the staged row is gone; only now the original goes.
    // A crash right here leaves a staged file without a row, which the staging
    // reconciliation (lib/receive/reconcile-staging.ts) deletes.
    crashPoint('deid.after-commit');
    await fs.rm(s.path, { force: true });
    if (opts.prune !== false) await pruneEmptyDirs(path.dirname(s.path), stagingDir(s.receivingPoolId));
    return out.kind;
  } catch (e) {
    await failStaged(ctx, s, e, opts);
    return 'failed';
  }
}

/**
 * Several staged instances at once (the move's pipeline): each de-identified in the worker-thread
 * pool and put in its place in the pool, then all of them indexed in ONE transaction with their
 * per-instance records and the staged rows' removal (lib/receive/ingest.ts indexPlacedBatch), then
 * the originals unlinked. The same guarantees as deidentifyStaged, per batch: a crash before the
 * commit leaves every staged row (processed again: same research UIDs, same paths, rows
 * replaced); after it, at most orphan staged files (the staging reconciliation's). Quarantined
 * and failed instances are committed one by one, as in deidentifyStaged. If the batch's commit
 * fails, each instance goes through deidentifyStaged on its own.
 */
export async function deidentifyStagedBatch(ctx: DeidContext, rows: StagedRow[]): Promise<void> {
  const placed: { s: StagedRow; p: PlacedInstance }[] = [];
  // The file each row pointed at when we read it. The move is still running: the PACS may send
  // the same instance again (a resumed move), which the SCP renames onto the same staging path
  // with a new row once ours is gone. That file is not ours to delete.
  // (stat and unlink synchronous, as the SCP's rename into staging is: a few microseconds each,
  // where a trip through libuv's pool costs the busy main thread a wake-up and a callback.)
  const inodes = new Map<string, number>();
  const unlink = async (s: StagedRow) => {
    crashPoint('deid.after-commit');
    const now = statOrNull(s.path);
    if (now && inodes.has(s.id) && now.ino !== inodes.get(s.id)) return;
    // (No pruning of the study's staging folder: the SCP may be about to rename the next
    // instance into it. The anonymize step prunes it once the move has ended.)
    if (now) unlinkQuietly(s.path);
  };
  await Promise.all(
    rows.map(async (s) => {
      try {
        crashPoint('deid.before-write');
        const st = statOrNull(s.path);
        if (st) inodes.set(s.id, st.ino);
        const out = await deidentifyAndPlace({
          pool: ctx.pool,
          rules: ctx.rules,
          identity: ctx.identity,
          inPath: s.path,
          sourcePatientId: ctx.sourcePatientId,
          retrievalId: ctx.retrievalId,
          // Only for an instance held in quarantine (committed on its own, like deidentifyStaged).
          alsoCommit: stagedOutcome(ctx, s),
        });
        if ('placed' in out) placed.push({ s, p: out.placed });
        else await unlink(s);
      } catch (e) {
        await failStaged(ctx, s, e, { prune: false });
      }
    }),
  );
  if (!placed.length) return;
  const { retrievalId } = ctx;
  try {
    await indexPlacedBatch({
      pool: ctx.pool,
      identity: ctx.identity,
      sourcePatientId: ctx.sourcePatientId,
      provenance: ctx.provenance,
      items: placed.map((x) => x.p),
      provenanceRecorded: ctx.provenanceRecorded,
      // The staged rows' removal and the per-instance records, in the batch's index statement.
      alsoCommit: [
        Prisma.sql`DELETE FROM "StagedInstance" WHERE "id" = ANY(${placed.map((x) => x.s.id)}::text[]) RETURNING 1`,
        Prisma.sql`
          INSERT INTO "RetrievalInstance" ("id", "retrievalId", "sourceSopUid", "sourceSeriesUid", "outcome", "createdAt")
          SELECT gen_random_uuid()::text, ${retrievalId}, r.sop, r.series, 'stored', now() AT TIME ZONE 'UTC'
          FROM jsonb_to_recordset(${JSON.stringify(placed.map((x) => ({ sop: x.p.sourceSopUid, series: x.p.sourceSeriesUid })))}::jsonb) AS r(sop text, series text)
          ON CONFLICT ("retrievalId", "sourceSopUid") DO UPDATE SET "outcome" = 'stored'
          RETURNING 1`,
      ],
    });
  } catch (e) {
    log.warn('batch index failed; indexing one by one', { retrievalId, err: e });
    for (const x of placed) await deidentifyStaged(ctx, x.s, { prune: false });
    return;
  }
  for (const x of placed) await unlink(x.s);
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function unlinkQuietly(p: string) {
  try {
    unlinkSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** An instance that cannot be de-identified: dropped, recorded as failed, counted. */
async function failStaged(ctx: DeidContext, s: StagedRow, e: unknown, opts: { prune?: boolean } = {}): Promise<void> {
  log.warn('instance failed de-identification', { retrievalId: ctx.retrievalId, err: e });
  // The staged row goes with a 'failed' record and the count, in one transaction (a crash
  // cannot count it twice); the record tells the move not to ask the PACS for it again within
  // this attempt (a coordinator's Retry does: lib/retrievals/run-move.ts planMove). Then the
  // file (a crash in between leaves an orphan file, removed by the staging reconciliation).
  await db
    .$transaction([
      db.stagedInstance.delete({ where: { id: s.id } }),
      db.retrievalInstance.upsert({
        where: { retrievalId_sourceSopUid: { retrievalId: ctx.retrievalId, sourceSopUid: s.sopInstanceUid } },
        create: { retrievalId: ctx.retrievalId, sourceSopUid: s.sopInstanceUid, sourceSeriesUid: '', outcome: 'failed' },
        update: { outcome: 'failed' },
      }),
      db.retrieval.update({ where: { id: ctx.retrievalId }, data: { failed: { increment: 1 } } }),
    ])
    .catch(() => undefined);
  await fs.rm(s.path, { force: true });
  if (opts.prune !== false) await pruneEmptyDirs(path.dirname(s.path), stagingDir(s.receivingPoolId));
}

/**
 * The research identity of the retrieval's patient, quietly: null when it is refused (the
 * anonymize step then fails the study and says why, lib/pools/identity.ts identityForRetrieval).
 * Used by the pipeline, which must not settle the study while the move still runs.
 */
export async function deidContextQuiet(retrievalId: string): Promise<DeidContext | null> {
  const r = await db.retrieval.findUnique({ where: { id: retrievalId }, include: { pool: true, result: { include: { item: true } } } });
  // A closed pool (project close-out under way) gets nothing, not even an identity: the anonymize
  // step cancels the retrieval.
  if (!r || r.pool.closedAt) return null;
  const rules = ruleSetSchema.parse(r.pool.rules);
  try {
    let identitySource: IdentitySource = 'existing';
    const identity = await deidIdentityFor(
      r.pool,
      rules,
      { sourcePatientId: r.result.patientId, researchId: r.result.item.researchId, researchName: r.result.item.researchName },
      { onEntry: (e) => void (identitySource = e.source) },
    );
    const provenance = await retrievalProvenance(retrievalId, identitySource);
    return { retrievalId, pool: r.pool, rules, identity, sourcePatientId: r.result.patientId, provenance, provenanceRecorded: new Set() };
  } catch (e) {
    if (e instanceof AppError && (e.code === 'CONFLICT' || e.code === 'VALIDATION')) return null;
    throw e;
  }
}

/**
 * The move's pipeline hands its context (pool, rules, research identity, provenance, the studies
 * whose provenance is recorded) to the closing anonymize step of the same generation when that
 * runs in this process, which then skips resolving them again (identity, lookup tables,
 * provenance: about ten statements per study). Used only when the pool's rule version is still the
 * one the context was made with; at most a few hundred kept (a move that never reaches its
 * anonymize step here leaves one behind).
 */
const handedOver = new Map<string, DeidContext>();
const HANDED_OVER_MAX = 256;

export function handOverContext(generation: number, ctx: DeidContext): void {
  handedOver.set(`${ctx.retrievalId}:${generation}`, ctx);
  if (handedOver.size > HANDED_OVER_MAX) handedOver.delete(handedOver.keys().next().value!);
}

function takeHandedOver(retrievalId: string, generation: number, pool: Pick<Pool, 'id' | 'ruleVersion' | 'secret'>): DeidContext | null {
  const key = `${retrievalId}:${generation}`;
  const ctx = handedOver.get(key);
  handedOver.delete(key);
  if (!ctx || ctx.pool.id !== pool.id || ctx.pool.ruleVersion !== pool.ruleVersion || ctx.pool.secret !== pool.secret) return null;
  return ctx;
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
  let ctx: DeidContext;
  const piped = takeHandedOver(r.id, generation, pool);
  if (piped) {
    // The identity the pipeline resolved for this study (it created the map entry, if any).
    ctx = { ...piped, pool, rules };
  } else {
    // Research identity (existing, query row, lookup table, else pseudonym) and the lookup tables the
    // rules name. A research ID that belongs to another patient fails the study: never merged.
    const found = await identityForRetrieval(pool, rules, r);
    if ('refused' in found) return;
    // Where the study came from (connector, query, method, identity source): recorded on the study
    // with each instance's index row (lib/pools/provenance.ts).
    const provenance = await retrievalProvenance(r.id, found.identitySource);
    ctx = { retrievalId: r.id, pool, rules, identity: found.identity, sourcePatientId: r.result.patientId, provenance, provenanceRecorded: new Set() };
  }
  const dirs = new Set<string>();
  for (;;) {
    const batch = await db.stagedInstance.findMany({ where: { retrievalId: r.id }, take: BATCH, orderBy: { receivedAt: 'asc' } });
    if (!batch.length) break;
    const current = await db.retrieval.findUnique({ where: { id: r.id }, select: { state: true } });
    if (current?.state === 'CANCELLED') {
      await dropStagedFor(r.id);
      break;
    }
    // Side by side in the worker-thread pool, indexed in one transaction (as in the pipeline).
    await deidentifyStagedBatch(ctx, batch);
    for (const s of batch) dirs.add(path.dirname(s.path));
    await refreshStoredCount(r.id);
  }
  // The staging folders emptied here (the study's, and any other a sink used).
  for (const d of dirs) await pruneEmptyDirs(d, stagingDir(r.connector.receivingPoolId));
  // (The SCP never stages under an unsafe UID, so there is nothing to prune for one.)
  if (isSafeUid(r.studyInstanceUid)) await pruneEmptyDirs(stagingStudyDir(r.connector.receivingPoolId, r.studyInstanceUid), stagingDir(r.connector.receivingPoolId));
  await refreshStoredCount(r.id);
  const done = await db.retrieval.findUniqueOrThrow({ where: { id: r.id } });
  if (done.state === 'CANCELLED') {
    // (What was stored stays: its provenance says until when.)
    await markRetrievalProvenanceStored(r.id);
    return;
  }
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
