/**
 * Staging reconciliation: the staging folder and the StagedInstance rows are made to agree, at
 * once, on worker start and every few minutes (job `staging.reconcile`). Originals never linger:
 *   - a staged file without a row is deleted (the de-identify step deletes the original only after
 *     the commit that removes its row, so a crash in between leaves exactly this); files the SCP
 *     of this process is writing or recording are left alone, and so are files younger than
 *     STAGED_FILE_GRACE_MS (an SCP in another worker process sharing the storage may be between
 *     the rename and the insert of its row);
 *   - a row without a file is deleted and the retrieval's `received` counter decremented in the
 *     same transaction: the instance is then simply missing, so the study ends PARTIAL and a
 *     retry (automatic during the move, or the coordinator's) asks the PACS for exactly it;
 *   - a `.part` file whose association is gone is deleted: this process's own when no live
 *     association writes it (on start none does), an earlier process's on this host when that
 *     process is gone, anyone else's once it is older than the SCP's PDU timeout;
 *   - de-identified temp outputs (storage/tmp) older than an hour are deleted.
 * Returns counts only (no UIDs: staging paths carry source UIDs).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { db } from '../db';
import { liveStagingFiles, partOwner } from '../dicom/scp';
import { logger } from '../logger';
import { pruneEmptyDirs, storageRoot } from '../storage';

const log = logger('staging');

/** A staged file without a row is left alone this long (another process may be recording it). */
export const STAGED_FILE_GRACE_MS = 2 * 60_000;
/** Another host's .part file is abandoned after this much silence (the SCP's PDU timeout is 5 min). */
export const FOREIGN_PART_MAX_AGE_MS = 10 * 60_000;
/** A de-identification temp output this old belongs to no running step. */
export const TMP_MAX_AGE_MS = 60 * 60_000;

export interface StagingReconciliation {
  orphanFiles: number;
  missingFiles: number;
  deadParts: number;
  tmpFiles: number;
}

async function listFiles(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

async function mtimeOf(p: string): Promise<number | null> {
  const st = await fs.stat(p).catch(() => null);
  return st ? st.mtimeMs : null;
}

export async function reconcileStaging(opts: { now?: Date } = {}): Promise<StagingReconciliation> {
  const now = (opts.now ?? new Date()).getTime();
  const root = path.join(storageRoot(), 'staging');
  const result: StagingReconciliation = { orphanFiles: 0, missingFiles: 0, deadParts: 0, tmpFiles: 0 };

  // Files first, rows second: a row is inserted only after its file is in place, so a file read
  // here without a row in the list read after it has no row (or is one the grace protects).
  const files = await listFiles(root);
  const rows = await db.stagedInstance.findMany({ select: { id: true, path: true, retrievalId: true } });
  const known = new Set(rows.map((r) => path.resolve(r.path)));
  const live = liveStagingFiles();

  for (const f of files) {
    const abs = path.resolve(f);
    if (live.has(abs) || known.has(abs)) continue;
    if (abs.endsWith('.part')) {
      const owner = partOwner(path.basename(abs));
      const mtime = await mtimeOf(abs);
      const dead = owner === 'self' || owner === 'dead' || (mtime !== null && now - mtime > FOREIGN_PART_MAX_AGE_MS);
      // 'self' and not live: its association has ended (a live one is in liveStagingFiles).
      if (dead && !live.has(abs)) {
        await fs.rm(abs, { force: true });
        result.deadParts++;
      }
      continue;
    }
    const mtime = await mtimeOf(abs);
    if (mtime === null || now - mtime < STAGED_FILE_GRACE_MS) continue;
    // Checked again just before the delete: the row may have been inserted since the list was read.
    if (live.has(abs) || (await db.stagedInstance.count({ where: { path: f } })) > 0) continue;
    await fs.rm(abs, { force: true });
    result.orphanFiles++;
  }

  for (const r of rows) {
    if ((await mtimeOf(r.path)) !== null || live.has(path.resolve(r.path))) continue;
    // Gone since (processed and removed, or purged): deleteMany counts only what this pass removed.
    const removed = await db.$transaction(async (tx) => {
      const n = await tx.stagedInstance.deleteMany({ where: { id: r.id, path: r.path } });
      if (n.count && r.retrievalId) await tx.retrieval.update({ where: { id: r.retrievalId }, data: { received: { decrement: 1 } } });
      return n.count;
    });
    result.missingFiles += removed;
  }

  // Empty study folders go; the SCP's .incoming folders stay (an association may open a file there).
  for (const f of files) if (!f.endsWith('.part')) await pruneEmptyDirs(path.dirname(f), root).catch(() => undefined);

  for (const t of await listFiles(path.join(storageRoot(), 'tmp'))) {
    const mtime = await mtimeOf(t);
    if (mtime !== null && now - mtime > TMP_MAX_AGE_MS) {
      await fs.rm(t, { force: true });
      result.tmpFiles++;
    }
  }

  if (result.orphanFiles || result.missingFiles || result.deadParts || result.tmpFiles) log.info('staging reconciled', { ...result });
  return result;
}
