/**
 * Devices that push into a research pool (C-STORE to the pool's own AE title), e.g. a research
 * scanner or a workstation sending a study it made. A pool lists its allowed sending devices;
 * the SCP accepts an association to a research pool's AE only from those devices, each known by
 * its AE title and the address it calls from (lib/receive/staging.ts), and every pushed instance goes through the pool's rules exactly
 * like a retrieval or a STOW-RS upload: research identity from its PatientID (stable pseudonym
 * or lookup table), UIDs remapped, dates shifted, quarantine for burned-in risks.
 *
 * It is de-identified while the sender waits for its C-STORE response: the sender is told
 * "success" only once the instance is in the pool (or held in quarantine). If the worker dies
 * in between, the sender sees a failed store and sends again; the pool index is unique per
 * research SOP Instance UID, so a repeat never duplicates. The received original is deleted in
 * every case.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ruleSetSchema } from '../anonymize/rules';
import { readObjectIds } from '../dicom/object-ids';
import { db } from '../db';
import { logger } from '../logger';
import { pruneEmptyDirs, stagingDir } from '../storage';
import { deidIdentityFor, type IdentitySource } from '../pools/identity';
import { pushProvenance } from '../pools/provenance';
import { refreshStudyCounts, storeDeidentified } from './ingest';

const log = logger('push');

export class PushRefusedError extends Error {}

/**
 * Whether one of the devices the sender was identified as (AE title + address, see
 * lib/devices/identify-sender.ts) is an allowed sending device of the research pool `poolId`.
 */
export async function isPushAllowed(senderDeviceIds: readonly string[], poolId: string): Promise<boolean> {
  if (!senderDeviceIds.length) return false;
  const n = await db.poolDevice.count({
    // A closed pool (project close-out, lib/pools/purge.ts) takes no pushes.
    where: { poolId, pool: { kind: 'RESEARCH', closedAt: null }, deviceId: { in: [...senderDeviceIds] } },
  });
  return n > 0;
}

/** De-identifies one pushed instance (a received file) into the pool; the file is removed. */
export async function ingestPushed(opts: { poolId: string; path: string; callingAe: string; senderDeviceIds?: readonly string[] }): Promise<'stored' | 'quarantined'> {
  try {
    const ids = await readObjectIds(opts.path);
    // Without a PatientID there is no one to pseudonymise consistently: refuse rather than merge strangers.
    if (!ids || !ids.patientId) throw new PushRefusedError('The object has no PatientID or lacks a UID');
    const pool = await db.pool.findUniqueOrThrow({ where: { id: opts.poolId }, select: { id: true, secret: true, ruleVersion: true, rules: true } });
    const rules = ruleSetSchema.parse(pool.rules);
    let identitySource: IdentitySource = 'existing';
    const identity = await deidIdentityFor(pool, rules, { sourcePatientId: ids.patientId }, { onEntry: (e) => void (identitySource = e.source) });
    // The sending device, as the pool lists it (provenance names it; its AE title is our configuration, not patient data).
    const device = opts.senderDeviceIds?.length
      ? await db.poolDevice.findFirst({ where: { poolId: pool.id, deviceId: { in: [...opts.senderDeviceIds] } }, select: { device: { select: { id: true, name: true } } } })
      : null;
    const provenance = pushProvenance({ callingAe: opts.callingAe, deviceId: device?.device.id, deviceName: device?.device.name, identitySource });
    const outcome = await storeDeidentified({ pool, rules, identity, inPath: opts.path, sourcePatientId: ids.patientId, provenance });
    if (outcome.kind === 'stored') await refreshStudyCounts([outcome.studyId]);
    log.info('pushed instance de-identified', { poolId: pool.id, callingAe: opts.callingAe, outcome: outcome.kind });
    return outcome.kind;
  } finally {
    await fs.rm(opts.path, { force: true }).catch(() => undefined);
    await pruneEmptyDirs(path.dirname(opts.path), stagingDir(opts.poolId)).catch(() => undefined);
  }
}
