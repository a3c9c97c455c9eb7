/**
 * Putting one instance into a pool: de-identify it with the pool's rules (in a worker thread),
 * move the result into the pool's storage under research UIDs, and index it. Shared by
 * retrievals, pushes and STOW-RS.
 */
import { constants as fsConstants, renameSync, unlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createDeidPool, type DeidJobResult } from '../anonymize/pool';
import type { RuleSet } from '../anonymize/rules';
import { db, Prisma, type Pool } from '../db';
import { AppError } from '../errors';
import { crashPoint } from '../testing/crash-point';
import { absolute, ensureDir, poolInstanceRelPath, quarantineRelPath, storageRoot } from '../storage';
import type { DeidIdentity } from '../anonymize/engine';
import type { DeidIndex } from '../anonymize/index-fields';
import { recordDeidSummary } from '../reports/record-deid-summary';
import { enqueueOcr } from '../ocr/run-ocr';
import { CLOSED_MARK, isPoolClosedError, poolOpenCheck, PoolClosedError } from '../pools/closeout';
import { provenanceUpsert, provenanceUpsertSql, type ProvenanceEvent } from '../pools/provenance';

type DeidPool = ReturnType<typeof createDeidPool>;
const g = globalThis as unknown as { __tributaryDeidPool?: DeidPool };

export function deidPool(): DeidPool {
  return (g.__tributaryDeidPool ??= createDeidPool());
}

export async function closeDeidPool() {
  const p = g.__tributaryDeidPool;
  g.__tributaryDeidPool = undefined;
  if (p) await p.close();
}

/**
 * Prisma's upsert is a read-then-write: two instances of a new study arriving together can both
 * try to insert it. The loser of that race retries and finds the row.
 */
async function upsertRace<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt < 3 && e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') continue;
      throw e;
    }
  }
}

/**
 * The instance is already in the pool (indexed, or held in its quarantine) and the caller asked
 * not to replace it: its bytes stay as they are. `instanceId` is the indexed row's id, when there is one.
 */
export class DuplicateInstanceError extends AppError {
  constructor(public readonly instanceId: string | null) {
    super('CONFLICT', 'This instance is already in the pool; it is not replaced');
  }
}

const isUniqueViolation = (e: unknown) => e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';

/**
 * Puts `from` at `to` only if nothing is there yet (a hard link fails with EEXIST, atomically;
 * a copy with COPYFILE_EXCL where links are not supported). Throws DuplicateInstanceError otherwise.
 */
async function placeNew(from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new DuplicateInstanceError(null);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
    try {
      await fs.copyFile(from, to, fsConstants.COPYFILE_EXCL);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') throw new DuplicateInstanceError(null);
      throw e2;
    }
  }
}

async function existingInstanceId(poolId: string, sopInstanceUid: string): Promise<string | null> {
  const row = await db.instance.findUnique({ where: { poolId_sopInstanceUid: { poolId, sopInstanceUid } }, select: { id: true } });
  return row?.id ?? null;
}

export type IngestOutcome =
  | { kind: 'stored'; studyId: string; sourceSeriesUid: string; sourceSopUid: string }
  | { kind: 'quarantined'; reason: string; sourceSeriesUid: string; sourceSopUid: string };

