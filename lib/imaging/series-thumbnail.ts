/**
 * The thumbnail of a series: rendered from its middle image instance (the middle frame of a
 * multi-frame object), cached on disk at <storage root>/thumbs/<poolId>/<seriesId>.png.
 *
 * The series is looked up by the authorized poolId, so an id of another pool finds nothing.
 * A cached file is used while it is newer than the series' latest instance (a series that grows
 * after a partial retrieval gets a new thumbnail). Renders run at most RENDER_CONCURRENCY at a
 * time per process and one per series at a time; a missing file gives an uncached placeholder.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { db } from '../db';
import { AppError } from '../errors';
import { logger } from '../logger';
import { absolute, ensureDir, storageRoot } from '../storage';
import { PLACEHOLDER_TEXT, placeholderPng, type PlaceholderReason } from './placeholder';
import { thumbnailOfFile } from './thumbnail';

const log = logger('imaging.thumbnail');
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const RENDER_CONCURRENCY = 2;

export interface SeriesThumbnail {
  png: Buffer;
  kind: 'image' | 'placeholder';
  reason?: PlaceholderReason;
  /** False when the answer must not be cached (a transient problem). */
  cacheable: boolean;
}

export function thumbnailPath(poolId: string, seriesId: string): string {
  if (!SAFE_ID.test(poolId) || !SAFE_ID.test(seriesId)) throw new AppError('NOT_FOUND', 'Series not found');
  return path.join(storageRoot(), 'thumbs', poolId, `${seriesId}.png`);
}

// A small semaphore: decoding a large compressed frame is CPU work in the web process.
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= RENDER_CONCURRENCY) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const inFlight = new Map<string, Promise<SeriesThumbnail>>();

async function render(poolId: string, seriesId: string, file: string): Promise<SeriesThumbnail> {
  // Image instances (rows known) in display order; the middle one is the series' face.
  const where = { seriesId, poolId, rows: { not: null } };
  const count = await db.instance.count({ where });
  if (count === 0) {
    const any = await db.instance.count({ where: { seriesId, poolId } });
    return { png: placeholderPng('no-image'), kind: 'placeholder', reason: 'no-image', cacheable: any > 0 };
  }
  const inst = await db.instance.findFirst({
    where,
    orderBy: [{ instanceNumber: 'asc' }, { sopInstanceUid: 'asc' }],
    skip: Math.floor((count - 1) / 2),
    select: { id: true, path: true },
  });
  if (!inst) return { png: placeholderPng('unreadable'), kind: 'placeholder', reason: 'unreadable', cacheable: false };
  let result;
  try {
    result = await limited(() => thumbnailOfFile(absolute(inst.path)));
  } catch (e) {
    log.warn('thumbnail source unavailable', { poolId, seriesId, instanceId: inst.id, code: (e as NodeJS.ErrnoException).code ?? 'ERROR' });
    return { png: placeholderPng('unreadable'), kind: 'placeholder', reason: 'unreadable', cacheable: false };
  }
  if (result.kind === 'placeholder' && result.reason !== 'no-image') {
    log.info('thumbnail placeholder', { poolId, seriesId, instanceId: inst.id, reason: result.reason, detail: result.detail });
  }
  // Written under a temporary name and renamed, so a reader never sees half a PNG.
  await ensureDir(path.dirname(file));
  const tmp = `${file}.${randomUUID()}.tmp`;
  await fs.writeFile(tmp, result.png);
  await fs.rename(tmp, file);
  return { png: result.png, kind: result.kind, reason: result.kind === 'placeholder' ? result.reason : undefined, cacheable: true };
}

export async function seriesThumbnail(poolId: string, seriesId: string): Promise<SeriesThumbnail> {
  const series = await db.series.findFirst({ where: { id: seriesId, poolId }, select: { id: true } });
  if (!series) throw new AppError('NOT_FOUND', 'Series not found');
  const file = thumbnailPath(poolId, series.id);
  const [stat, latest] = await Promise.all([
    fs.stat(file).catch(() => null),
    db.instance.aggregate({ where: { seriesId: series.id, poolId }, _max: { createdAt: true } }),
  ]);
  const newest = latest._max.createdAt?.getTime() ?? 0;
  if (stat && stat.mtimeMs >= newest) {
    const png = await fs.readFile(file).catch(() => null);
    if (png) {
      // Placeholders are cached too; they are recognised by their (fixed) bytes.
      const reason = (Object.keys(PLACEHOLDER_TEXT) as PlaceholderReason[]).find((r) => placeholderPng(r).equals(png));
      return reason ? { png, kind: 'placeholder', reason, cacheable: true } : { png, kind: 'image', cacheable: true };
    }
  }
  const key = `${poolId}/${series.id}`;
  let job = inFlight.get(key);
  if (!job) {
    job = render(poolId, series.id, file).finally(() => inFlight.delete(key));
    inFlight.set(key, job);
  }
  return job;
}

/** Removes a pool's cached thumbnails (for whoever deletes a pool's data). */
export async function removePoolThumbnails(poolId: string) {
  if (!SAFE_ID.test(poolId)) return;
  await fs.rm(path.join(storageRoot(), 'thumbs', poolId), { recursive: true, force: true });
}
