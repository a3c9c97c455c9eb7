/**
 * OCR and redaction on images with text burned in at known places (tests/helpers/burned-text.ts):
 * OCR finds each planted string's place; redaction of the found boxes removes them (OCR on the
 * output finds none of them), leaves every other pixel byte identical, writes a new SOP Instance
 * UID with Burned In Annotation NO and the Clean Pixel Data code, and validates as the same IOD.
 * Greyscale 8 and 16 bits, RGB interleaved and planar, multi-frame, RLE; JPEG baseline refused
 * unless lossy is allowed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNaturalized } from '@/lib/imaging/dcmjs';
import { openPixelFile } from '@/lib/imaging/pixel-file';
import { blankFrame, redactFile, redactedSopUid, RedactionRefusedError, type RedactRegion } from '@/lib/imaging/redact';
import { ocrFile, type OcrBoxFound } from '@/lib/ocr/scan';
import { dimse } from '@/lib/dicom/dimse';
import { codecsReady } from '@/lib/imaging/decode';
import { burnedInstance, closeRenderer, overlaps, renderImages, textSpecs, type PixelLayout, type RenderedImage } from '../../helpers/burned-text';
import { dciodvfy, newErrors } from '../../helpers/dciodvfy';

let tmp: string;
let images: RenderedImage[];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-redact-'));
  images = await renderImages(textSpecs(5, 3));
  await closeRenderer();
}, 60_000);

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function write(name: string, bytes: Buffer): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, bytes);
  return f;
}

/** OCR boxes padded by a quarter of their height, as the redaction step pads them. */
function padded(boxes: OcrBoxFound[]): RedactRegion[] {
  return boxes.map((b) => {
    const p = Math.max(2, Math.round(b.height * 0.25));
    return { frame: null, x: b.x - p, y: b.y - p, width: b.width + 2 * p, height: b.height + 2 * p, source: 'ocr' as const };
  });
}

function inside(regions: RedactRegion[], x: number, y: number, frame: number) {
  return regions.some((r) => (r.frame === null || r.frame === frame) && x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);
}

async function allFrames(file: string) {
  const f = openPixelFile(file);
  try {
    const frames = [];
    for (let i = 0; i < f.frameCount; i++) frames.push(await f.frame(i));
    return { frames, ts: f.transferSyntaxUid, dataset: f.dataset };
  } finally {
    f.close();
  }
}

const cases: { layout: PixelLayout; kind: 'us' | 'sc'; frames?: number }[] = [
  { layout: 'grey8', kind: 'us' },
  { layout: 'rgb', kind: 'us' },
  { layout: 'grey16', kind: 'sc' },
  { layout: 'rgb-planar', kind: 'sc' },
  { layout: 'grey8', kind: 'us', frames: 3 },
];

