/**
 * Files on disk under one storage root, behind this small interface so an object store can
 * follow. Layout (relative to STORAGE_ROOT):
 *   staging/<receivingPoolId>/<sourceStudyUid>/<sopInstanceUid>.dcm   originals, short-lived
 *   pools/<poolId>/<studyUid>/<seriesUid>/<sopInstanceUid>.dcm          de-identified pool data
 *   quarantine/<poolId>/<sopInstanceUid>.dcm                             de-identified, held for the pool owner
 *   thumbs/<poolId>/<seriesId>.png                                       cached series thumbnails
 *   tmp/                                                                 partial writes, renamed into place
 * Pool paths use research UIDs only. Staging paths carry source UIDs (not names or MRNs) and
 * never leave the server. Every UID in a path passes lib/dicom/uids.ts requireSafeUid (digits and
 * dots, no ".", ".." or "/"), so no UID can name another directory.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { requireSafeUid } from '../dicom/uids';
import { env } from '../env';


export function storageRoot(): string {
  return path.resolve(env().STORAGE_ROOT);
}

export function stagingDir(receivingPoolId: string): string {
  return path.join(storageRoot(), 'staging', receivingPoolId);
}

/** Where the SCP stages a study's originals: <stagingDir>/<sourceStudyUid>. */
export function stagingStudyDir(receivingPoolId: string, studyUid: string): string {
  return path.join(stagingDir(receivingPoolId), requireSafeUid(studyUid, 'Study Instance UID'));
}

export function poolInstanceRelPath(poolId: string, studyUid: string, seriesUid: string, sopUid: string): string {
  requireSafeUid(studyUid, 'Study Instance UID');
  requireSafeUid(seriesUid, 'Series Instance UID');
  requireSafeUid(sopUid, 'SOP Instance UID');
  return path.join('pools', poolId, studyUid, seriesUid, `${sopUid}.dcm`);
}

export function quarantineRelPath(poolId: string, sopUid: string): string {
  requireSafeUid(sopUid, 'SOP Instance UID');
  return path.join('quarantine', poolId, `${sopUid}.dcm`);
}

/** Absolute path of a stored relative path; refuses anything that escapes the root. */
export function absolute(relPath: string): string {
  const root = storageRoot();
  const p = path.resolve(root, relPath);
  if (p !== root && !p.startsWith(root + path.sep)) throw new Error('path escapes the storage root');
  return p;
}

export async function ensureDir(dir: string) {
  await fs.mkdir(dir, { recursive: true });
}

export function openRead(relPath: string) {
  return createReadStream(absolute(relPath));
}

export async function readFile(relPath: string): Promise<Buffer> {
  return fs.readFile(absolute(relPath));
}

export async function removeFile(absPath: string) {
  await fs.rm(absPath, { force: true });
}

/** Removes empty directories from `dir` up to (not including) `stopAt`. */
export async function pruneEmptyDirs(dir: string, stopAt: string) {
  let d = path.resolve(dir);
  const stop = path.resolve(stopAt);
  while (d.startsWith(stop + path.sep)) {
    try {
      await fs.rmdir(d);
    } catch {
      return;
    }
    d = path.dirname(d);
  }
}

const POOL_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Every file kept for one pool: its de-identified data, its quarantine, its cached thumbnails and
 * its staging area (pushes and, for a receiving pool, retrievals). For a deleted pool.
 */
export async function removePoolData(poolId: string) {
  if (!POOL_ID.test(poolId)) throw new Error('invalid pool id for a storage path');
  for (const area of ['pools', 'quarantine', 'thumbs', 'staging']) {
    await fs.rm(path.join(storageRoot(), area, poolId), { recursive: true, force: true });
  }
}

/** Removes staged originals (absolute paths inside the storage root) and their emptied study folders. */
export async function removeStagedFiles(staged: { path: string; receivingPoolId: string }[]) {
  const root = storageRoot();
  for (const s of staged) {
    const p = path.resolve(s.path);
    if (!p.startsWith(root + path.sep)) continue;
    await fs.rm(p, { force: true });
    await pruneEmptyDirs(path.dirname(p), stagingDir(s.receivingPoolId));
  }
}