export async function storeDeidentified(opts: {
  pool: Pick<Pool, 'id' | 'secret' | 'ruleVersion'>;
  rules: RuleSet;
  /** Research identity and the lookup tables of the rules (lib/pools/identity.ts deidIdentityFor). */
  identity: DeidIdentity;
  inPath: string;
  sourcePatientId: string;
  retrievalId?: string | null;
  /**
   * false: an instance whose research SOP Instance UID is already in the pool (indexed or held in
   * quarantine) is refused with DuplicateInstanceError and its stored bytes stay untouched
   * (STOW-RS). Default true: a retrieval that resumes stores the same instance again.
   */
  replace?: boolean;
  /** Extra writes committed atomically with the index rows (e.g. removing the staged row). */
  alsoCommit?: (tx: typeof db, done: { kind: IngestOutcome['kind']; sourceSeriesUid: string; sourceSopUid: string }) => Prisma.PrismaPromise<unknown>[];
  /**
   * Where this instance came from (lib/pools/provenance.ts): recorded on its study in the same
   * transaction as the index row. A quarantined instance gets it when it is released.
   */
  provenance?: ProvenanceEvent;
}): Promise<IngestOutcome> {
  return withDeidentified(opts, async (res, tmp, tmpQuarantine) => {
    const source = { sourceSeriesUid: res.sourceUids.series, sourceSopUid: res.sourceUids.sop };
    const noReplace = opts.replace === false;
    if (noReplace) {
      const id = await existingInstanceId(opts.pool.id, res.targetUids.sop);
      if (id) throw new DuplicateInstanceError(id);
    }
    if (res.quarantine) return await holdQuarantined(opts, res, tmpQuarantine, noReplace, source);
    const rel = poolInstanceRelPath(opts.pool.id, res.targetUids.study, res.targetUids.series, res.targetUids.sop);
    const abs = absolute(rel);
    // (Fsynced by the de-identification job: withDeidentified.)
    if (noReplace) {
      await ensureDir(path.dirname(abs));
      await placeNew(tmp, abs);
    } else await renameInto(tmp, abs);
    crashPoint('deid.after-write');
    const poolId = opts.pool.id;
    const { studyId } = await indexDeidentified({
      replace: opts.replace,
      poolId,
      path: rel,
      size: res.size,
      sopClassUid: res.sopClassUid,
      transferSyntaxUid: res.transferSyntaxUid,
      targetUids: res.targetUids,
      index: res.index,
      identity: opts.identity,
      ruleVersion: opts.pool.ruleVersion,
      alsoCommit: (studyId) => [
        ...(opts.provenance ? [provenanceUpsert(studyId, poolId, opts.pool.ruleVersion, opts.provenance)] : []),
        recordDeidSummary({ poolId, sopInstanceUid: res.targetUids.sop, ruleVersion: opts.pool.ruleVersion, outcome: 'stored', summary: res.summary }),
        db.studyIdentity.upsert({
          where: { poolId_sourceStudyUid: { poolId, sourceStudyUid: res.sourceUids.study } },
          create: { poolId, sourceStudyUid: res.sourceUids.study, researchStudyUid: res.targetUids.study, sourcePatientId: opts.sourcePatientId },
          update: {},
        }),
        ...(opts.alsoCommit ? opts.alsoCommit(db, { kind: 'stored', ...source }) : []),
      ],
    }).catch(async (e) => {
      // Not replacing: the file placed above is ours alone (the path was free), so it goes. A
      // closed pool (purge under way) keeps nothing, whoever placed the file.
      const closed = isPoolClosedError(e);
      if (noReplace || closed) await fs.rm(abs, { force: true }).catch(() => undefined);
      throw closed ? new PoolClosedError() : e;
    });
    return { kind: 'stored', studyId, ...source };
  });
}

type StoreOpts = Parameters<typeof storeDeidentified>[0];

/**
 * De-identifies opts.inPath in the worker-thread pool into two temporary files of the storage
 * root (the output, and the quarantine copy when held), hands them to `use`, and removes whatever
 * `use` left of them (a file it renamed into place is gone already).
 */
async function withDeidentified<T>(
  opts: Pick<StoreOpts, 'inPath' | 'rules' | 'pool' | 'identity'>,
  use: (res: DeidJobResult, tmp: string, tmpQuarantine: string) => Promise<T>,
): Promise<T> {
  // (The worker creates the folder when it is missing.)
  const tmpDir = path.join(storageRoot(), 'tmp');
  const tmp = path.join(tmpDir, `${randomUUID()}.dcm`);
  const tmpQuarantine = path.join(tmpDir, `${randomUUID()}.q.dcm`);
  let written: DeidJobResult['written'] = 'none';
  try {
    const res = await deidPool().run({
      inPath: opts.inPath,
      outPath: tmp,
      quarantinePath: tmpQuarantine,
      rules: opts.rules,
      uidSecret: opts.pool.secret,
      identity: opts.identity,
      ruleVersion: opts.pool.ruleVersion,
      // On disk before it is renamed into place and indexed: the caller deletes the original once
      // the index commits, so the de-identified copy must survive a power cut from then on.
      fsync: true,
    });
    written = res.written;
    return await use(res, tmp, tmpQuarantine);
  } finally {
    // Whatever `use` did not rename into place (a failed job leaves nothing: the worker removes it).
    // Synchronous: usually the file is gone already (renamed), and asking costs microseconds.
    if (written !== 'none') {
      try {
        unlinkSync(written === 'out' ? tmp : tmpQuarantine);
      } catch {
        // gone: renamed into place
      }
    }
  }
}

