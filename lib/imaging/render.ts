/**
 * Turning one frame of native pixels into a small 8-bit raster.
 *
 * Greyscale: stored value (BitsStored/HighBit, signed or unsigned, 8/16/32 bits allocated)
 * -> modality value (RescaleSlope/Intercept) -> VOI: the file's first WindowCenter/Width with
 * the linear function of PS3.3 C.11.2.1.2, or, without a window, the min..max of the modality
 * values (PixelPaddingValue excluded) -> MONOCHROME1 inverted. Colour: RGB (interleaved or
 * planar), YBR_FULL and YBR_FULL_422 converted to RGB. Palette colour and 1-bit images are not
 * rendered (the caller shows a placeholder).
 *
 * Scaling: the frame is fitted into size x size keeping its aspect ratio, by area averaging
 * when shrinking and nearest neighbour when enlarging; no intermediate full-size copy is made.
 */
import type { ImageAttrs } from './frame';
import type { Raster } from './png';

export class UnsupportedImageError extends Error {}

export interface VoiWindow {
  center: number;
  width: number;
  source: 'file' | 'min-max';
}

export function fitSize(columns: number, rows: number, size: number): { width: number; height: number } {
  const scale = size / Math.max(columns, rows);
  return { width: Math.max(1, Math.round(columns * scale)), height: Math.max(1, Math.round(rows * scale)) };
}

/** Reads the stored value of pixel sample i (greyscale), honouring BitsStored, HighBit and sign. */
function storedReader(a: ImageAttrs, bytes: Buffer, littleEndian: boolean): (i: number) => number {
  const shift = Math.max(0, a.highBit + 1 - a.bitsStored);
  const bits = Math.min(a.bitsStored, a.bitsAllocated);
  const range = 2 ** bits;
  const half = range / 2;
  const signed = a.pixelRepresentation === 1;
  let raw: (i: number) => number;
  switch (a.bitsAllocated) {
    case 8:
      raw = (i) => bytes[i];
      break;
    case 16:
      raw = littleEndian ? (i) => bytes[2 * i] | (bytes[2 * i + 1] << 8) : (i) => (bytes[2 * i] << 8) | bytes[2 * i + 1];
      break;
    case 32:
      raw = littleEndian ? (i) => bytes.readUInt32LE(4 * i) : (i) => bytes.readUInt32BE(4 * i);
      break;
    default:
      throw new UnsupportedImageError(`${a.bitsAllocated} bits allocated`);
  }
  if (bits >= 32) return signed ? (i) => raw(i) | 0 : raw;
  return (i) => {
    const v = Math.floor(raw(i) / 2 ** shift) % range;
    return signed && v >= half ? v - range : v;
  };
}

/** The VOI window a thumbnail uses: the file's, else min..max of the modality values. */
export function chooseWindow(a: ImageAttrs, modality: (i: number) => number, count: number): VoiWindow {
  if (a.windowCenter !== undefined && a.windowWidth !== undefined && a.windowWidth >= 1) {
    return { center: a.windowCenter, width: a.windowWidth, source: 'file' };
  }
  const padding = a.pixelPaddingValue !== undefined ? a.pixelPaddingValue * a.rescaleSlope + a.rescaleIntercept : undefined;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = modality(i);
    if (v === padding) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) min = max = 0;
  // A window [min, max] in the linear function's terms: width = max - min + 1, centre in the middle.
  return { center: (min + max + 1) / 2, width: Math.max(1, max - min + 1), source: 'min-max' };
}

