/**
 * Project close-out (issue 12; docs/exports.md "Provenance and close-out"): the pool's OWNER
 * (lib/auth/access.ts need 'purge': not administrators, not tokens) destroys everything the pool
 * holds and receives a signed purge receipt (lib/receipts, kind "purge") listing what was
 * destroyed, counts and hashes, kept in the audit log.
 *
 * The pool row stays, closed (`closedAt`) then purged (`purgedAt`), so the audit log, the exports'
 * records and the receipt keep naming it; a closed pool takes no new data (lib/pools/closeout.ts).
 *
 * It runs in the request (no job): a research pool's files are deleted in seconds to minutes, and
 * the steps are idempotent, so an interrupted purge (crash, restart, timeout) is finished by
 * asking again (the same POST, or `resumePurges` at worker start). One PoolPurge row per pool
 * records the step reached; a lease (renewed per batch) keeps two runs from overlapping.
 *   1. inventory — close the pool (this UPDATE waits for index transactions in flight, and every
 *      later one fails: tributary_pool_open), cancel its queries, retrievals and exports, then list
 *      every file to destroy in PoolPurgeFile: index rows (instances, quarantine), staged
 *      originals of its retrievals and pushes, and whatever lies in its storage folders.
 *   2. files — per batch: hash (SHA-256) and size recorded, then unlinked, then marked deleted.
 *      A crash between unlink and mark finds the hash already recorded; a file gone before it was
 *      seen is counted as missing. The folders are walked again until empty, then removed.
 *   3. rows — one transaction deletes the index (Study → Series → Instance, provenance), the
 *      quarantine (OCR boxes, redactions), de-identification summaries, the identity map
 *      (PatientIdentity, StudyIdentity, LookupEntry), the pool's queries with their rows, results
 *      and retrievals (they hold MRNs and source UIDs) and staged rows, and records the counts.
 *   4. receipt — counts per kind, SHA-256 over the sorted research SOP Instance UIDs and over the
 *      sorted file SHA-256s, signed; the purge, the pool's purgedAt and the audit event
 *      `pool.purge` (receipt id and counts) commit together, and the file list is dropped.
 */
import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, type Prisma } from '../db';
import { AppError } from '../errors';
import { logger } from '../logger';
import { absolute, pruneEmptyDirs, storageRoot } from '../storage';
import { loadPurgeReceipt, signPurgeReceipt } from './purge-receipt';

const log = logger('pool.purge');

export const purgeInputSchema = z.object({
  confirm: z.string({ error: 'Type the pool’s name to confirm' }).max(300),
});

export type PurgeStep = 'inventory' | 'files' | 'rows' | 'receipt' | 'done';
const LEASE_MS = 60_000;
const BATCH = 64;
/** The storage folders that belong to one pool (lib/storage/index.ts layout). */
const AREAS = { pools: 'instance', quarantine: 'quarantine', thumbs: 'thumbnail', staging: 'staging' } as const;
const HASHED_KINDS = ['instance', 'quarantine'];

export interface PurgeHooks {
  /** Test hook: called after each step commits (a throw here simulates a crash between steps). */
  afterStep?: (step: PurgeStep) => void | Promise<void>;
}

/** What the close-out dialog says will be destroyed. */
export async function closeoutCounts(poolId: string) {
  const [studies, instances, quarantined, identities] = await Promise.all([
    db.study.count({ where: { poolId } }),
    db.instance.count({ where: { poolId } }),
    db.quarantinedInstance.count({ where: { poolId } }),
    db.patientIdentity.count({ where: { poolId } }),
  ]);
  return { studies, instances, quarantined, identities };
}

/** What the pool page and the API show about a purge. */
export async function purgeStatus(poolId: string) {
  const p = await db.poolPurge.findUnique({ where: { poolId } });
  if (!p) return null;
  return {
    id: p.id,
    step: p.step as PurgeStep,
    done: p.step === 'done',
    startedAt: p.startedAt,
    finishedAt: p.finishedAt,
    attempts: p.attempts,
    lastError: p.lastError,
    receiptId: p.receiptId,
    counts: p.counts,
  };
}

/**
 * POST /pools/{id}/purge. The caller was authorized as the pool's owner ('purge'); `confirm`
 * must be the pool's name exactly. Starts the purge, or resumes an interrupted one.
 */
