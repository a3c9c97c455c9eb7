/**
 * What the owner looks at before deciding on a quarantined instance: the image (one frame, windowed
 * to 8 bits as the thumbnails are, at most 2048 px on its long side) and the boxes OCR found, with
 * their category and confidence (never text: none is stored), the regions a redaction would blank
 * from device signatures, and any redaction done. Owner only ('pool:identity'): the image may show
 * the very names and dates it is held for.
 */
import { db } from '../db';
import { AppError } from '../errors';
import { encodePng } from '../imaging/png';
import { openPixelFile } from '../imaging/pixel-file';
import { renderFrame } from '../imaging/render';
import { OCR_CATEGORY_TEXT, type OcrCategory } from '../ocr/categories';
import { absolute } from '../storage';
import { plannedRegions } from './redact';

export const QUARANTINE_IMAGE_MAX = 2048;

async function heldRow(poolId: string, id: string) {
  const row = await db.quarantinedInstance.findFirst({ where: { id, poolId } });
  if (!row) throw new AppError('NOT_FOUND', 'No such quarantined instance in this pool');
  return row;
}

export async function quarantineOcrView(poolId: string, id: string) {
  const row = await heldRow(poolId, id);
  const boxes = await db.ocrBox.findMany({ where: { quarantinedInstanceId: row.id }, orderBy: [{ frame: 'asc' }, { y: 'asc' }, { x: 'asc' }] });
  const redactions = await db.redaction.findMany({ where: { quarantinedInstanceId: row.id }, orderBy: { createdAt: 'asc' } });
  let image: { rows: number; columns: number; frameCount: number } | null = null;
  let signatureRegions: { x: number; y: number; width: number; height: number; ruleId: string | null }[] = [];
  if (row.decision === null) {
    try {
      const plan = await plannedRegions(row, { regions: [], useOcr: false, useSignatures: true });
      image = { rows: plan.rows, columns: plan.columns, frameCount: plan.frameCount };
      signatureRegions = plan.regions.map((r) => ({ x: r.x, y: r.y, width: r.width, height: r.height, ruleId: r.ruleId ?? null }));
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
    }
  }
  return {
    id: row.id,
    decision: row.decision,
    ocr: { status: row.ocrStatus, error: row.ocrError, framesRead: row.ocrFrames, at: row.ocrAt, boxCount: row.ocrBoxCount },
    image,
    boxes: boxes.map((b) => ({
      frame: b.frame,
      x: b.x,
      y: b.y,
      width: b.width,
      height: b.height,
      confidence: b.confidence,
      category: b.category as OcrCategory,
      categoryText: OCR_CATEGORY_TEXT[b.category as OcrCategory] ?? b.category,
    })),
    signatureRegions,
    redactions: redactions.map((r) => ({
      id: r.id,
      sopInstanceUid: r.sopInstanceUid,
      instanceId: r.instanceId,
      regionCount: r.regionCount,
      signatureRegions: r.signatureRegions,
      ocrRegions: r.ocrRegions,
      ownerRegions: r.ownerRegions,
      lossy: r.lossy,
      transferSyntaxOut: r.transferSyntaxOut,
      createdAt: r.createdAt,
    })),
  };
}

/** One frame of a quarantined (undecided) instance as a PNG. */
export async function quarantineImage(poolId: string, id: string, frame: number): Promise<{ png: Buffer; width: number; height: number }> {
  const row = await heldRow(poolId, id);
  if (row.decision !== null) throw new AppError('CONFLICT', `This instance was already ${row.decision}; its quarantined file is gone`);
  let file;
  try {
    file = openPixelFile(absolute(row.path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('CONFLICT', 'The quarantined file is missing');
    throw new AppError('VALIDATION', 'This instance has no image that can be shown here');
  }
  try {
    if (frame >= file.frameCount) throw new AppError('VALIDATION', `Frame ${frame} does not exist`);
    const { bytes, attrs } = await file.frame(frame);
    const { raster } = renderFrame(attrs, bytes, { size: Math.min(QUARANTINE_IMAGE_MAX, Math.max(attrs.columns, attrs.rows)) });
    return { png: encodePng(raster), width: raster.width, height: raster.height };
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('VALIDATION', 'This image cannot be rendered here');
  } finally {
    file.close();
  }
}
