/**
 * Files on disk under one storage root, behind this small interface so an object store can
 * follow. Layout (relative to STORAGE_ROOT):
 *   staging/<receivingPoolId>/<sourceStudyUid>/<sopInstanceUid>.dcm   originals, short-lived
 *   pools/<poolId>/<studyUid>/<seriesUid>/<sopInstanceUid>.dcm          de-identified pool data
 *   quarantine/<poolId>/<sopInstanceUid>.dcm                             de-identified, held for the pool owner
 *   tmp/                                                                 partial writes, renamed into place
 * Pool paths use research UIDs only. Staging paths carry source UIDs (not names or MRNs) and
 * never leave the server.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { env } from '../env';

const UID = /^[0-9.]{1,64}$/;

function checkUid(uid: string, what: string) {
  if (!UID.test(uid)) throw new Error(`invalid ${what} for a storage path`);
}

export function storageRoot(): string {
  return path.resolve(env().STORAGE_ROOT);
}

export function stagingDir(receivingPoolId: string): string {
  return path.join(storageRoot(), 'staging', receivingPoolId);
}

export function poolInstanceRelPath(poolId: string, studyUid: string, seriesUid: string, sopUid: string): string {
  checkUid(studyUid, 'study UID');
  checkUid(seriesUid, 'series UID');
  checkUid(sopUid, 'SOP instance UID');
  return path.join('pools', poolId, studyUid, seriesUid, `${sopUid}.dcm`);
}

export function quarantineRelPath(poolId: string, sopUid: string): string {
  checkUid(sopUid, 'SOP instance UID');
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

export async function removePoolData(poolId: string) {
  await fs.rm(path.join(storageRoot(), 'pools', poolId), { recursive: true, force: true });
}