export async function purgePool(actor: Actor, pool: { id: string; name: string }, input: { confirm: string }, hooks: PurgeHooks = {}) {
  const existing = await db.poolPurge.findUnique({ where: { poolId: pool.id } });
  // A purge under way renamed nothing, but compare with the name it started under too.
  if (input.confirm !== pool.name && input.confirm !== existing?.poolName) {
    throw new AppError('VALIDATION', 'Type the pool’s name exactly to confirm the purge', { confirm: ['does not match the pool’s name'] });
  }
  if (!existing) {
    await db.poolPurge.upsert({ where: { poolId: pool.id }, create: { poolId: pool.id, poolName: pool.name, requestedById: actor.userId }, update: {} });
  }
  await runPurge(pool.id, hooks);
  return (await purgeStatus(pool.id))!;
}

/** Runs (or resumes) the pool's purge to the end. CONFLICT when another run holds it. */
export async function runPurge(poolId: string, hooks: PurgeHooks = {}): Promise<void> {
  const now = new Date();
  const claimed = await db.poolPurge.updateMany({
    where: { poolId, step: { not: 'done' }, OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }] },
    data: { leaseUntil: new Date(now.getTime() + LEASE_MS), attempts: { increment: 1 }, lastError: null },
  });
  const purge = await db.poolPurge.findUnique({ where: { poolId } });
  if (!purge) throw new AppError('NOT_FOUND', 'No purge of this pool was asked for');
  if (purge.step === 'done') return;
  if (claimed.count !== 1) throw new AppError('CONFLICT', 'A purge of this pool is already running; try again in a minute');
  const renew = () => db.poolPurge.update({ where: { id: purge.id }, data: { leaseUntil: new Date(Date.now() + LEASE_MS) } });
  try {
    let step = purge.step as PurgeStep;
    while (step !== 'done') {
      if (step === 'inventory') step = await inventory(purge.id, poolId);
      else if (step === 'files') step = await deleteFiles(purge.id, poolId, renew);
      else if (step === 'rows') step = await deleteRows(purge.id, poolId);
      else if (step === 'receipt') step = await issueReceipt(purge.id, poolId, renew);
      await hooks.afterStep?.(step);
    }
    log.info('pool purged', { poolId, purgeId: purge.id });
  } catch (e) {
    log.error('pool purge interrupted', { poolId, purgeId: purge.id, err: e });
    await db.poolPurge
      .update({ where: { id: purge.id }, data: { leaseUntil: null, lastError: e instanceof AppError ? e.message : 'Interrupted; purge again to resume' } })
      .catch(() => undefined);
    throw e instanceof AppError ? e : new AppError('INTERNAL', 'The purge was interrupted; purge again to resume where it stopped');
  } finally {
    await db.poolPurge.updateMany({ where: { id: purge.id, step: 'done' }, data: { leaseUntil: null } }).catch(() => undefined);
  }
}

/** Worker start: finishes purges a crash left behind (their lease has expired). */
export async function resumePurges(): Promise<number> {
  const open = await db.poolPurge.findMany({ where: { step: { not: 'done' }, OR: [{ leaseUntil: null }, { leaseUntil: { lt: new Date() } }] }, select: { poolId: true } });
  let n = 0;
  for (const p of open) {
    try {
      await runPurge(p.poolId);
      n++;
    } catch (e) {
      log.warn('could not resume a pool purge', { poolId: p.poolId, err: e });
    }
  }
  return n;
}