describe('OCR finds the planted text and redaction removes it, nothing else', () => {
  it.each(cases.map((c, i) => [`${c.layout} ${c.kind}${c.frames ? ` ${c.frames} frames` : ''}`, c, i] as const))(
    '%s',
    async (_label, c, i) => {
      const img = images[i];
      const src = burnedInstance({ img, layout: c.layout, kind: c.kind, frames: c.frames });
      const inFile = write(`in-${i}.dcm`, src.bytes);
      const found = await ocrFile(inFile);
      expect(found.framesTotal).toBe(c.frames ?? 1);
      // Each planted string's place is overlapped by some box OCR found.
      for (const p of img.planted) expect(found.boxes.some((b) => overlaps(b, p)), `${p.kind} not found`).toBe(true);
      // No box is far from the planted text (the background is not read as text).
      for (const b of found.boxes) expect(img.planted.some((p) => overlaps(b, { x: p.x - 8, y: p.y - 8, width: p.width + 16, height: p.height + 16 }))).toBe(true);

      const regions = padded(found.boxes);
      const out = await redactFile(inFile, regions, { sourceSopUid: src.sop, allowLossy: false });
      expect(out.sopInstanceUid).not.toBe(src.sop);
      expect(out.sopInstanceUid).toBe(redactedSopUid(src.sop, regions));
      const outFile = write(`out-${i}.dcm`, out.bytes);

      // Header: new UID (meta too), Burned In Annotation NO, the Clean Pixel Data code, a derivation description.
      const { dataset, transferSyntaxUid } = readNaturalized(out.bytes);
      expect(transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
      expect(dataset.SOPInstanceUID).toBe(out.sopInstanceUid);
      expect(dataset.BurnedInAnnotation).toBe('NO');
      expect(String(dataset.DerivationDescription)).toMatch(/redacted by Tributary: \d+ regions? \(\d+ found by OCR\)/);
      const codes = dataset.DeidentificationMethodCodeSequence as Record<string, unknown>[] | Record<string, unknown>;
      expect((Array.isArray(codes) ? codes : [codes]).map((c) => c.CodeValue)).toContain('113101');

      // Pixels: byte-identical outside the regions, blank inside.
      const a = await allFrames(inFile);
      const b = await allFrames(outFile);
      expect(b.frames.length).toBe(a.frames.length);
      const { rows, columns, samplesPerPixel: spp, bitsAllocated, planarConfiguration } = a.frames[0].attrs;
      const bps = bitsAllocated / 8;
      const n = rows * columns;
      let outsideChecked = 0;
      let insideChecked = 0;
      for (let f = 0; f < a.frames.length; f++) {
        const x = a.frames[f].bytes;
        const y = b.frames[f].bytes;
        expect(y.length).toBe(x.length);
        for (let p = 0; p < n; p++) {
          const isIn = inside(regions, p % columns, Math.floor(p / columns), f);
          for (let s = 0; s < spp; s++) {
            const idx = spp === 1 ? p : planarConfiguration === 1 ? s * n + p : p * spp + s;
            for (let k = 0; k < bps; k++) {
              const o = idx * bps + k;
              if (isIn) {
                insideChecked++;
                if (y[o] !== 0) throw new Error(`pixel ${p} frame ${f} not blanked`);
              } else {
                outsideChecked++;
                if (y[o] !== x[o]) throw new Error(`pixel ${p} frame ${f} changed outside the regions`);
              }
            }
          }
        }
      }
      expect(insideChecked).toBeGreaterThan(0);
      expect(outsideChecked).toBeGreaterThan(insideChecked);

      // OCR on the output finds none of the planted strings.
      const again = await ocrFile(outFile);
      for (const p of img.planted) expect(again.boxes.some((bx) => overlaps(bx, p)), `${p.kind} still readable`).toBe(false);

      // Same IOD, no new error.
      const before = dciodvfy(inFile);
      const after = dciodvfy(outFile);
      expect(before.iod).toMatch(/^(US|USMultiFrame|SC|SecondaryCapture)/i);
      expect(after.iod).toBe(before.iod);
      expect(newErrors(before, after)).toEqual([]);
    },
    120_000,
  );
});

describe('compressed input', () => {
  async function encoded(ts: string, img: RenderedImage, layout: PixelLayout) {
    expect(await codecsReady()).toBe(true);
    const native = burnedInstance({ img, layout, kind: 'us' });
    const { dataset } = readNaturalized(native.bytes);
    const ds = new dimse.Dataset(dataset, '1.2.840.10008.1.2.1');
    const out = dimse.Transcoding.transcodeDataset(ds, ts).getElements() as Record<string, unknown>;
    const fragments = (out.PixelData as ArrayBuffer[]).map((f) => Buffer.from(f));
    return { native, enc: burnedInstance({ img, layout, kind: 'us', uids: { sop: native.sop, study: native.study, series: native.series }, encapsulated: { ts, fragments } }) };
  }

  it('RLE: decoded, redacted, written uncompressed; everything outside the region identical to the decoded input', async () => {
    const { native, enc } = await encoded('1.2.840.10008.1.2.5', images[0], 'rgb');
    const inFile = write('rle.dcm', enc.bytes);
    const region: RedactRegion = { frame: null, x: 0, y: 0, width: images[0].columns, height: 80, source: 'owner' };
    const out = await redactFile(inFile, [region], { sourceSopUid: native.sop, allowLossy: false });
    expect(out.transferSyntaxIn).toBe('1.2.840.10008.1.2.5');
    expect(out.transferSyntaxOut).toBe('1.2.840.10008.1.2.1');
    const outFile = write('rle-out.dcm', out.bytes);
    const expected = Buffer.from((await allFrames(write('rle-native.dcm', native.bytes))).frames[0].bytes);
    blankFrame(expected, (await allFrames(outFile)).frames[0].attrs, [region]);
    expect((await allFrames(outFile)).frames[0].bytes.equals(expected)).toBe(true);
    const again = await ocrFile(outFile);
    for (const p of images[0].planted.filter((p) => p.y + p.height <= 80)) expect(again.boxes.some((b) => overlaps(b, p))).toBe(false);
  }, 60_000);

  it('JPEG baseline: refused with the reason unless the pool allows lossy; then re-encoded as JPEG baseline with the text gone', async () => {
    const { native, enc } = await encoded('1.2.840.10008.1.2.4.50', images[1], 'grey8');
    const inFile = write('jpeg.dcm', enc.bytes);
    const region: RedactRegion = { frame: null, x: 0, y: 0, width: images[1].columns, height: 90, source: 'owner' };
    const refused = await redactFile(inFile, [region], { sourceSopUid: native.sop, allowLossy: false }).catch((e) => e);
    expect(refused).toBeInstanceOf(RedactionRefusedError);
    expect(refused.code).toBe('lossy-not-allowed');
    expect(refused.message).toMatch(/allowLossyRedaction/);
    const out = await redactFile(inFile, [region], { sourceSopUid: native.sop, allowLossy: true });
    expect(out.transferSyntaxOut).toBe('1.2.840.10008.1.2.4.50');
    expect(out.lossy).toBe(true);
    const outFile = write('jpeg-out.dcm', out.bytes);
    expect(readNaturalized(out.bytes).dataset.LossyImageCompression).toBe('01');
    const again = await ocrFile(outFile);
    for (const p of images[1].planted.filter((p) => p.y + p.height <= 90)) expect(again.boxes.some((b) => overlaps(b, p))).toBe(false);
    // The redacted band is black after decoding (JPEG leaves at most a small ringing).
    const px = (await allFrames(outFile)).frames[0].bytes;
    let max = 0;
    for (let y = 4; y < 84; y++) for (let x = 4; x < images[1].columns - 4; x++) max = Math.max(max, px[y * images[1].columns + x]);
    expect(max).toBeLessThan(24);
  }, 60_000);

  it('no region: refused', async () => {
    const src = burnedInstance({ img: images[0], layout: 'grey8', kind: 'us' });
    const f = write('none.dcm', src.bytes);
    await expect(redactFile(f, [], { sourceSopUid: src.sop, allowLossy: false })).rejects.toMatchObject({ code: 'no-regions' });
  });
});
