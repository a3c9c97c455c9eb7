/**
 * The SCP's side of a retrieval: which called AEs we answer, who may send, and where a received
 * instance belongs. A caller is a registered device only when its calling AE title AND the
 * address it connects from match (lib/devices/identify-sender.ts). An instance is accepted only
 * when a retrieval of a connector whose PACS is the sending device is moving its study through
 * that receiving pool, or when an allowed device pushes into a research pool (lib/receive/push.ts);
 * anything else is refused (the SCP then deletes the file).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { probeKey } from '../connectors/capabilities';
import { db, Prisma } from '../db';
import type { CallingDecision, DicomTransport } from '../dicom/scp';
import { identifySender } from '../devices/identify-sender';
import { redis } from '../redis';
import { env } from '../env';
import { logger } from '../logger';
import { ingestPushed, isPushAllowed } from './push';
import { pruneEmptyDirs, stagingDir } from '../storage';

const log = logger('staging');

export class UnsolicitedInstanceError extends Error {
  constructor() {
    super('No retrieval is waiting for this study on this AE');
  }
}

export async function resolveCalledAe(calledAe: string): Promise<{ id: string; stagingDir: string } | null> {
  const pool = await db.pool.findUnique({ where: { aeTitle: calledAe.trim() }, select: { id: true } });
  if (!pool) return null;
  const dir = stagingDir(pool.id);
  await fs.mkdir(dir, { recursive: true });
  return { id: pool.id, stagingDir: dir };
}

/**
 * A caller is accepted when it is (AE title and address) the PACS device of a connector that
 * receives through this AE, or an allowed sending device of the research pool with this AE
 * (lib/receive/push.ts). Refusal reasons: calling-ae-unknown (no device has this AE title),
 * address-mismatch (devices have it, none at this address), not-a-sender-here (the device is
 * real but neither receives through nor may push to this AE).
 */
export async function isCallingAeAllowed(callingAe: string, calledAe: string, peerAddress: string, transport?: DicomTransport): Promise<CallingDecision> {
  const sender = await identifySender({ callingAe, peerAddress, transport });
  if ('refused' in sender) return { allowed: false, reason: sender.refused };
  const deviceId = { in: sender.deviceIds };
  const [connectors, pushers] = await Promise.all([
    db.connector.count({ where: { deviceId, receivingPool: { aeTitle: calledAe.trim() } } }),
    db.poolDevice.count({ where: { deviceId, pool: { aeTitle: calledAe.trim(), kind: 'RESEARCH' } } }),
  ]);
  if (connectors + pushers === 0) return { allowed: false, reason: 'not-a-sender-here' };
  return { allowed: true, senderDeviceIds: sender.deviceIds };
}

export interface StoredInfo {
  poolId: string;
  path: string;
  size: number;
  callingAe: string;
  /** The devices the SCP identified the caller as (AE title + address); empty: none. */
  senderDeviceIds: string[];
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  transferSyntaxUid: string;
}

/**
 * Records one instance the SCP received (C-MOVE sub-operation or a device's push). The SCP
 * answers the C-STORE only once this resolves: when it resolves, the row is committed.
 */
export async function recordStaged(info: StoredInfo): Promise<void> {
  // The common case, a retrieval's instance: row and count in one group commit (below).
  if (await stagedRecorder.record(info)) return;
  // The capability check's move test: accept from the connector's PACS, note it arrived, keep nothing.
  const probe = probeKey(info.poolId, info.sopInstanceUid);
  const waiting = /^waiting:(.+)$/.exec((await redis().get(probe)) ?? '');
  if (waiting && info.senderDeviceIds.includes(waiting[1])) {
    await redis().set(probe, 'received', 'EX', 120);
    await fs.rm(info.path, { force: true });
    return;
  }
  // A device pushing into a research pool: de-identified into the pool before we answer.
  if (await isPushAllowed(info.senderDeviceIds, info.poolId)) {
    await ingestPushed({ poolId: info.poolId, path: info.path, callingAe: info.callingAe, senderDeviceIds: info.senderDeviceIds });
    return;
  }
  throw new UnsolicitedInstanceError();
}

