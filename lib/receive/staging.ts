/**
 * The SCP's side of a retrieval: which called AEs we answer, who may send, and where a received
 * instance belongs. A caller is a registered device only when its calling AE title AND the
 * address it connects from match (lib/devices/identify-sender.ts). An instance is accepted only
 * when a retrieval of a connector whose PACS is the sending device is moving its study through
 * that receiving pool, or when an allowed device pushes into a research pool (lib/receive/push.ts);
 * anything else is refused (the SCP then deletes the file).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
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

export async function recordStaged(info: StoredInfo): Promise<void> {
  const retrieval = await db.retrieval.findFirst({
    // Only the connector's own PACS feeds its retrieval: another device receiving through the
    // same AE (or sending the same study) cannot slip objects into it.
    where: {
      state: 'MOVING',
      studyInstanceUid: info.studyInstanceUid,
      connector: { receivingPoolId: info.poolId, deviceId: { in: info.senderDeviceIds } },
    },
    select: { id: true },
  });
  if (!retrieval) {
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
  await recordStagedFor(retrieval.id, info);
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
