/**
 * Placeholder thumbnails: a dark square with a frame and a short upper-case message drawn with
 * a built-in 5x7 bitmap font, so the image itself says why there is no preview.
 */
import { encodePng, type Raster } from './png';

export type PlaceholderReason = 'compressed' | 'no-image' | 'unsupported' | 'unreadable' | 'too-large';

export const PLACEHOLDER_TEXT: Record<PlaceholderReason, string[]> = {
  compressed: ['COMPRESSED', '-', 'PREVIEW', 'UNAVAILABLE'],
  'no-image': ['NO IMAGE', 'IN THIS SERIES'],
  unsupported: ['PREVIEW', 'UNAVAILABLE'],
  unreadable: ['PREVIEW', 'UNAVAILABLE'],
  'too-large': ['IMAGE TOO LARGE', 'PREVIEW', 'UNAVAILABLE'],
};

// 5x7 glyphs, one string of five 0/1 per row.
const FONT: Record<string, string[]> = {
  A: ['01110', '10001', '10001', '11111', '10001', '10001', '10001'],
  B: ['11110', '10001', '10001', '11110', '10001', '10001', '11110'],
  C: ['01110', '10001', '10000', '10000', '10000', '10001', '01110'],
  D: ['11100', '10010', '10001', '10001', '10001', '10010', '11100'],
  E: ['11111', '10000', '10000', '11110', '10000', '10000', '11111'],
  F: ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
  G: ['01110', '10001', '10000', '10111', '10001', '10001', '01111'],
  H: ['10001', '10001', '10001', '11111', '10001', '10001', '10001'],
  I: ['01110', '00100', '00100', '00100', '00100', '00100', '01110'],
  J: ['00111', '00010', '00010', '00010', '00010', '10010', '01100'],
  K: ['10001', '10010', '10100', '11000', '10100', '10010', '10001'],
  L: ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
  M: ['10001', '11011', '10101', '10101', '10001', '10001', '10001'],
  N: ['10001', '10001', '11001', '10101', '10011', '10001', '10001'],
  O: ['01110', '10001', '10001', '10001', '10001', '10001', '01110'],
  P: ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
  Q: ['01110', '10001', '10001', '10001', '10101', '10010', '01101'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  S: ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
  T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
  U: ['10001', '10001', '10001', '10001', '10001', '10001', '01110'],
  V: ['10001', '10001', '10001', '10001', '10001', '01010', '00100'],
  W: ['10001', '10001', '10001', '10101', '10101', '10101', '01010'],
  X: ['10001', '10001', '01010', '00100', '01010', '10001', '10001'],
  Y: ['10001', '10001', '10001', '01010', '00100', '00100', '00100'],
  Z: ['11111', '00001', '00010', '00100', '01000', '10000', '11111'],
  '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11111', '00010', '00100', '00010', '00001', '10001', '01110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
  '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
  '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
  '-': ['00000', '00000', '00000', '11111', '00000', '00000', '00000'],
  '.': ['00000', '00000', '00000', '00000', '00000', '01100', '01100'],
  ' ': ['00000', '00000', '00000', '00000', '00000', '00000', '00000'],
};

const BG = 38;
const FG = 226;
const FRAME = 90;

function drawText(r: Raster, text: string, x0: number, y0: number, scale: number) {
  let x = x0;
  for (const ch of text.toUpperCase()) {
    const glyph = FONT[ch] ?? FONT[' '];
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (glyph[gy][gx] !== '1') continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = x + gx * scale + sx;
            const py = y0 + gy * scale + sy;
            if (px >= 0 && px < r.width && py >= 0 && py < r.height) r.data[py * r.width + px] = FG;
          }
        }
      }
    }
    x += 6 * scale;
  }
}

/** A size x size greyscale raster with a frame and the lines centred. */
export function placeholderRaster(lines: string[], size = 128): Raster {
  const r: Raster = { width: size, height: size, channels: 1, data: new Uint8Array(size * size).fill(BG) };
  const lo = 4;
  const hi = size - 5;
  for (let i = lo; i <= hi; i++) {
    r.data[lo * size + i] = FRAME;
    r.data[hi * size + i] = FRAME;
    r.data[i * size + lo] = FRAME;
    r.data[i * size + hi] = FRAME;
  }
  const widest = Math.max(...lines.map((l) => l.length * 6 - 1));
  const scale = Math.max(1, Math.min(2, Math.floor((size - 16) / Math.max(1, widest))));
  const lineHeight = 10 * scale;
  let y = Math.round((size - lines.length * lineHeight + 3 * scale) / 2);
  for (const line of lines) {
    const w = line.length * 6 * scale - scale;
    drawText(r, line, Math.round((size - w) / 2), y, scale);
    y += lineHeight;
  }
  return r;
}

const cache = new Map<PlaceholderReason, Buffer>();

export function placeholderPng(reason: PlaceholderReason): Buffer {
  let png = cache.get(reason);
  if (!png) cache.set(reason, (png = encodePng(placeholderRaster(PLACEHOLDER_TEXT[reason]))));
  return png;
}