/**
 * Renames a finished (fsynced) file into its folder of the pool's storage, creating the folder only
 * when missing. Synchronous, as the SCP's rename into staging is: a rename within one file system
 * is a metadata operation of microseconds, where a trip through libuv's pool costs the busy main
 * thread a wake-up and a callback (bench/retrieve --profile).
 */
async function renameInto(from: string, to: string): Promise<void> {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await ensureDir(path.dirname(to));
    renameSync(from, to);
  }
}

/** A de-identified instance whose pixels may carry burned-in text: held in the pool's quarantine (file and row committed), OCR queued. */
async function holdQuarantined(
  opts: Pick<StoreOpts, 'pool' | 'retrievalId' | 'sourcePatientId' | 'alsoCommit'>,
  res: DeidJobResult,
  tmpQuarantine: string,
  noReplace: boolean,
  source: { sourceSeriesUid: string; sourceSopUid: string },
): Promise<IngestOutcome> {
  // Held for the pool owner: the de-identified file waits outside the pool's storage.
  const rel = quarantineRelPath(opts.pool.id, res.targetUids.sop);
  // A pending one has its file in place; a dropped one (file gone) may be held again.
  if (noReplace) {
    await ensureDir(path.dirname(absolute(rel)));
    await placeNew(tmpQuarantine, absolute(rel));
  } else await renameInto(tmpQuarantine, absolute(rel));
  const data = {
    retrievalId: opts.retrievalId ?? null,
    // The reason codes of lib/anonymize/burned-in.ts (the quarantine view shows their text).
    reason: res.quarantine!.codes.join(' '),
    studyInstanceUid: res.targetUids.study,
    seriesInstanceUid: res.targetUids.series,
    sopClassUid: res.sopClassUid,
    modality: res.index.modality ?? '',
    path: rel,
    size: res.size,
    ruleVersion: opts.pool.ruleVersion,
    // Read by OCR next (lib/ocr/run-ocr.ts); a held-again instance is read again.
    ocrStatus: 'pending',
    ocrError: null,
    ocrBoxCount: null,
    ocrFrames: null,
    ocrAt: null,
  };
  const [, held] = await upsertRace(() =>
    db.$transaction([
      poolOpenCheck(opts.pool.id),
      db.quarantinedInstance.upsert({
        where: { poolId_sopInstanceUid: { poolId: opts.pool.id, sopInstanceUid: res.targetUids.sop } },
        create: { poolId: opts.pool.id, sopInstanceUid: res.targetUids.sop, ...data },
        update: { ...data, decision: null, decidedAt: null, decidedById: null },
      }),
      recordDeidSummary({ poolId: opts.pool.id, sopInstanceUid: res.targetUids.sop, ruleVersion: opts.pool.ruleVersion, outcome: 'quarantined', summary: res.summary }),
      // The identity map knows the study even while all of it is held (a release indexes it later).
      db.studyIdentity.upsert({
        where: { poolId_sourceStudyUid: { poolId: opts.pool.id, sourceStudyUid: res.sourceUids.study } },
        create: { poolId: opts.pool.id, sourceStudyUid: res.sourceUids.study, researchStudyUid: res.targetUids.study, sourcePatientId: opts.sourcePatientId },
        update: {},
      }),
      ...(opts.alsoCommit ? opts.alsoCommit(db, { kind: 'quarantined', ...source }) : []),
    ]),
  ).catch(async (e) => {
    // The pool was closed (purged) meanwhile: nothing of this instance may stay behind.
    if (isPoolClosedError(e)) {
      await fs.rm(absolute(rel), { force: true }).catch(() => undefined);
      throw new PoolClosedError();
    }
    throw e;
  });
  await enqueueOcr([(held as { id: string }).id]);
  return { kind: 'quarantined', reason: res.quarantine!.reason, ...source };
}

/**
 * The Study, Series and Instance row values an indexed instance carries, from its de-identified
 * index fields (`identity`: the research ID and name when the file lacks PatientID/PatientName).
 * One mapping for both indexers: one instance through Prisma (indexDeidentified) and a batch in
 * raw statements (indexPlacedBatch).
 */
