/**
 * The OCR step of the quarantine: each quarantined instance is read by tesseract in the worker
 * (queue `ocr`, OCR_CONCURRENCY at once per worker; tesseract runs as a child process, so the
 * event loop never waits on it). The boxes and their categories replace whatever an earlier run
 * stored, in one transaction with the row's status: a worker killed mid-OCR leaves the row
 * 'pending', its job is picked up again (stalled-job recovery, or the sweep at worker start and
 * every 15 minutes) and runs from the start, with nothing duplicated.
 *
 * Status: pending -> done (boxes stored, maybe none) | unsupported (no pixels, a compression or
 * layout not read: ocrError says which) | unavailable (tesseract not installed: read again by the
 * sweep once it is) | failed (tesseract failed on every attempt) | skipped (decided before OCR).
 * With the pool's rule `quarantine.releaseIfNoText`, a 'done' instance with no box is released
 * without the owner (audited as quarantine.auto-release).
 */
import { db } from '../db';
import { env } from '../env';
import { ImageFormatError } from '../imaging/frame';
import { UnsupportedCompressionError } from '../imaging/decode';
import { UnsupportedPixelFileError } from '../imaging/pixel-file';
import { UnsupportedImageError } from '../imaging/render';
import { jobId } from '../jobs/catalogue';
import { enqueue } from '../jobs/queues';
import { logger } from '../logger';
import { currentRules } from '../pools/rules';
import { absolute } from '../storage';
import { ocrFile } from './scan';
import { tesseractAvailable, TesseractUnavailableError } from './tesseract';

const log = logger('ocr');

/** Enqueues OCR of these quarantined instances (a no-op for one already queued). Never throws: the sweep catches up. */
export async function enqueueOcr(ids: string[]): Promise<void> {
  for (const id of ids) {
    try {
      await enqueue('quarantine.ocr', { quarantinedId: id }, { jobId: jobId.ocr(id), attempts: 3, removeOnComplete: true, removeOnFail: true });
    } catch (err) {
      log.warn('could not enqueue OCR; the sweep will', { id, err });
    }
  }
}

/** Every undecided instance still waiting for OCR (or waiting for tesseract to be installed). */
export async function sweepPendingOcr(): Promise<{ enqueued: number }> {
  const rows = await db.quarantinedInstance.findMany({
    where: { decision: null, ocrStatus: { in: ['pending', 'unavailable'] } },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
    take: 10_000,
  });
  await enqueueOcr(rows.map((r) => r.id));
  return { enqueued: rows.length };
}

export type OcrOutcome = { status: 'done'; boxes: number; released: boolean } | { status: 'skipped' | 'unsupported' | 'unavailable' | 'failed'; code?: string };

function unsupportedCode(e: unknown): string | null {
  if (e instanceof UnsupportedPixelFileError) return e.code;
  if (e instanceof UnsupportedCompressionError) return 'compression';
  if (e instanceof UnsupportedImageError) return 'image-layout';
  if (e instanceof ImageFormatError) return 'unreadable';
  return null;
}

export async function runQuarantineOcr(quarantinedId: string, opts: { isFinalAttempt?: boolean } = {}): Promise<OcrOutcome> {
  const row = await db.quarantinedInstance.findUnique({ where: { id: quarantinedId } });
  if (!row) return { status: 'skipped' };
  const mark = async (status: string, code?: string) => {
    await db.quarantinedInstance.update({ where: { id: row.id }, data: { ocrStatus: status, ocrError: code ?? null, ocrAt: new Date() } });
  };
  if (row.decision !== null) {
    if (row.ocrStatus === 'pending') await mark('skipped');
    return { status: 'skipped' };
  }
  if (!(await tesseractAvailable())) {
    await mark('unavailable', 'tesseract-unavailable');
    return { status: 'unavailable', code: 'tesseract-unavailable' };
  }
  const e = env();
  let result;
  try {
    result = await ocrFile(absolute(row.path), { maxFrames: e.OCR_MAX_FRAMES, minConfidence: e.OCR_MIN_CONFIDENCE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // Decided (released / dropped) while it waited: nothing to read.
      return { status: 'skipped' };
    }
    if (err instanceof TesseractUnavailableError) {
      await mark('unavailable', 'tesseract-unavailable');
      return { status: 'unavailable', code: 'tesseract-unavailable' };
    }
    const code = unsupportedCode(err);
    if (code) {
      await mark('unsupported', code);
      return { status: 'unsupported', code };
    }
    if (opts.isFinalAttempt) {
      await mark('failed', (err as { code?: string }).code ?? 'ocr-failed');
      return { status: 'failed', code: 'ocr-failed' };
    }
    throw err;
  }
  const boxes = result.boxes;
  await db.$transaction([
    db.ocrBox.deleteMany({ where: { quarantinedInstanceId: row.id } }),
    db.ocrBox.createMany({ data: boxes.map((b) => ({ quarantinedInstanceId: row.id, poolId: row.poolId, ...b })) }),
    db.quarantinedInstance.update({
      where: { id: row.id },
      data: { ocrStatus: 'done', ocrError: null, ocrFrames: result.framesRead.length, ocrBoxCount: boxes.length, ocrAt: new Date() },
    }),
  ]);
  let released = false;
  if (boxes.length === 0) {
    const pool = await db.pool.findUnique({ where: { id: row.poolId }, select: { id: true, secret: true, rules: true } });
    if (pool && currentRules(pool).quarantine?.releaseIfNoText) {
      const { releaseQuarantined } = await import('../pools/quarantine');
      try {
        await releaseQuarantined(null, pool, row.id);
        released = true;
      } catch (err) {
        // Decided by the owner meanwhile, or the file is gone: the owner's list says so.
        log.warn('automatic release after OCR did not happen', { id: row.id, err });
      }
    }
  }
  return { status: 'done', boxes: boxes.length, released };
}
