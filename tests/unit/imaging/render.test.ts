/**
 * Windowing and pixel decoding of thumbnails on crafted frames, checked against the formulas
 * written out independently here (PS3.3 C.11.2.1.2.1 linear VOI function).
 */
import { describe, expect, it } from 'vitest';
import type { ImageAttrs } from '@/lib/imaging/frame';
import { decodePng } from './helpers';
import { encodePng } from '@/lib/imaging/png';
import { applyWindow, fitSize, renderFrame, UnsupportedImageError } from '@/lib/imaging/render';
import { u16 } from './helpers';

const attrs = (over: Partial<ImageAttrs>): ImageAttrs => ({
  rows: 64,
  columns: 64,
  samplesPerPixel: 1,
  bitsAllocated: 16,
  bitsStored: 16,
  highBit: 15,
  pixelRepresentation: 0,
  photometric: 'MONOCHROME2',
  planarConfiguration: 0,
  numberOfFrames: 1,
  rescaleSlope: 1,
  rescaleIntercept: 0,
  ...over,
});

/** The standard's linear function, written independently of lib/imaging/render. */
function expectedWindow(x: number, c: number, w: number): number {
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 255;
  return Math.round(((x - (c - 0.5)) / (w - 1) + 0.5) * 255);
}

describe('VOI window (linear)', () => {
  it('maps the window edges and centre as PS3.3 C.11.2.1.2.1 says', () => {
    const w = { center: 40, width: 400, source: 'file' as const };
    expect(applyWindow(-160, w)).toBe(0);
    expect(applyWindow(-159.4, w)).toBe(0);
    expect(applyWindow(39.5, w)).toBe(128);
    expect(applyWindow(239, w)).toBe(255);
    expect(applyWindow(239.01, w)).toBe(255);
    expect(applyWindow(3000, w)).toBe(255);
    for (let x = -200; x < 260; x += 7) expect(applyWindow(x, w)).toBe(expectedWindow(x, 40, 400));
  });

  it('treats a window of width 1 as a threshold', () => {
    const w = { center: 100, width: 1, source: 'file' as const };
    expect(applyWindow(99, w)).toBe(0);
    expect(applyWindow(100, w)).toBe(255);
  });
});

describe('greyscale frames', () => {
  // 64 x 64 = 4096 pixels: every signed 12-bit stored value exactly once, -2048..2047.
  const signedRamp = u16(Array.from({ length: 4096 }, (_, i) => i - 2048));
  const ct = attrs({ bitsStored: 12, highBit: 11, pixelRepresentation: 1, rescaleSlope: 2, rescaleIntercept: -1000, windowCenter: 40, windowWidth: 400 });

  it('applies BitsStored, sign, rescale and the file window to every pixel', () => {
    const { raster, window } = renderFrame(ct, signedRamp, { size: 64 });
    expect(window).toEqual({ center: 40, width: 400, source: 'file' });
    expect([raster.width, raster.height, raster.channels]).toEqual([64, 64, 1]);
    for (let i = 0; i < 4096; i++) expect(raster.data[i], `pixel ${i}`).toBe(expectedWindow(2 * (i - 2048) - 1000, 40, 400));
    // The window actually cuts: black, grey and white all occur.
    expect(raster.data).toContain(0);
    expect(raster.data).toContain(255);
    expect(raster.data.some((v) => v > 0 && v < 255)).toBe(true);
  });

  it('inverts MONOCHROME1', () => {
    const mono1 = renderFrame({ ...ct, photometric: 'MONOCHROME1' }, signedRamp, { size: 64 }).raster;
    for (let i = 0; i < 4096; i += 13) expect(mono1.data[i]).toBe(255 - expectedWindow(2 * (i - 2048) - 1000, 40, 400));
  });

  it('ignores bits above HighBit (unsigned 12 of 16)', () => {
    const values = Array.from({ length: 4096 }, (_, i) => i);
    const clean = renderFrame(attrs({ bitsStored: 12, highBit: 11 }), u16(values), { size: 64 }).raster;
    const dirty = renderFrame(attrs({ bitsStored: 12, highBit: 11 }), u16(values.map((v) => v | 0xf000)), { size: 64 }).raster;
    expect(Buffer.from(dirty.data).equals(Buffer.from(clean.data))).toBe(true);
  });

  it('reads stored bits that do not start at bit 0 (HighBit 15, BitsStored 12)', () => {
    const values = Array.from({ length: 4096 }, (_, i) => i << 4);
    const shifted = renderFrame(attrs({ bitsStored: 12, highBit: 15 }), u16(values), { size: 64 }).raster;
    const plain = renderFrame(attrs({ bitsStored: 12, highBit: 11 }), u16(values.map((v) => v >> 4)), { size: 64 }).raster;
    expect(Buffer.from(shifted.data).equals(Buffer.from(plain.data))).toBe(true);
  });

  it('without a window uses min..max of the modality values, PixelPaddingValue excluded', () => {
    const values = Array.from({ length: 4096 }, (_, i) => 1000 + i);
    values[0] = 0; // padding, far below everything else
    const { raster, window } = renderFrame(attrs({ pixelPaddingValue: 0, rescaleIntercept: -24 }), u16(values), { size: 64 });
    expect(window?.source).toBe('min-max');
    const min = 1001 - 24;
    const max = 1000 + 4095 - 24;
    expect(window?.center).toBe((min + max + 1) / 2);
    expect(window?.width).toBe(max - min + 1);
    expect(raster.data[1]).toBe(0);
    expect(raster.data[4095]).toBe(255);
    expect(Math.abs(raster.data[2048] - 128)).toBeLessThanOrEqual(1);
  });

  it('8-bit unsigned without a window comes out unchanged', () => {
    const px = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const { raster } = renderFrame(attrs({ rows: 16, columns: 16, bitsAllocated: 8, bitsStored: 8, highBit: 7 }), px, { size: 16 });
    expect(Buffer.from(raster.data).equals(px)).toBe(true);
  });

  it('a constant image is valid (black), not an error', () => {
    const { raster } = renderFrame(attrs({}), u16(new Array(4096).fill(500)), { size: 64 });
    expect(new Set(raster.data)).toEqual(new Set([0]));
  });

  it('shrinks by area averaging and keeps the aspect ratio', () => {
    expect(fitSize(512, 512, 128)).toEqual({ width: 128, height: 128 });
    expect(fitSize(256, 200, 128)).toEqual({ width: 128, height: 100 });
    expect(fitSize(30, 2000, 128)).toEqual({ width: 2, height: 128 });
    // 4 x 2 image, columns alternating 0/255: each 2 x 2 block averages to 128.
    const px = Buffer.from([0, 255, 0, 255, 0, 255, 0, 255]);
    const { raster } = renderFrame(attrs({ rows: 2, columns: 4, bitsAllocated: 8, bitsStored: 8, highBit: 7, windowCenter: 128, windowWidth: 256 }), px, { size: 2 });
    expect([raster.width, raster.height]).toEqual([2, 1]);
    expect([...raster.data]).toEqual([128, 128]);
  });
});