function relToRoot(abs: string): string | null {
  const root = storageRoot();
  const p = path.resolve(abs);
  if (!p.startsWith(root + path.sep)) return null;
  return path.relative(root, p);
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/** Files lying in the pool's own storage folders, as ledger entries. */
async function filesInFolders(poolId: string) {
  const out: { path: string; kind: string; sopInstanceUid: string | null }[] = [];
  for (const [area, kind] of Object.entries(AREAS)) {
    for (const abs of await walk(path.join(storageRoot(), area, poolId))) {
      const rel = relToRoot(abs);
      if (!rel) continue;
      const sop = kind === 'instance' || kind === 'quarantine' ? path.basename(abs).replace(/\.dcm$/, '') : null;
      out.push({ path: rel, kind, sopInstanceUid: sop });
    }
  }
  return out;
}

async function addToLedger(purgeId: string, rows: { path: string; kind: string; sopInstanceUid: string | null }[]) {
  for (let i = 0; i < rows.length; i += 1000) {
    await db.poolPurgeFile.createMany({ data: rows.slice(i, i + 1000).map((r) => ({ purgeId, ...r })), skipDuplicates: true });
  }
}

async function inventory(purgeId: string, poolId: string): Promise<PurgeStep> {
  const now = new Date();
  // Closing waits for index transactions in flight (they share-lock the pool row); from its commit
  // on, none can add anything (lib/pools/closeout.ts).
  await db.pool.updateMany({ where: { id: poolId, closedAt: null }, data: { closedAt: now } });
  // Pending work for the pool stops: its jobs find their rows cancelled (or gone) and end.
  await db.$transaction([
    db.queryItem.updateMany({ where: { query: { poolId }, status: { in: ['PENDING', 'RUNNING'] } }, data: { status: 'CANCELLED' } }),
    db.query.updateMany({ where: { poolId, status: { in: ['PENDING', 'RUNNING'] } }, data: { status: 'CANCELLED' } }),
    db.retrieval.updateMany({ where: { poolId, state: { in: ['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING'] } }, data: { state: 'CANCELLED', finishedAt: now } }),
    db.export.updateMany({ where: { poolId, state: { in: ['QUEUED', 'SCHEDULED', 'RUNNING'] } }, data: { state: 'CANCELED', cancelRequested: true, finishedAt: now } }),
    db.exporter.updateMany({ where: { poolId }, data: { enabled: false, autoExport: false } }),
  ]);
  const instances = await db.instance.findMany({ where: { poolId }, select: { path: true, sopInstanceUid: true } });
  const quarantined = await db.quarantinedInstance.findMany({ where: { poolId }, select: { path: true, sopInstanceUid: true } });
  const staged = await db.stagedInstance.findMany({ where: { OR: [{ receivingPoolId: poolId }, { retrieval: { poolId } }] }, select: { path: true } });
  const rows: { path: string; kind: string; sopInstanceUid: string | null }[] = [
    ...instances.map((i) => ({ path: path.normalize(i.path), kind: 'instance', sopInstanceUid: i.sopInstanceUid })),
    ...quarantined.map((q) => ({ path: path.normalize(q.path), kind: 'quarantine', sopInstanceUid: q.sopInstanceUid })),
    ...staged.flatMap((s) => {
      const rel = relToRoot(s.path);
      return rel ? [{ path: rel, kind: 'staging', sopInstanceUid: null }] : [];
    }),
  ];
  await addToLedger(purgeId, rows);
  await addToLedger(purgeId, await filesInFolders(poolId));
  await db.poolPurge.update({ where: { id: purgeId }, data: { step: 'files' } });
  return 'files';
}

async function sha256File(abs: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of createReadStream(abs, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function deleteFiles(purgeId: string, poolId: string, renew: () => Promise<unknown>): Promise<PurgeStep> {
  await drainFiles(purgeId, poolId, renew);
  await db.poolPurge.update({ where: { id: purgeId }, data: { step: 'rows' } });
  return 'rows';
}

/** Deletes every listed file not yet deleted, then what else lies in the pool's folders, then the folders. */
async function drainFiles(purgeId: string, poolId: string, renew: () => Promise<unknown>): Promise<void> {
  for (;;) {
    for (;;) {
      const batch = await db.poolPurgeFile.findMany({ where: { purgeId, deletedAt: null }, orderBy: { path: 'asc' }, take: BATCH });
      if (!batch.length) break;
      // 1. See each file: size, and the hash of the DICOM ones, recorded before anything is unlinked.
      const seen: Prisma.PrismaPromise<unknown>[] = [];
      const present = new Set<string>();
      for (const f of batch) {
        const abs = absolute(f.path);
        const st = await fs.stat(abs).catch(() => null);
        if (!st?.isFile()) continue;
        present.add(f.path);
        if (f.size !== null && (f.sha256 !== null || !HASHED_KINDS.includes(f.kind))) continue;
        const sha = HASHED_KINDS.includes(f.kind) ? await sha256File(abs) : null;
        seen.push(db.poolPurgeFile.update({ where: { purgeId_path: { purgeId, path: f.path } }, data: { size: BigInt(st.size), sha256: sha } }));
      }
      if (seen.length) await db.$transaction(seen);
      // 2. Unlink. 3. Mark: a file not there now and never seen (no size) was missing.
      for (const f of batch) if (present.has(f.path)) await fs.rm(absolute(f.path), { force: true });
      const now = new Date();
      await db.$transaction(
        batch.map((f) =>
          db.poolPurgeFile.update({
            where: { purgeId_path: { purgeId, path: f.path } },
            data: { deletedAt: now, missing: !present.has(f.path) && f.size === null },
          }),
        ),
      );
      for (const f of batch) if (f.kind === 'staging') await pruneEmptyDirs(path.dirname(absolute(f.path)), path.join(storageRoot(), 'staging'));
      await renew();
    }
    // Anything that appeared in the pool's folders since (or was never indexed) goes the same way.
    const left = await filesInFolders(poolId);
    const known = new Set((await db.poolPurgeFile.findMany({ where: { purgeId, path: { in: left.map((l) => l.path) } }, select: { path: true } })).map((x) => x.path));
    const fresh = left.filter((l) => !known.has(l.path));
    if (!fresh.length) {
      // Files already listed and still there (unlinked by someone then written again) are removed with their folders.
      break;
    }
    await addToLedger(purgeId, fresh);
  }
  for (const area of Object.keys(AREAS)) await fs.rm(path.join(storageRoot(), area, poolId), { recursive: true, force: true });
}

async function deleteRows(purgeId: string, poolId: string): Promise<PurgeStep> {
  await db.$transaction(
    async (tx) => {
      const inPool = { poolId };
      const staged = { OR: [{ receivingPoolId: poolId }, { retrieval: { poolId } }] };
      const counts = {
        studies: await tx.study.count({ where: inPool }),
        series: await tx.series.count({ where: inPool }),
        instances: await tx.instance.count({ where: inPool }),
        provenanceRecords: await tx.studyProvenance.count({ where: inPool }),
        quarantined: await tx.quarantinedInstance.count({ where: inPool }),
        ocrBoxes: await tx.ocrBox.count({ where: inPool }),
        redactions: await tx.redaction.count({ where: inPool }),
        deidSummaries: await tx.deidInstanceSummary.count({ where: inPool }),
        patientIdentities: await tx.patientIdentity.count({ where: inPool }),
        studyIdentities: await tx.studyIdentity.count({ where: inPool }),
        lookupEntries: await tx.lookupEntry.count({ where: inPool }),
        queries: await tx.query.count({ where: inPool }),
        queryRows: await tx.queryItem.count({ where: { query: inPool } }),
        queryResults: await tx.queryResult.count({ where: { query: inPool } }),
        retrievals: await tx.retrieval.count({ where: inPool }),
        stagedRows: await tx.stagedInstance.count({ where: staged }),
      };
      // Export records stay (what left the pool, by research UIDs); they lose their link to the index.
      await tx.exportInstance.updateMany({ where: { export: inPool, instanceId: { not: null } }, data: { instanceId: null } });
      await tx.stagedInstance.deleteMany({ where: staged });
      await tx.study.deleteMany({ where: inPool }); // Series, Instance, StudyProvenance cascade
      await tx.instance.deleteMany({ where: inPool });
      await tx.series.deleteMany({ where: inPool });
      await tx.ocrBox.deleteMany({ where: inPool });
      await tx.redaction.deleteMany({ where: inPool });
      await tx.quarantinedInstance.deleteMany({ where: inPool });
      await tx.deidInstanceSummary.deleteMany({ where: inPool });
      await tx.patientIdentity.deleteMany({ where: inPool });
      await tx.studyIdentity.deleteMany({ where: inPool });
      await tx.lookupEntry.deleteMany({ where: inPool });
      await tx.retrieval.deleteMany({ where: inPool }); // RetrievalInstance cascades
      await tx.query.deleteMany({ where: inPool }); // QueryItem, QueryResult cascade
      await tx.poolPurge.update({ where: { id: purgeId }, data: { step: 'receipt', counts } });
    },
    { timeout: 10 * 60_000, maxWait: 30_000 },
  );
  return 'receipt';
}

const sha256Lines = (lines: string[]) => crypto.createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');

/** The receipt body of a purge whose files and rows are gone (pure function of the ledger and the counts). */
async function receiptBody(purgeId: string) {
  const purge = await db.poolPurge.findUniqueOrThrow({ where: { id: purgeId } });
  const files = await db.poolPurgeFile.findMany({ where: { purgeId }, select: { kind: true, size: true, sha256: true, sopInstanceUid: true, missing: true } });
  const perKind: Record<string, { files: number; bytes: number; missing: number }> = {};
  for (const k of ['instance', 'quarantine', 'thumbnail', 'staging']) perKind[k] = { files: 0, bytes: 0, missing: 0 };
  for (const f of files) {
    const k = (perKind[f.kind] ??= { files: 0, bytes: 0, missing: 0 });
    if (f.missing) k.missing++;
    else {
      k.files++;
      k.bytes += Number(f.size ?? 0);
    }
  }
  const sops = [...new Set(files.filter((f) => HASHED_KINDS.includes(f.kind) && f.sopInstanceUid).map((f) => f.sopInstanceUid!))].sort();
  const shas = files.filter((f) => f.sha256).map((f) => f.sha256!).sort();
  const by = purge.requestedById ? await db.user.findUnique({ where: { id: purge.requestedById }, select: { id: true, name: true, email: true } }) : null;
  const rows = (purge.counts ?? {}) as Record<string, number>;
  return {
    purge: { id: purge.id, startedAt: purge.startedAt.toISOString(), finishedAt: new Date().toISOString() },
    pool: { id: purge.poolId, name: purge.poolName },
    purgedBy: by ? { id: by.id, name: by.name, email: by.email } : null,
    destroyed: {
      studies: rows.studies ?? 0,
      series: rows.series ?? 0,
      instances: rows.instances ?? 0,
      quarantinedInstances: rows.quarantined ?? 0,
      files: {
        instances: perKind.instance,
        quarantine: perKind.quarantine,
        thumbnails: perKind.thumbnail,
        staging: perKind.staging,
        total: { files: files.filter((f) => !f.missing).length, bytes: files.reduce((n, f) => n + (f.missing ? 0 : Number(f.size ?? 0)), 0) },
      },
      identityMap: { patientIdentities: rows.patientIdentities ?? 0, studyIdentities: rows.studyIdentities ?? 0, lookupEntries: rows.lookupEntries ?? 0 },
      rows,
    },
    hashes: {
      algorithm: 'SHA-256',
      researchSopInstanceUids: { count: sops.length, sha256: sha256Lines(sops), of: 'distinct research SOP Instance UIDs of the destroyed instance and quarantine files, sorted (code unit order), joined with "\\n", UTF-8' },
      storedFiles: { count: shas.length, sha256: sha256Lines(shas), of: 'lower-case hex SHA-256 of each destroyed instance and quarantine file, sorted, joined with "\\n"' },
    },
  };
}

async function issueReceipt(purgeId: string, poolId: string, renew: () => Promise<unknown>): Promise<PurgeStep> {
  const purge = await db.poolPurge.findUniqueOrThrow({ where: { id: purgeId } });
  let receiptId = purge.receiptId;
  if (!receiptId) {
    // A file written while the rows were still there (a thumbnail asked for meanwhile) goes too, and is counted.
    await drainFiles(purgeId, poolId, renew);
    const body = await receiptBody(purgeId);
    receiptId = (await signPurgeReceipt(poolId, purgeId, body)).id;
    // Kept at once: a crash after this reuses the receipt instead of signing a second one.
    await db.poolPurge.update({ where: { id: purgeId }, data: { receiptId } });
  }
  const rows = (purge.counts ?? {}) as Record<string, number>;
  const files = await db.poolPurgeFile.groupBy({ by: ['kind'], where: { purgeId, missing: false }, _count: { _all: true }, _sum: { size: true } });
  const fileCount = (k: string) => files.find((f) => f.kind === k)?._count._all ?? 0;
  const finishedAt = new Date();
  await db.$transaction(async (tx) => {
    await tx.poolPurge.update({ where: { id: purgeId }, data: { step: 'done', finishedAt, leaseUntil: null } });
    await tx.pool.update({ where: { id: poolId }, data: { purgedAt: finishedAt } });
    // Ids and counts only.
    await audit(
      {
        userId: purge.requestedById,
        action: 'pool.purge',
        poolId,
        targetType: 'receipt',
        targetId: receiptId!,
        detail: {
          purgeId,
          studies: rows.studies ?? 0,
          series: rows.series ?? 0,
          instances: rows.instances ?? 0,
          quarantined: rows.quarantined ?? 0,
          identityEntries: (rows.patientIdentities ?? 0) + (rows.studyIdentities ?? 0) + (rows.lookupEntries ?? 0),
          files: files.reduce((n, f) => n + f._count._all, 0),
          bytes: Number(files.reduce((n, f) => n + (f._sum.size ?? 0n), 0n)),
          thumbnails: fileCount('thumbnail'),
          stagingFiles: fileCount('staging'),
        },
      },
      tx,
    );
    await tx.poolPurgeFile.deleteMany({ where: { purgeId } });
  });
  return 'done';
}

/** The signed purge receipt of a pool (owner and administrators: counts and hashes only). */
export async function purgeReceipt(poolId: string) {
  const p = await db.poolPurge.findUnique({ where: { poolId }, select: { receiptId: true, step: true } });
  if (!p?.receiptId || p.step !== 'done') throw new AppError('NOT_FOUND', 'This pool has no purge receipt');
  const doc = await loadPurgeReceipt(p.receiptId);
  if (!doc) throw new AppError('NOT_FOUND', 'This pool has no purge receipt');
  return { id: p.receiptId, document: doc };
}