function studyValues(ix: DeidIndex, identity: { researchId: string; researchName: string }) {
  return {
    patientId: ix.patientId ?? identity.researchId,
    patientName: ix.patientName ?? identity.researchName,
    patientSex: ix.patientSex ?? '',
    patientBirthDate: ix.patientBirthDate ?? '',
    studyDate: ix.studyDate ?? '',
    studyTime: ix.studyTime ?? '',
    studyDescription: ix.studyDescription ?? '',
    accessionNumber: ix.accessionNumber ?? '',
    studyId: ix.studyId ?? '',
  };
}

function seriesValues(ix: DeidIndex) {
  return {
    modality: ix.modality ?? '',
    seriesNumber: ix.seriesNumber ?? null,
    seriesDescription: ix.seriesDescription ?? '',
    bodyPartExamined: ix.bodyPartExamined ?? '',
  };
}

function imageValues(ix: DeidIndex) {
  return {
    instanceNumber: ix.instanceNumber ?? null,
    rows: ix.rows ?? null,
    columns: ix.columns ?? null,
    numberOfFrames: ix.numberOfFrames ?? null,
  };
}

/**
 * Indexes one de-identified file that is already at its place in the pool's storage (`path`,
 * relative to the storage root): the Study and Series rows are upserted by research UIDs, then the
 * Instance row is committed together with `alsoCommit` (e.g. the staged row's removal, the
 * retrieval's per-instance record, a quarantine decision). Shared by storeDeidentified and the
 * release of a quarantined instance (lib/pools/quarantine.ts), so both index exactly alike.
 */
export async function indexDeidentified(opts: {
  poolId: string;
  path: string;
  size: number;
  sopClassUid: string;
  transferSyntaxUid: string;
  targetUids: { study: string; series: string; sop: string };
  /** Index fields read back from the de-identified file (research values only). */
  index: DeidIndex;
  /** Fallbacks when the file lacks PatientID / PatientName. */
  identity: { researchId: string; researchName: string };
  ruleVersion: number;
  /** Called for each attempt of the final transaction (a lost upsert race retries it), with the study row's id. */
  alsoCommit?: (studyId: string) => Prisma.PrismaPromise<unknown>[];
  /** false: the Instance row is created, never updated (DuplicateInstanceError if it exists). */
  replace?: boolean;
}): Promise<{ studyId: string }> {
  const { poolId, targetUids } = opts;
  const ix = opts.index;
  const studyData = studyValues(ix, opts.identity);
  // Every write of the pool's index first passes the close-out barrier (lib/pools/closeout.ts).
  const [, study] = await upsertRace(() => db.$transaction([poolOpenCheck(poolId), db.study.upsert({
    where: { poolId_studyInstanceUid: { poolId, studyInstanceUid: targetUids.study } },
    create: { poolId, studyInstanceUid: targetUids.study, ...studyData },
    update: {},
  })]));
  const [, series] = await upsertRace(() => db.$transaction([poolOpenCheck(poolId), db.series.upsert({
    where: { poolId_seriesInstanceUid: { poolId, seriesInstanceUid: targetUids.series } },
    create: {
      poolId,
      studyId: study.id,
      seriesInstanceUid: targetUids.series,
      ...seriesValues(ix),
    },
    update: {},
  })]));
  const instanceData = {
    seriesId: series.id,
    sopClassUid: opts.sopClassUid,
    transferSyntaxUid: opts.transferSyntaxUid,
    ...imageValues(ix),
    path: opts.path,
    size: opts.size,
    ruleVersion: opts.ruleVersion,
  };
  // The counts on the Series and Study rows are recomputed from the Instance rows in the same
  // transaction as the instance itself: no crash between two writes can leave them wrong.
  if (opts.replace === false) {
    for (let attempt = 0; ; attempt++) {
      try {
        await db.$transaction([
          poolOpenCheck(poolId),
          lockStudy(study.id),
          db.instance.create({ data: { poolId, sopInstanceUid: targetUids.sop, ...instanceData } }),
          ...recountStudy(study.id),
          ...(opts.alsoCommit ? opts.alsoCommit(study.id) : []),
        ]);
        return { studyId: study.id };
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // Another writer got there first (this instance), or lost an upsert race of alsoCommit's rows (retry).
        const id = await existingInstanceId(poolId, targetUids.sop);
        if (id) throw new DuplicateInstanceError(id);
        if (attempt >= 3) throw e;
      }
    }
  }
  await upsertRace(() => db.$transaction([
    poolOpenCheck(poolId),
    lockStudy(study.id),
    db.instance.upsert({
      where: { poolId_sopInstanceUid: { poolId, sopInstanceUid: targetUids.sop } },
      create: { poolId, sopInstanceUid: targetUids.sop, ...instanceData },
      update: instanceData,
    }),
    ...recountStudy(study.id),
    ...(opts.alsoCommit ? opts.alsoCommit(study.id) : []),
  ]));
  return { studyId: study.id };
}