/** The linear VOI function of PS3.3 C.11.2.1.2.1, output 0..255. */
export function applyWindow(x: number, w: VoiWindow): number {
  const c = w.center - 0.5;
  const width = w.width - 1;
  if (width <= 0) return x <= c ? 0 : 255;
  if (x <= c - width / 2) return 0;
  if (x > c + width / 2) return 255;
  return Math.round(((x - c) / width + 0.5) * 255);
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Scales a per-pixel 8-bit sampler into the target raster. */
function resample(columns: number, rows: number, channels: 1 | 3, sample: (i: number, out: number[]) => void, size: number): Raster {
  const { width, height } = fitSize(columns, rows, size);
  const data = new Uint8Array(width * height * channels);
  const px = [0, 0, 0];
  if (width >= columns && height >= rows) {
    // Enlarging: nearest neighbour.
    for (let ty = 0; ty < height; ty++) {
      const sy = Math.min(rows - 1, Math.floor((ty * rows) / height));
      for (let tx = 0; tx < width; tx++) {
        const sx = Math.min(columns - 1, Math.floor((tx * columns) / width));
        sample(sy * columns + sx, px);
        for (let c = 0; c < channels; c++) data[(ty * width + tx) * channels + c] = px[c];
      }
    }
    return { width, height, channels, data };
  }
  // Shrinking: every source pixel adds to the target pixel that covers it.
  const sums = new Float64Array(width * height * channels);
  const counts = new Uint32Array(width * height);
  const txOf = new Int32Array(columns);
  for (let x = 0; x < columns; x++) txOf[x] = Math.min(width - 1, Math.floor((x * width) / columns));
  for (let y = 0; y < rows; y++) {
    const ty = Math.min(height - 1, Math.floor((y * height) / rows));
    for (let x = 0; x < columns; x++) {
      sample(y * columns + x, px);
      const t = ty * width + txOf[x];
      counts[t]++;
      for (let c = 0; c < channels; c++) sums[t * channels + c] += px[c];
    }
  }
  for (let t = 0; t < width * height; t++) {
    const n = counts[t] || 1;
    for (let c = 0; c < channels; c++) data[t * channels + c] = clamp8(sums[t * channels + c] / n);
  }
  return { width, height, channels, data };
}

export interface Rendered {
  raster: Raster;
  /** Greyscale only: the window used. */
  window?: VoiWindow;
}

export function renderFrame(a: ImageAttrs, bytes: Buffer, opts: { littleEndian?: boolean; size?: number } = {}): Rendered {
  const size = opts.size ?? 128;
  const le = opts.littleEndian ?? true;
  const n = a.rows * a.columns;
  if (n < 1) throw new UnsupportedImageError('empty image');
  const photometric = a.photometric;

  if (a.samplesPerPixel === 1 && (photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2')) {
    if (a.bitsAllocated === 1) throw new UnsupportedImageError('1-bit image');
    if (bytes.length < (n * a.bitsAllocated) / 8) throw new UnsupportedImageError('pixel data shorter than the image');
    const stored = storedReader(a, bytes, le);
    const slope = a.rescaleSlope;
    const intercept = a.rescaleIntercept;
    const modality = slope === 1 && intercept === 0 ? stored : (i: number) => stored(i) * slope + intercept;
    const window = chooseWindow(a, modality, n);
    const invert = photometric === 'MONOCHROME1';
    const raster = resample(
      a.columns,
      a.rows,
      1,
      (i, out) => {
        const v = applyWindow(modality(i), window);
        out[0] = invert ? 255 - v : v;
      },
      size,
    );
    return { raster, window };
  }

  if (a.samplesPerPixel === 3 && (photometric === 'RGB' || photometric === 'YBR_FULL' || photometric === 'YBR_RCT' || photometric === 'YBR_ICT')) {
    if (a.bitsAllocated !== 8 && a.bitsAllocated !== 16) throw new UnsupportedImageError(`${a.bitsAllocated}-bit colour`);
    const bps = a.bitsAllocated / 8;
    const maxValue = 2 ** Math.min(a.bitsStored, a.bitsAllocated) - 1;
    const read = bps === 1 ? (o: number) => bytes[o] : le ? (o: number) => bytes.readUInt16LE(o * 2) : (o: number) => bytes.readUInt16BE(o * 2);
    const to8 = bps === 1 ? (v: number) => v : (v: number) => (v * 255) / maxValue;
    if (bytes.length < n * 3 * bps) throw new UnsupportedImageError('pixel data shorter than the image');
    const planar = a.planarConfiguration === 1;
    const ybr = photometric === 'YBR_FULL';
    const raster = resample(
      a.columns,
      a.rows,
      3,
      (i, out) => {
        const s0 = to8(read(planar ? i : 3 * i));
        const s1 = to8(read(planar ? n + i : 3 * i + 1));
        const s2 = to8(read(planar ? 2 * n + i : 3 * i + 2));
        if (ybr) {
          out[0] = clamp8(s0 + 1.402 * (s2 - 128));
          out[1] = clamp8(s0 - 0.344136 * (s1 - 128) - 0.714136 * (s2 - 128));
          out[2] = clamp8(s0 + 1.772 * (s1 - 128));
        } else {
          out[0] = s0;
          out[1] = s1;
          out[2] = s2;
        }
      },
      size,
    );
    return { raster };
  }

  if (a.samplesPerPixel === 3 && photometric === 'YBR_FULL_422' && a.bitsAllocated === 8) {
    // Native 4:2:2: Y1 Y2 Cb Cr for each horizontal pair of pixels.
    if (bytes.length < n * 2) throw new UnsupportedImageError('pixel data shorter than the image');
    const raster = resample(
      a.columns,
      a.rows,
      3,
      (i, out) => {
        const pair = Math.floor(i / 2) * 4;
        const y = bytes[pair + (i % 2)];
        const cb = bytes[pair + 2];
        const cr = bytes[pair + 3];
        out[0] = clamp8(y + 1.402 * (cr - 128));
        out[1] = clamp8(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
        out[2] = clamp8(y + 1.772 * (cb - 128));
      },
      size,
    );
    return { raster };
  }

  throw new UnsupportedImageError(`photometric interpretation ${photometric} with ${a.samplesPerPixel} samples`);
}