/**
 * Committed staged rows, announced in-process: `emit(retrievalId, n)` once n rows of that retrieval
 * are committed (the SCP's group commit, a same-connection sink). The move's pipeline
 * (lib/retrievals/pipeline.ts) looks for staged rows when told, instead of polling on a timer;
 * it still looks now and then on its own (rows written by another process announce nothing).
 * A hint only: the rows themselves are always read from the database.
 */
export const stagedArrivals = new EventEmitter();
stagedArrivals.setMaxListeners(0);

function announce(retrievalIds: (string | null | undefined)[]) {
  const n = new Map<string, number>();
  for (const id of retrievalIds) if (id) n.set(id, (n.get(id) ?? 0) + 1);
  for (const [id, c] of n) stagedArrivals.emit(id, c);
}

/** Most rows in one statement (one JSON parameter). */
const GROUP_MAX_ROWS = 256;

interface GroupEntry {
  info: StoredInfo;
  key: string;
  resolve: (recorded: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit of the SCP's staged rows. Each received instance of a retrieval needs: find the
 * MOVING retrieval of that study from that device through that pool, insert (or, when sent again,
 * re-point) its StagedInstance row, and count it in Retrieval.received. That was four round trips
 * and a transaction per instance (findFirst, BEGIN, INSERT, UPDATE, COMMIT); here it is ONE
 * statement for every instance waiting, committed before any of them is answered:
 *
 * - nothing waits for a timer: when no statement is running, an instance is written at once
 *   (a single association, whose C-STOREs come one at a time, pays one round trip each);
 * - while a statement runs, newly finished instances of every association queue up and go
 *   together in the next one (100 associations: a handful of statements, not 100 transactions);
 * - the C-STORE success is sent only after the statement has committed (the caller awaits it),
 *   so a crash at any point leaves either a committed row (the PACS was, or will be, told
 *   Success) or no row, with a file the staging reconciliation deletes (no success was sent, so
 *   the PACS reports the sub-operation failed and a retry brings it again). Exactly the
 *   guarantees of the per-instance transaction it replaces.
 * - a failed statement (a deadlock between two workers, a row the table refuses) is retried one
 *   instance per statement, so only the instance at fault fails its C-STORE.
 * Two instances with the same key (pool, study, SOP instance: sent twice at once) never share a
 * statement (ON CONFLICT cannot touch a row twice): the later one waits for the next.
 *
 * The statement commits with synchronous_commit off (for itself only): PostgreSQL answers once the
 * commit is in its WAL buffers, without waiting for the WAL flush (an fdatasync: 3 ms median,
 * 10 ms p90 on the shared 2-core VM, against 0.1 ms for the statement itself). That is the one
 * wait a single association pays per instance. What it risks is the same as the staged files'
 * missing fsync (docs/architecture.md, "What a C-STORE Success promises"): a crash of the
 * PostgreSQL server or of the machine, not of the worker, can lose the rows of the last ~0.6 s;
 * their files are then files without rows (deleted by the staging reconciliation), the instances
 * count as missing, the retrieval ends PARTIAL and a retry asks the PACS for them again. A worker
 * crash loses nothing: the server already holds the commit.
 */
class StagedRecorder {
  private queue: GroupEntry[] = [];
  private running = false;

  record(info: StoredInfo): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ info, key: `${info.poolId}|${info.studyInstanceUid}|${info.sopInstanceUid}`, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain() {
    this.running = true;
    try {
      while (this.queue.length) {
        const batch: GroupEntry[] = [];
        const keys = new Set<string>();
        const rest: GroupEntry[] = [];
        for (const e of this.queue) {
          if (batch.length < GROUP_MAX_ROWS && !keys.has(e.key)) {
            keys.add(e.key);
            batch.push(e);
          } else rest.push(e);
        }
        this.queue = rest;
        try {
          const found = await insertStagedRows(batch.map((e) => e.info));
          batch.forEach((e, i) => e.resolve(found.has(i)));
          announce([...found.values()]);
        } catch (err) {
          if (batch.length === 1) {
            batch[0].reject(err);
            continue;
          }
          // One by one: only the instance at fault fails.
          for (const e of batch) {
            try {
              const found = await insertStagedRows([e.info]);
              e.resolve(found.has(0));
              announce([...found.values()]);
            } catch (e2) {
              e.reject(e2);
            }
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}

const stagedRecorder = new StagedRecorder();

/**
 * The connection the staged rows are written on: plain `pg`, one per process, the statement
 * prepared once per connection (named). Through Prisma the same statement took 1.3-1.5 ms per
 * instance on the shared VM, of which ~0.45 ms was PostgreSQL parsing and planning it again and
 * ~0.5 ms the client (a `SELECT 1` costs 0.36-0.44 ms through Prisma, 0.10 ms through pg); named
 * on its own connection it takes 0.34 ms, and it is on the critical path of every C-STORE (the
 * answer waits for the commit, and a C-MOVE sends the next instance only after the answer).
 * One connection is enough: the group commit runs one statement at a time. Idle, it does not
 * keep the process alive; a broken connection is replaced on the next statement.
 */
let stagedRowsPool: pg.Pool | undefined;
function stagedRowsConnection(): pg.Pool {
  if (!stagedRowsPool) {
    const pool = new pg.Pool({ connectionString: env().DATABASE_URL, max: 1, allowExitOnIdle: true });
    // An idle connection dropped by the server (restart, a test's database reset) is not an error
    // of any statement: the pool replaces it.
    pool.on('error', (err) => log.warn('staged-row connection lost', { err }));
    stagedRowsPool = pool;
  }
  return stagedRowsPool;
}

/** Closes the staged rows' connection (tests and shutdown; it is reopened on the next use). */
export async function closeStagedRowsConnection(): Promise<void> {
  const pool = stagedRowsPool;
  stagedRowsPool = undefined;
  await pool?.end();
}

const STAGED_ROWS_SQL = `
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(k int, "poolId" text, "studyInstanceUid" text,
    "sopInstanceUid" text, "sopClassUid" text, "transferSyntax" text, "callingAe" text, path text, size int, devices text[])
), m AS (
  SELECT x.*, r.id AS "retrievalId" FROM x CROSS JOIN LATERAL (
    SELECT r.id FROM "Retrieval" r JOIN "Connector" c ON c.id = r."connectorId"
    WHERE r.state = 'MOVING' AND r."studyInstanceUid" = x."studyInstanceUid"
      AND c."receivingPoolId" = x."poolId" AND c."deviceId" = ANY (x.devices)
    LIMIT 1
  ) r
), ins AS (
  INSERT INTO "StagedInstance" ("id", "receivingPoolId", "retrievalId", "callingAeTitle", "studyInstanceUid", "sopInstanceUid",
    "sopClassUid", "transferSyntax", "path", "size", "receivedAt")
  SELECT gen_random_uuid()::text, m."poolId", m."retrievalId", m."callingAe", m."studyInstanceUid", m."sopInstanceUid",
    m."sopClassUid", m."transferSyntax", m.path, m.size, now() AT TIME ZONE 'UTC'
  FROM m
  ON CONFLICT ("receivingPoolId", "studyInstanceUid", "sopInstanceUid") DO UPDATE
    SET "retrievalId" = EXCLUDED."retrievalId", "path" = EXCLUDED."path", "size" = EXCLUDED."size", "receivedAt" = EXCLUDED."receivedAt"
  RETURNING "retrievalId", (xmax = 0) AS inserted
), counted AS (
  UPDATE "Retrieval" r SET "received" = r."received" + n.c, "updatedAt" = now() AT TIME ZONE 'UTC'
  FROM (SELECT "retrievalId", count(*)::int AS c FROM ins WHERE inserted GROUP BY "retrievalId") n
  WHERE r.id = n."retrievalId"
  RETURNING r.id
)
SELECT m.k, m."retrievalId" FROM m, (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
`;

/**
 * One statement: for each instance, the MOVING retrieval of its study whose connector's PACS is
 * one of the sending devices and receives through this pool (the connector's own PACS only: another
 * device receiving through the same AE cannot slip objects into it); its staged row inserted, or
 * re-pointed when the instance was sent again (a retried move: counted once); each retrieval's
 * `received` raised by its newly inserted rows. Returns the indexes that had a retrieval (the others
 * wrote nothing), each with that retrieval's id. Raw SQL with one JSON parameter: one round trip whatever the number of rows.
 */
async function insertStagedRows(rows: StoredInfo[]): Promise<Map<number, string>> {
  const payload = JSON.stringify(
    rows.map((r, k) => ({
      k,
      poolId: r.poolId,
      studyInstanceUid: r.studyInstanceUid,
      sopInstanceUid: r.sopInstanceUid,
      sopClassUid: r.sopClassUid,
      transferSyntax: r.transferSyntaxUid,
      callingAe: r.callingAe,
      path: r.path,
      size: r.size,
      devices: r.senderDeviceIds,
    })),
  );
  const found = await stagedRowsConnection().query<{ k: number; retrievalId: string }>({ name: 'tributary_staged_rows', text: STAGED_ROWS_SQL, values: [payload] });
  return new Map(found.rows.map((f) => [Number(f.k), f.retrievalId]));
}

/**
 * The staged row of one received instance of a retrieval (and its `received` count), for the
 * SCP (C-MOVE) and for instances that come back on our own connection (lib/receive/sink.ts).
 * An instance sent again (a retried move) replaces its row and is counted once.
 */
export async function recordStagedFor(
  retrievalId: string,
  info: Pick<StoredInfo, 'poolId' | 'path' | 'size' | 'callingAe' | 'sopClassUid' | 'sopInstanceUid' | 'studyInstanceUid' | 'transferSyntaxUid'>,
): Promise<void> {
  try {
    await db.$transaction([
      db.stagedInstance.create({
        data: {
          receivingPoolId: info.poolId,
          retrievalId,
          callingAeTitle: info.callingAe,
          studyInstanceUid: info.studyInstanceUid,
          sopInstanceUid: info.sopInstanceUid,
          sopClassUid: info.sopClassUid,
          transferSyntax: info.transferSyntaxUid,
          path: info.path,
          size: info.size,
        },
      }),
      db.retrieval.update({ where: { id: retrievalId }, data: { received: { increment: 1 } } }),
    ]);
    announce([retrievalId]);
  } catch (e) {
    // Sent again (a retried move): the file was overwritten with the same instance; count it once.
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') {
      await db.stagedInstance.update({
        where: {
          receivingPoolId_studyInstanceUid_sopInstanceUid: {
            receivingPoolId: info.poolId,
            studyInstanceUid: info.studyInstanceUid,
            sopInstanceUid: info.sopInstanceUid,
          },
        },
        data: { retrievalId, path: info.path, size: info.size, receivedAt: new Date() },
      });
      announce([retrievalId]);
      return;
    }
    throw e;
  }
}

/** Removes one staged instance (file and row) and prunes its empty study folder. */
export async function dropStaged(staged: { id: string; path: string; receivingPoolId: string }) {
  await fs.rm(staged.path, { force: true });
  await db.stagedInstance.delete({ where: { id: staged.id } }).catch(() => undefined);
  await pruneEmptyDirs(path.dirname(staged.path), stagingDir(staged.receivingPoolId));
}

/** A cancelled retrieval's staged originals go at once, not when the timer comes. */
export async function dropStagedFor(retrievalId: string) {
  for (const s of await db.stagedInstance.findMany({ where: { retrievalId }, select: { id: true, path: true, receivingPoolId: true } })) await dropStaged(s);
}

/**
 * The staging timer: staged rows older than STAGING_MAX_AGE_HOURS whose retrieval is finished
 * (or gone) are deleted with their files. Files without a row, rows without a file and abandoned
 * .part files are the staging reconciliation's (lib/receive/reconcile-staging.ts).
 */
export async function purgeAbandonedStaging(now = new Date()): Promise<{ rows: number }> {
  const cutoff = new Date(now.getTime() - env().STAGING_MAX_AGE_HOURS * 3600_000);
  const old = await db.stagedInstance.findMany({
    where: {
      receivedAt: { lt: cutoff },
      OR: [{ retrievalId: null }, { retrieval: { state: { in: ['DONE', 'PARTIAL', 'FAILED', 'CANCELLED'] } } }],
    },
    select: { id: true, path: true, receivingPoolId: true },
  });
  for (const s of old) await dropStaged(s);
  if (old.length) log.info('staging purged', { rows: old.length });
  return { rows: old.length };
}
