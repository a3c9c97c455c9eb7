/**
 * One de-identification job on files: read, deidentify, write, report. Runs inside a worker thread
 * (worker.mjs) or inline when the pool has no threads.
 *
 * Inside a worker the file I/O is synchronous: the thread exists to do this one job, and blocking
 * calls skip the hops through libuv's shared thread pool (measurably faster with several workers).
 * Inline on the main thread it stays asynchronous so the event loop keeps serving.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writevSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../errors';
import { type DeidIdentity, type DeidResult, deidentifyToChunks } from './engine';
import { type DeidIndex, readIndexFields } from './index-fields';
import { type CompiledRules, compileRules } from './profile';
import type { RuleSet } from './rules';

export interface DeidJob {
  inPath: string;
  /**
   * Where the de-identified file goes; parent directories are created. Written in place, so pass a
   * temporary path and rename it when other readers may look at the destination.
   */
  outPath: string;
  rules: RuleSet;
  uidSecret: string;
  identity: DeidIdentity;
  ruleVersion: number;
  /**
   * Where a quarantined result goes. Without it a quarantined instance is not written at all:
   * it must not land in a pool's storage.
   */
  quarantinePath?: string;
  /**
   * true: the written file is fsynced before it is closed (in the worker thread: the caller renames
   * it into place and then deletes the original, so it must survive a power cut; doing it here
   * spares the main thread an open, an fsync and a close through libuv's pool).
   */
  fsync?: boolean;
}

export type DeidJobResult = Omit<DeidResult, 'output'> & {
  /** Bytes of the de-identified file (written or not). */
  size: number;
  written: 'out' | 'quarantine' | 'none';
  /** Index fields read back from the de-identified output (research values only). */
  index: DeidIndex;
};

const compiledCache = new Map<string, CompiledRules>();
/** The same rules object again (the pool sends each rule set once per thread): no JSON key to build. */
const compiledByObject = new WeakMap<RuleSet, CompiledRules>();

function compiledFor(rules: RuleSet): CompiledRules {
  const known = compiledByObject.get(rules);
  if (known) return known;
  const key = JSON.stringify(rules);
  let compiled = compiledCache.get(key);
  if (!compiled) {
    if (compiledCache.size > 64) compiledCache.clear();
    compiled = compileRules(rules);
    compiledCache.set(key, compiled);
  }
  compiledByObject.set(rules, compiled);
  return compiled;
}

/** File-system errors carry paths, which may hold source UIDs or names: keep only the code. */
function fsError(op: string, err: unknown): AppError {
  const code = (err as { code?: string }).code ?? 'EIO';
  return new AppError(code === 'ENOENT' ? 'NOT_FOUND' : 'INTERNAL', `De-identification could not ${op} a file (${code})`);
}

/** Directories this thread already created (mkdir per file costs a syscall for nothing). */
const knownDirs = new Set<string>();

/**
 * Writes the chunks with writev (no full-size copy of the instance). The file is written in place:
 * callers that publish it (ingest, the folder runner) pass a temporary path and rename it, so this
 * does not add a second temp-and-rename. A failed write removes the partial file.
 */
async function writeChunks(target: string, chunks: Buffer[], sync = false): Promise<void> {
  const dir = path.dirname(target);
  try {
    if (isMainThread) {
      if (!knownDirs.has(dir)) await mkdir(dir, { recursive: true });
      knownDirs.add(dir);
      try {
        const fh = await open(target, 'w').catch(async (e: NodeJS.ErrnoException) => {
          // The folder went since we made it (a test's storage wiped): once more, after mkdir.
          if (e.code !== 'ENOENT') throw e;
          await mkdir(dir, { recursive: true });
          return open(target, 'w');
        });
        try {
          await fh.writev(chunks);
          if (sync) await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        await rm(target, { force: true }).catch(() => undefined);
        throw e;
      }
    } else {
      if (!knownDirs.has(dir)) mkdirSync(dir, { recursive: true });
      knownDirs.add(dir);
      try {
        let fd: number;
        try {
          fd = openSync(target, 'w');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          mkdirSync(dir, { recursive: true });
          fd = openSync(target, 'w');
        }
        try {
          writeAllSync(fd, chunks);
          if (sync) fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } catch (e) {
        rmSync(target, { force: true });
        throw e;
      }
    }
    if (knownDirs.size > 10_000) knownDirs.clear();
  } catch (e) {
    throw fsError('write', e);
  }
}

/** writevSync may write less than asked (and takes at most IOV_MAX buffers): loop until done. */
function writeAllSync(fd: number, chunks: Buffer[]): void {
  let pending = chunks.filter((c) => c.length > 0);
  while (pending.length) {
    let written = writevSync(fd, pending.slice(0, 1024));
    const rest: Buffer[] = [];
    for (const c of pending) {
      if (written >= c.length) written -= c.length;
      else {
        rest.push(written > 0 ? c.subarray(written) : c);
        written = 0;
      }
    }
    pending = rest;
  }
}

export async function runDeidJob(job: DeidJob): Promise<DeidJobResult> {
  const compiled = compiledFor(job.rules);
  let input: Buffer;
  try {
    input = isMainThread ? await readFile(job.inPath) : readFileSync(job.inPath);
  } catch (e) {
    throw fsError('read', e);
  }
  const { chunks, length, ...result } = deidentifyToChunks(input, compiled, { uidSecret: job.uidSecret }, job.identity, {
    ruleVersion: job.ruleVersion,
  });
  let written: DeidJobResult['written'] = 'none';
  if (!result.quarantine) {
    await writeChunks(job.outPath, chunks, job.fsync);
    written = 'out';
  } else if (job.quarantinePath) {
    await writeChunks(job.quarantinePath, chunks, job.fsync);
    written = 'quarantine';
  }
  return { ...result, size: length, written, index: readIndexFields(chunks, length) };
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  // Unexpected errors: the class name only; messages of library errors may quote values.
  return { code: 'INTERNAL', message: `De-identification failed (${err instanceof Error ? err.name : 'error'})` };
}
