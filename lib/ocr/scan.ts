/**
 * OCR of one stored instance: each frame (multi-frame objects: at most `maxFrames`, spread evenly
 * from the first to the last) is windowed to 8 bits exactly as the thumbnails are
 * (lib/imaging/render.ts, full size), written as an uncompressed PNM in memory (no deflate on the
 * worker's event loop) and read by tesseract. A word
 * becomes a box with its confidence and its category (lib/ocr/categories.ts); the text itself is
 * dropped here and goes nowhere (not the database, not a log, not the API).
 */
import type { Raster } from '../imaging/png';
import { openPixelFile } from '../imaging/pixel-file';
import { renderFrame } from '../imaging/render';
import { categorize, type OcrCategory } from './categories';
import { recognizeWords } from './tesseract';

export interface OcrBoxFound {
  frame: number;
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  category: OcrCategory;
}

export interface OcrScanResult {
  framesTotal: number;
  rows: number;
  columns: number;
  framesRead: number[];
  boxes: OcrBoxFound[];
}

export interface OcrScanOptions {
  /** Frames read at most per instance (OCR_MAX_FRAMES, default 8). */
  maxFrames?: number;
  /** Words below this tesseract confidence are not boxes (OCR_MIN_CONFIDENCE, default 30). */
  minConfidence?: number;
}

export const DEFAULT_MAX_FRAMES = 8;
export const DEFAULT_MIN_CONFIDENCE = 30;

/** A raster as binary PGM (P5) or PPM (P6): what leptonica reads without decompressing. */
export function encodePnm(r: Raster): Buffer {
  return Buffer.concat([Buffer.from(`${r.channels === 3 ? 'P6' : 'P5'}\n${r.width} ${r.height}\n255\n`, 'latin1'), Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength)]);
}

/** Up to `cap` frame indexes from 0 to n-1, evenly spread, first and last included. */
export function framesToRead(n: number, cap: number): number[] {
  if (n <= cap) return Array.from({ length: n }, (_, i) => i);
  if (cap <= 1) return [0];
  const out = new Set<number>();
  for (let k = 0; k < cap; k++) out.add(Math.round((k * (n - 1)) / (cap - 1)));
  return [...out].sort((a, b) => a - b);
}

/**
 * A word worth a box: two letters or digits at least, or one digit (a lone digit can be part of a
 * date), with tesseract's confidence at least `minConfidence` — or, whatever the confidence, five
 * letters/digits or more making up most of the word: texture is not read as a long word, while a
 * name with an unusual separator (DOE^JANE read as "DOE*‘JANE") often comes with a low confidence.
 */
export function isText(t: string, confidence: number, minConfidence: number): boolean {
  const alnum = (t.match(/[\p{L}\p{N}]/gu) ?? []).length;
  if (!(alnum >= 2 || /\p{N}/u.test(t))) return false;
  return confidence >= minConfidence || (alnum >= 5 && alnum / [...t].length >= 0.7);
}

/**
 * Images of small text are enlarged before OCR: tesseract reads glyphs about 20-30 px high best,
 * and burned-in labels are often 8-14 px. Images already large are read as they are.
 */
function scaleFor(columns: number, rows: number): number {
  return Math.max(columns, rows) <= 1024 ? 2 : 1;
}

export async function ocrFile(absPath: string, opts: OcrScanOptions = {}): Promise<OcrScanResult> {
  const file = openPixelFile(absPath);
  try {
    const frames = framesToRead(file.frameCount, Math.max(1, opts.maxFrames ?? DEFAULT_MAX_FRAMES));
    const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
    const boxes: OcrBoxFound[] = [];
    for (const f of frames) {
      // Rendering is synchronous: let the worker's other work (the SCP, other jobs) in between frames.
      await new Promise((r) => setImmediate(r));
      const { bytes, attrs } = await file.frame(f);
      const scale = scaleFor(attrs.columns, attrs.rows);
      const { raster } = renderFrame(attrs, bytes, { size: Math.max(attrs.columns, attrs.rows) * scale });
      const words = await recognizeWords(encodePnm(raster));
      const sx = attrs.columns / raster.width;
      const sy = attrs.rows / raster.height;
      for (const w of words) {
        if (!isText(w.text, w.confidence, minConfidence)) continue;
        const x = Math.max(0, Math.floor(w.x * sx));
        const y = Math.max(0, Math.floor(w.y * sy));
        boxes.push({
          frame: f,
          x,
          y,
          width: Math.max(1, Math.min(attrs.columns - x, Math.ceil((w.x + w.width) * sx) - x)),
          height: Math.max(1, Math.min(attrs.rows - y, Math.ceil((w.y + w.height) * sy) - y)),
          confidence: Math.round(w.confidence * 10) / 10,
          category: categorize(w.text),
        });
      }
    }
    return { framesTotal: file.frameCount, rows: file.attrs.rows, columns: file.attrs.columns, framesRead: frames, boxes };
  } finally {
    file.close();
  }
}