/**
 * Takes the study row's lock for the rest of the transaction. Every writer of a study's instances
 * or counts takes it first, so the recount below (a new statement, hence a new snapshot under
 * READ COMMITTED) sees every instance committed before it: two instances of one series committed
 * side by side can never both count "the other one is not there yet".
 */
function lockStudy(studyId: string) {
  return db.$queryRaw`SELECT "id" FROM "Study" WHERE "id" = ${studyId} FOR UPDATE`;
}

/**
 * Series and study counts (and the study's modalities) recomputed from the index rows. A series
 * counts once it holds an instance: its row is upserted before the instance's transaction, so a
 * crash in between can leave an empty one, which no count includes.
 */
function recountStudy(studyId: string) {
  return [
    db.$executeRaw`UPDATE "Series" s SET "numInstances" = (SELECT count(*) FROM "Instance" i WHERE i."seriesId" = s."id") WHERE s."studyId" = ${studyId}`,
    db.$executeRaw`UPDATE "Study" SET
        "numSeries" = (SELECT count(*) FROM "Series" WHERE "studyId" = ${studyId} AND "numInstances" > 0),
        "numInstances" = (SELECT coalesce(sum("numInstances"), 0) FROM "Series" WHERE "studyId" = ${studyId}),
        "modalities" = coalesce((SELECT string_agg(DISTINCT "modality" COLLATE "C", ${'\\'} ORDER BY "modality" COLLATE "C")
                                 FROM "Series" WHERE "studyId" = ${studyId} AND "numInstances" > 0 AND "modality" <> ''), ''),
        "updatedAt" = now()
      WHERE "id" = ${studyId}`,
  ];
}

/**
 * Recomputes series/study counts and study modalities from the index (idempotent; a repair tool:
 * every instance commit already recounts its study).
 */
export async function refreshStudyCounts(studyIds: string[]) {
  for (const studyId of new Set(studyIds)) await db.$transaction([lockStudy(studyId), ...recountStudy(studyId)]);
}

/**
 * A de-identified instance in its place in the pool's storage (written, fsynced, renamed), not
 * indexed yet: indexPlacedBatch commits several at once.
 */
export interface PlacedInstance {
  rel: string;
  res: DeidJobResult;
  sourceStudyUid: string;
  sourceSeriesUid: string;
  sourceSopUid: string;
}

/**
 * The first half of storeDeidentified (replacing: a resumed retrieval writes the same instance
 * again): de-identify in the worker-thread pool, then either hold it in quarantine (committed
 * here, with `alsoCommit`, as storeDeidentified does) or put the file in its place in the pool
 * and return it for indexPlacedBatch.
 */
export async function deidentifyAndPlace(opts: Omit<StoreOpts, 'replace'>): Promise<{ quarantined: IngestOutcome } | { placed: PlacedInstance }> {
  return withDeidentified(opts, async (res, tmp, tmpQuarantine) => {
    const source = { sourceSeriesUid: res.sourceUids.series, sourceSopUid: res.sourceUids.sop };
    if (res.quarantine) return { quarantined: await holdQuarantined(opts, res, tmpQuarantine, false, source) };
    const rel = poolInstanceRelPath(opts.pool.id, res.targetUids.study, res.targetUids.series, res.targetUids.sop);
    // (Fsynced by the de-identification job: withDeidentified.)
    await renameInto(tmp, absolute(rel));
    crashPoint('deid.after-write');
    return { placed: { rel, res, sourceStudyUid: res.sourceUids.study, ...source } };
  });
}

/**
 * Indexes placed instances of one pool in ONE transaction (the same rows as indexDeidentified,
 * replacing: Instance rows, de-identification summaries, identity-map entries, the studies'
 * recounted counts, and `alsoCommit`'s writes for all of them), so a crash commits all of them
 * or none. Study and Series rows are upserted first, as indexDeidentified does (an empty series
 * counts nowhere). Each study's lock is taken in id order (two batches never deadlock).
 */