describe('colour frames', () => {
  const rgbPixels = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [10, 20, 30],
  ];
  const a = attrs({ rows: 2, columns: 2, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, highBit: 7, photometric: 'RGB' });

  it('RGB interleaved and planar give the same picture', () => {
    const interleaved = Buffer.from(rgbPixels.flat());
    const planar = Buffer.from([0, 1, 2].flatMap((c) => rgbPixels.map((p) => p[c])));
    const r1 = renderFrame(a, interleaved, { size: 2 }).raster;
    const r2 = renderFrame({ ...a, planarConfiguration: 1 }, planar, { size: 2 }).raster;
    expect(r1.channels).toBe(3);
    expect([...r1.data]).toEqual(rgbPixels.flat());
    expect([...r2.data]).toEqual(rgbPixels.flat());
  });

  it('YBR_FULL is converted to RGB', () => {
    // Y=128, Cb=Cr=128 is mid grey; Y=76, Cb=85, Cr=255 is (nearly) pure red.
    const ybr = Buffer.from([128, 128, 128, 76, 85, 255, 128, 128, 128, 128, 128, 128]);
    const r = renderFrame({ ...a, photometric: 'YBR_FULL' }, ybr, { size: 2 }).raster;
    expect([...r.data.subarray(0, 3)]).toEqual([128, 128, 128]);
    const [R, G, B] = r.data.subarray(3, 6);
    expect(R).toBeGreaterThan(250);
    expect(G).toBeLessThan(5);
    expect(B).toBeLessThan(5);
  });

  it('refuses what it does not render (palette colour, 1-bit)', () => {
    expect(() => renderFrame(attrs({ photometric: 'PALETTE COLOR' }), u16(new Array(4096).fill(1)))).toThrow(UnsupportedImageError);
    expect(() => renderFrame(attrs({ bitsAllocated: 1, bitsStored: 1, highBit: 0 }), Buffer.alloc(512))).toThrow(UnsupportedImageError);
  });
});

describe('PNG writer', () => {
  it('writes a PNG that an independent reader decodes to the same pixels', () => {
    const data = new Uint8Array(7 * 5).map((_, i) => (i * 37) % 256);
    const png = encodePng({ width: 7, height: 5, channels: 1, data });
    const back = decodePng(png);
    expect([back.width, back.height, back.channels, back.bitDepth]).toEqual([7, 5, 1, 8]);
    expect([...back.data]).toEqual([...data]);
    const rgb = new Uint8Array(3 * 4 * 3).map((_, i) => (i * 11) % 256);
    const back3 = decodePng(encodePng({ width: 4, height: 3, channels: 3, data: rgb }));
    expect(back3.channels).toBe(3);
    expect([...back3.data]).toEqual([...rgb]);
  });

  it('refuses a raster whose size does not match', () => {
    expect(() => encodePng({ width: 4, height: 4, channels: 1, data: new Uint8Array(15) })).toThrow();
  });
});