export async function indexPlacedBatch(opts: {
  pool: Pick<Pool, 'id' | 'ruleVersion'>;
  identity: { researchId: string; researchName: string };
  sourcePatientId: string;
  items: PlacedInstance[];
  /**
   * Data-modifying statements (each ending in RETURNING) committed with the rows, written as more
   * CTEs of the batch's one index statement (the staged rows' removal, per-instance records).
   */
  alsoCommit?: Prisma.Sql[];
  /** Where these instances came from (lib/pools/provenance.ts): recorded on each of their studies. */
  provenance?: ProvenanceEvent;
  /**
   * Studies whose provenance row for this event is already committed (by an earlier batch of the
   * same step): not written again. The studies this batch records are added once it commits.
   * (Its lastStoredAt is moved when the retrieval finishes: markRetrievalProvenanceFinished.)
   */
  provenanceRecorded?: Set<string>;
}): Promise<void> {
  try {
    await indexPlaced(opts);
  } catch (e) {
    // A closed pool (purge under way) keeps nothing: the placed files go.
    if (!isPoolClosedError(e)) throw e;
    await Promise.all(opts.items.map((p) => fs.rm(absolute(p.rel), { force: true }).catch(() => undefined)));
    throw new PoolClosedError();
  }
}

/**
 * The batch's rows in a few raw statements (one JSON parameter each), not ~30 Prisma round trips:
 * at one batch per handful of instances, Prisma's query compilation and the round trips were most
 * of the main thread's work during a pipelined retrieval (bench/retrieve --profile). The same rows
 * and the same order as indexDeidentified:
 *
 * 1. the batch's Study and Series rows, inserted if missing (one statement that passes the
 *    close-out barrier; an empty series counts nowhere), their ids read back;
 * 2. one transaction: the barrier and every study's lock (in id order: two batches never
 *    deadlock); the Instance rows (replaced when there: a resumed retrieval), the de-identification
 *    summaries, identity-map entries, the provenance of each study (once per step) and `alsoCommit`'s
 *    writes in one statement; then the series and study counts recomputed from the Instance rows (a statement
 *    of its own, so its snapshot is taken after the lock and sees every instance committed before).
 */
async function indexPlaced(opts: Parameters<typeof indexPlacedBatch>[0]): Promise<void> {
  const poolId = opts.pool.id;
  const ruleVersion = opts.pool.ruleVersion;
  const items = opts.items.map((p) => {
    const ix = p.res.index;
    return {
      study: p.res.targetUids.study,
      series: p.res.targetUids.series,
      sop: p.res.targetUids.sop,
      sourceStudy: p.sourceStudyUid,
      ...studyValues(ix, opts.identity),
      ...seriesValues(ix),
      sopClassUid: p.res.sopClassUid,
      transferSyntaxUid: p.res.transferSyntaxUid,
      ...imageValues(ix),
      path: p.rel,
      size: p.res.size,
      ...p.res.summary,
    };
  });
  const payload = JSON.stringify(items);
  // 1. Study and Series rows. A row another writer inserted after this statement's snapshot is
  //    neither inserted nor seen here: asked again (the next snapshot sees it).
  let ids: { studyUid: string; studyId: string; seriesUid: string | null; seriesId: string | null }[] = [];
  for (let attempt = 0; ; attempt++) {
    ids = await db.$queryRaw<typeof ids>`
      WITH chk AS (
        SELECT CASE WHEN "closedAt" IS NULL THEN true ELSE ("closedAt"::text || ${` ${CLOSED_MARK}`})::boolean END AS "open"
        FROM "Pool" WHERE "id" = ${poolId} FOR SHARE
      ), x AS (
        SELECT * FROM jsonb_to_recordset(${payload}::jsonb) AS x(study text, series text, "patientId" text, "patientName" text,
          "patientSex" text, "patientBirthDate" text, "studyDate" text, "studyTime" text, "studyDescription" text,
          "accessionNumber" text, "studyId" text, modality text, "seriesNumber" int, "seriesDescription" text, "bodyPartExamined" text)
        WHERE EXISTS (SELECT 1 FROM chk WHERE chk."open")
      ), st_new AS (
        INSERT INTO "Study" ("id", "poolId", "studyInstanceUid", "patientId", "patientName", "patientSex", "patientBirthDate",
          "studyDate", "studyTime", "studyDescription", "accessionNumber", "studyId", "createdAt", "updatedAt")
        SELECT DISTINCT ON (x.study) gen_random_uuid()::text, ${poolId}, x.study, x."patientId", x."patientName", x."patientSex",
          x."patientBirthDate", x."studyDate", x."studyTime", x."studyDescription", x."accessionNumber", x."studyId",
          now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
        FROM x ORDER BY x.study
        ON CONFLICT ("poolId", "studyInstanceUid") DO NOTHING
        RETURNING "id", "studyInstanceUid"
      ), st AS (
        SELECT "id", "studyInstanceUid" FROM st_new
        UNION ALL SELECT s."id", s."studyInstanceUid" FROM "Study" s
        WHERE s."poolId" = ${poolId} AND s."studyInstanceUid" IN (SELECT study FROM x)
      ), se_new AS (
        INSERT INTO "Series" ("id", "studyId", "poolId", "seriesInstanceUid", "modality", "seriesNumber", "seriesDescription", "bodyPartExamined")
        SELECT DISTINCT ON (x.series) gen_random_uuid()::text, st."id", ${poolId}, x.series, x.modality, x."seriesNumber",
          x."seriesDescription", x."bodyPartExamined"
        FROM x JOIN st ON st."studyInstanceUid" = x.study ORDER BY x.series
        ON CONFLICT ("poolId", "seriesInstanceUid") DO NOTHING
        RETURNING "id", "seriesInstanceUid"
      ), se AS (
        SELECT "id", "seriesInstanceUid" FROM se_new
        UNION ALL SELECT s."id", s."seriesInstanceUid" FROM "Series" s
        WHERE s."poolId" = ${poolId} AND s."seriesInstanceUid" IN (SELECT series FROM x)
      )
      SELECT DISTINCT x.study AS "studyUid", st."id" AS "studyId", x.series AS "seriesUid", se."id" AS "seriesId"
      FROM x JOIN st ON st."studyInstanceUid" = x.study LEFT JOIN se ON se."seriesInstanceUid" = x.series`;
    const seriesSeen = new Set(ids.filter((r) => r.seriesId).map((r) => r.seriesUid));
    if (items.every((p) => seriesSeen.has(p.series))) break;
    if (attempt >= 3) throw new Error('Study or series rows of a batch could not be read back');
  }
  const studyIds = [...new Set(ids.map((r) => r.studyId))].sort();
  const seriesIds = Object.fromEntries(ids.map((r) => [r.seriesUid!, r.seriesId!]));
  const rows = JSON.stringify(items.map((p) => ({ ...p, seriesId: seriesIds[p.series] })));
  const identities = JSON.stringify([...new Map(items.map((p) => [p.sourceStudy, p.study]))].map(([source, research]) => ({ source, research })));
  const provenanceFor = opts.provenance ? studyIds.filter((id) => !opts.provenanceRecorded?.has(id)) : [];
  const extra = [
    ...(provenanceFor.length ? [Prisma.sql`${provenanceUpsertSql(provenanceFor, poolId, ruleVersion, opts.provenance!)} RETURNING 1`] : []),
    ...(opts.alsoCommit ?? []),
  ];
  const extraCtes = extra.length ? Prisma.sql`, ${Prisma.join(extra.map((q, i) => Prisma.sql`${Prisma.raw(`extra${i}`)} AS (${q})`), ', ')}` : Prisma.empty;
  const extraCount = Prisma.raw(extra.map((_, i) => ` + (SELECT count(*) FROM extra${i})`).join(''));
  // 2. One transaction.
  await db.$transaction([
    db.$queryRaw`
      WITH chk AS (
        SELECT CASE WHEN "closedAt" IS NULL THEN true ELSE ("closedAt"::text || ${` ${CLOSED_MARK}`})::boolean END AS "open"
        FROM "Pool" WHERE "id" = ${poolId} FOR SHARE
      )
      SELECT s."id" FROM "Study" s, chk WHERE s."id" = ANY(${studyIds}::text[]) AND chk."open" ORDER BY s."id" FOR UPDATE OF s`,
    db.$executeRaw`
      WITH x AS (
        SELECT * FROM jsonb_to_recordset(${rows}::jsonb) AS x("seriesId" text, sop text, "sopClassUid" text, "instanceNumber" int,
          "transferSyntaxUid" text, rows int, columns int, "numberOfFrames" int, path text, size int,
          removed int, emptied int, replaced int, kept int, shifted int, "uidRemapped" int, cleaned int, added int, "methodCodes" text[])
      ), ins AS (
        INSERT INTO "Instance" ("id", "seriesId", "poolId", "sopInstanceUid", "sopClassUid", "instanceNumber", "transferSyntaxUid",
          "rows", "columns", "numberOfFrames", "path", "size", "ruleVersion", "createdAt")
        SELECT gen_random_uuid()::text, x."seriesId", ${poolId}, x.sop, x."sopClassUid", x."instanceNumber", x."transferSyntaxUid",
          x.rows, x.columns, x."numberOfFrames", x.path, x.size, ${ruleVersion}, now() AT TIME ZONE 'UTC'
        FROM x
        ON CONFLICT ("poolId", "sopInstanceUid") DO UPDATE SET "seriesId" = EXCLUDED."seriesId", "sopClassUid" = EXCLUDED."sopClassUid",
          "instanceNumber" = EXCLUDED."instanceNumber", "transferSyntaxUid" = EXCLUDED."transferSyntaxUid", "rows" = EXCLUDED."rows",
          "columns" = EXCLUDED."columns", "numberOfFrames" = EXCLUDED."numberOfFrames", "path" = EXCLUDED."path",
          "size" = EXCLUDED."size", "ruleVersion" = EXCLUDED."ruleVersion"
        RETURNING 1
      ), sm AS (
        INSERT INTO "DeidInstanceSummary" ("poolId", "sopInstanceUid", "ruleVersion", "outcome", "removed", "emptied", "replaced",
          "kept", "shifted", "uidRemapped", "cleaned", "added", "methodCodes", "updatedAt")
        SELECT ${poolId}, x.sop, ${ruleVersion}, 'stored', x.removed, x.emptied, x.replaced, x.kept, x.shifted, x."uidRemapped",
          x.cleaned, x.added, coalesce(x."methodCodes", ARRAY[]::text[]), now() AT TIME ZONE 'UTC'
        FROM x
        ON CONFLICT ("poolId", "sopInstanceUid") DO UPDATE SET "ruleVersion" = EXCLUDED."ruleVersion", "outcome" = EXCLUDED."outcome",
          "removed" = EXCLUDED."removed", "emptied" = EXCLUDED."emptied", "replaced" = EXCLUDED."replaced", "kept" = EXCLUDED."kept",
          "shifted" = EXCLUDED."shifted", "uidRemapped" = EXCLUDED."uidRemapped", "cleaned" = EXCLUDED."cleaned",
          "added" = EXCLUDED."added", "methodCodes" = EXCLUDED."methodCodes", "updatedAt" = EXCLUDED."updatedAt"
        RETURNING 1
      ), idn AS (
        INSERT INTO "StudyIdentity" ("id", "poolId", "sourceStudyUid", "researchStudyUid", "sourcePatientId", "createdAt")
        SELECT gen_random_uuid()::text, ${poolId}, i.source, i.research, ${opts.sourcePatientId}, now() AT TIME ZONE 'UTC'
        FROM jsonb_to_recordset(${identities}::jsonb) AS i(source text, research text)
        ON CONFLICT ("poolId", "sourceStudyUid") DO NOTHING
        RETURNING 1
      )${extraCtes}
      SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM sm) + (SELECT count(*) FROM idn)${extraCount}`,
    db.$executeRaw`
      WITH se AS (
        UPDATE "Series" s SET "numInstances" = (SELECT count(*) FROM "Instance" i WHERE i."seriesId" = s."id")
        WHERE s."studyId" = ANY(${studyIds}::text[])
        RETURNING s."studyId", s."numInstances", s."modality"
      )
      UPDATE "Study" st SET "numSeries" = a.ns, "numInstances" = a.ni, "modalities" = a.mods, "updatedAt" = now()
      FROM (
        SELECT "studyId", count(*) FILTER (WHERE "numInstances" > 0) AS ns, coalesce(sum("numInstances"), 0) AS ni,
          coalesce(string_agg(DISTINCT "modality" COLLATE "C", ${'\\'} ORDER BY "modality" COLLATE "C")
            FILTER (WHERE "numInstances" > 0 AND "modality" <> ''), '') AS mods
        FROM se GROUP BY "studyId"
      ) a
      WHERE st."id" = a."studyId"`,
  ]);
  for (const id of provenanceFor) opts.provenanceRecorded?.add(id);
}
