/**
 * Thumbnails from files: synthetic CT/MR (lib/synthetic), windowing compared with DCMTK's
 * dcmj2pnm as an independent renderer, multi-frame (middle frame, every encapsulation layout),
 * compressed data encoded by DCMTK (JPEG-LS, JPEG lossless, RLE, deflate) and by the codecs
 * (JPEG 2000) decoded to the same picture as the uncompressed file, lossy baseline JPEG (made by
 * DCMTK's dcmj2pnm + img2dcm) decoded like dcmj2pnm decodes it, and placeholders for what cannot
 * be shown.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-ignore -- dcmjs has no type declarations; only used to split encoded frames.
import dcmjs from 'dcmjs';
import { dimse } from '@/lib/dicom/dimse';
import { readNaturalized } from '@/lib/imaging/dcmjs';
import { codecsReady } from '@/lib/imaging/decode';
import { placeholderPng } from '@/lib/imaging/placeholder';
import { thumbnailOfFile, type ThumbnailResult } from '@/lib/imaging/thumbnail';
import { generateCorpus, generateCtStudy } from '@/lib/synthetic';
import { craftDicom, decodePng, readPnm, u16 } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-thumb-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function write(buf: Buffer, name = `f${n++}.dcm`): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, buf);
  return p;
}

function hasTool(tool: string): boolean {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const DCMTK = hasTool('dcmj2pnm') && hasTool('dcmcjpls') && hasTool('dcmcjpeg') && hasTool('dcmcrle') && hasTool('dcmconv');

function image(r: ThumbnailResult) {
  if (r.kind !== 'image') throw new Error(`expected an image, got a placeholder (${r.reason}: ${r.detail ?? ''})`);
  return r;
}

function notConstant(data: Buffer) {
  return new Set(data).size > 2;
}

describe('thumbnails of synthetic studies', () => {
  it('CT 512 x 512: a 128 x 128 PNG, windowed with the file’s window (40/400)', async () => {
    const ct = [...generateCtStudy({ instances: 1 })][0];
    const r = image(await thumbnailOfFile(write(ct.buffer)));
    expect(r.png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(r.png.toString('latin1', 12, 16)).toBe('IHDR');
    expect([r.png.readUInt32BE(16), r.png.readUInt32BE(20)]).toEqual([128, 128]);
    const png = decodePng(r.png);
    expect([png.width, png.height, png.channels]).toEqual([128, 128, 1]);
    expect(notConstant(png.data)).toBe(true);
    expect(r.window).toEqual({ center: 40, width: 400, source: 'file' });
    // Corner: air (-1000 HU) -> black. Centre-right: the inner disc (180 HU) -> 180 - (40-0.5) ... = light grey.
    expect(png.data[0]).toBe(0);
    const disc = png.data[Math.round(128 * 0.45) * 128 + Math.round(128 * 0.55)];
    expect(disc).toBeGreaterThan(200);
    expect(disc).toBeLessThan(255);
  });

  it('MR 64 x 64 from generateCorpus: enlarged to 128, not constant', async () => {
    const corpus = generateCorpus({ patients: 1, studiesPerPatient: 2, seriesPerStudy: 1, instancesPerSeries: 1 });
    const mr = corpus.instances.find((i) => i.modality === 'MR')!;
    const r = image(await thumbnailOfFile(write(mr.buffer)));
    const png = decodePng(r.png);
    expect([png.width, png.height]).toEqual([128, 128]);
    expect(notConstant(png.data)).toBe(true);
    expect(r.window?.source).toBe('file');
  });

  it('keeps the aspect ratio of a non-square image', async () => {
    const corpus = generateCorpus({ patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1, rows: 200, columns: 256 });
    const r = image(await thumbnailOfFile(write(corpus.instances[0].buffer)));
    expect([r.width, r.height]).toEqual([128, 100]);
  });
});

describe.skipIf(!DCMTK)('windowing matches DCMTK dcmj2pnm', () => {
  const pgm = (file: string, ...opts: string[]) => {
    const out = path.join(tmp, `${path.basename(file)}.${opts.join('')}.pgm`);
    execFileSync('dcmj2pnm', [...opts, '+op', file, out], { stdio: 'pipe' });
    return readPnm(fs.readFileSync(out));
  };
  const compare = (ours: Buffer, theirs: Buffer, tolerance: number) => {
    expect(ours.length).toBe(theirs.length);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    expect(worst).toBeLessThanOrEqual(tolerance);
  };
  // Signed 12-bit ramp over every stored value, rescaled, with a window in the file.
  const ramp = u16(Array.from({ length: 4096 }, (_, i) => i - 2048));
  const crafted = { rows: 64, columns: 64, bitsStored: 12, signed: true, slope: 2, intercept: -1000, windowCenter: 40, windowWidth: 400, pixels: ramp };

  it('file window, signed 12-bit, rescale slope/intercept', async () => {
    const file = write(craftDicom(crafted));
    const ours = decodePng(image(await thumbnailOfFile(file, 64)).png).data;
    compare(ours, pgm(file, '+Wi', '1').data, 1);
  });

  it('MONOCHROME1', async () => {
    const file = write(craftDicom({ ...crafted, photometric: 'MONOCHROME1' }));
    const ours = decodePng(image(await thumbnailOfFile(file, 64)).png).data;
    compare(ours, pgm(file, '+Wi', '1').data, 1);
  });

  it('min-max window when the file has none', async () => {
    const file = write(craftDicom({ ...crafted, windowCenter: undefined, windowWidth: undefined }));
    const r = image(await thumbnailOfFile(file, 64));
    expect(r.window?.source).toBe('min-max');
    compare(decodePng(r.png).data, pgm(file, '+Wm').data, 1);
  });

  it('synthetic CT at full size', async () => {
    const ct = [...generateCtStudy({ instances: 1, rows: 128, columns: 128 })][0];
    const file = write(ct.buffer);
    compare(decodePng(image(await thumbnailOfFile(file, 128)).png).data, pgm(file, '+Wi', '1').data, 1);
  });
});

/** Three 64 x 64 frames: black, a ramp, white (12-bit, window 2048/4096). The middle one shows. */
function multiFrame() {
  const frames = [new Array(4096).fill(0), Array.from({ length: 4096 }, (_, i) => i), new Array(4096).fill(4095)];
  return craftDicom({ rows: 64, columns: 64, bitsStored: 12, frames: 3, windowCenter: 2048, windowWidth: 4096, pixels: u16(frames.flat()) });
}
const rampOnly = () => craftDicom({ rows: 64, columns: 64, bitsStored: 12, windowCenter: 2048, windowWidth: 4096, pixels: u16(Array.from({ length: 4096 }, (_, i) => i)) });

describe('multi-frame', () => {
  it('shows the middle frame of native multi-frame data', async () => {
    const r = image(await thumbnailOfFile(write(multiFrame())));
    expect(r.frameIndex).toBe(1);
    expect(r.png.equals(image(await thumbnailOfFile(write(rampOnly()))).png)).toBe(true);
  });
});

describe('compressed pixel data', () => {
  const reference = async (buf: Buffer) => image(await thumbnailOfFile(write(buf))).png;

  it('the codecs load in Node here', async () => {
    expect(await codecsReady()).toBe(true);
  });

  describe.skipIf(!DCMTK)('encoded by DCMTK', () => {
    const encode = (tool: string, args: string[], input: Buffer) => {
      const src = write(input);
      const out = `${src}.${tool}.dcm`;
      execFileSync(tool, [...args, src, out], { stdio: 'pipe' });
      return out;
    };
    const ct = [...generateCtStudy({ instances: 1, rows: 96, columns: 96 })][0].buffer;

    for (const [label, tool, args, ts] of [
      ['JPEG-LS lossless', 'dcmcjpls', [], '1.2.840.10008.1.2.4.80'],
      ['JPEG lossless SV1', 'dcmcjpeg', ['+e1'], '1.2.840.10008.1.2.4.70'],
      ['RLE lossless', 'dcmcrle', [], '1.2.840.10008.1.2.5'],
      ['deflated explicit VR', 'dcmconv', ['+td'], '1.2.840.10008.1.2.1.99'],
    ] as const) {
      it(`${label}: decoded to the same thumbnail as the uncompressed file`, async () => {
        const file = encode(tool, [...args], ct);
        expect(readNaturalized(fs.readFileSync(file)).transferSyntaxUid).toBe(ts);
        const r = image(await thumbnailOfFile(file));
        expect(r.decoded).toBe(ts !== '1.2.840.10008.1.2.1.99');
        expect(r.png.equals(await reference(ct))).toBe(true);
      });
    }

    it.skipIf(!hasTool('img2dcm'))('baseline JPEG (1.2.840.10008.1.2.4.50, lossy, from img2dcm): decoded like dcmj2pnm decodes it', async () => {
      // A real JPEG file: the synthetic CT rendered with its window by dcmj2pnm, written as JPEG
      // (quality 85: visible 8x8 block artefacts), then wrapped as DICOM by img2dcm (Secondary
      // Capture, MONOCHROME2, 8 bits, the JPEG stream copied as it is).
      const ctFile = write([...generateCtStudy({ instances: 1, rows: 128, columns: 128 })][0].buffer);
      const jpg = `${ctFile}.jpg`;
      const env = { ...process.env, TCP_NODELAY: '1' };
      execFileSync('dcmj2pnm', ['+Wi', '1', '+oj', '+Jq', '85', ctFile, jpg], { stdio: 'pipe', env });
      expect(fs.readFileSync(jpg).subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(true);
      const file = `${jpg}.dcm`;
      execFileSync('img2dcm', ['-i', 'JPEG', jpg, file], { stdio: 'pipe', env });
      const { transferSyntaxUid, dataset } = readNaturalized(fs.readFileSync(file));
      expect(transferSyntaxUid).toBe('1.2.840.10008.1.2.4.50');
      expect([dataset.PhotometricInterpretation, dataset.BitsStored, dataset.Rows, dataset.Columns]).toEqual(['MONOCHROME2', 8, 128, 128]);

      const r = image(await thumbnailOfFile(file, 128));
      expect(r.decoded).toBe(true);
      const ours = decodePng(r.png);
      expect([ours.width, ours.height, ours.channels]).toEqual([128, 128, 1]);
      // DCMTK decodes the same stream (its own IJG libjpeg); 8-bit values are shown unchanged.
      const out = `${file}.pgm`;
      execFileSync('dcmj2pnm', ['+op', file, out], { stdio: 'pipe', env });
      const theirs = readPnm(fs.readFileSync(out)).data;
      expect(ours.data.length).toBe(theirs.length);
      let worst = 0;
      for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - theirs[i]));
      // Two IDCT implementations may round a sample differently by one step; nothing more.
      expect(worst).toBeLessThanOrEqual(1);
      expect(notConstant(ours.data)).toBe(true);
      // And it is the picture: close to the uncompressed rendering, not equal (the JPEG is lossy).
      const lossless = decodePng(image(await thumbnailOfFile(ctFile, 128)).png).data;
      let sum = 0;
      for (let i = 0; i < lossless.length; i++) sum += Math.abs(lossless[i] - ours.data[i]);
      expect(sum / lossless.length).toBeGreaterThan(0);
      expect(sum / lossless.length).toBeLessThan(4);
    });

    it('multi-frame JPEG-LS: the middle frame, with a Basic Offset Table, without, and split into fragments', async () => {
      const encoded = fs.readFileSync(encode('dcmcjpls', [], multiFrame()));
      const want = await reference(rampOnly());
      // The frames' codestreams, as DCMTK wrote them.
      const dict = (dcmjs as { data: { DicomMessage: { readFile(b: ArrayBuffer): { dict: Record<string, { Value: ArrayBuffer[] }> } } } }).data.DicomMessage.readFile(
        encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.byteLength),
      );
      const frames = dict.dict['7FE00010'].Value.map((f) => Buffer.from(f));
      expect(frames).toHaveLength(3);
      const base = { rows: 64, columns: 64, bitsStored: 12, frames: 3, windowCenter: 2048, windowWidth: 4096, transferSyntax: '1.2.840.10008.1.2.4.80' };
      const even = (b: Buffer) => (b.length % 2 ? Buffer.concat([b, Buffer.alloc(1)]) : b);
      const offsets = [0, 8 + even(frames[0]).length, 16 + even(frames[0]).length + even(frames[1]).length];
      const split = frames.flatMap((f) => [f.subarray(0, 100), f.subarray(100)]);
      for (const [label, encapsulated] of [
        ['as written by DCMTK', null],
        ['Basic Offset Table', { fragments: frames, bot: offsets }],
        ['one fragment per frame, no offset table', { fragments: frames }],
        ['two fragments per frame, no offset table', { fragments: split }],
      ] as const) {
        const file = encapsulated ? write(craftDicom({ ...base, encapsulated: { fragments: [...encapsulated.fragments], bot: 'bot' in encapsulated ? [...encapsulated.bot] : undefined } })) : write(encoded);
        const r = await thumbnailOfFile(file);
        expect(r.kind, label).toBe('image');
        expect(r.png.equals(want), label).toBe(true);
      }
    });
  });

  it('JPEG 2000 (encoded by the codecs) decodes like the original', async () => {
    await codecsReady();
    const mr = generateCorpus({ patients: 1, studiesPerPatient: 2, seriesPerStudy: 1, instancesPerSeries: 1 }).instances.find((i) => i.modality === 'MR')!.buffer;
    const { dataset } = readNaturalized(mr);
    const enc = dimse.Transcoding.transcodeDataset(new dimse.Dataset(dataset as Record<string, unknown>, '1.2.840.10008.1.2.1'), '1.2.840.10008.1.2.4.90').getElements() as Record<string, unknown>;
    const fragments = (enc.PixelData as ArrayBuffer[]).map((f) => Buffer.from(f));
    const file = write(
      craftDicom({ rows: 64, columns: 64, bitsStored: 12, windowCenter: 1800, windowWidth: 3600, transferSyntax: '1.2.840.10008.1.2.4.90', encapsulated: { fragments } }),
    );
    const r = image(await thumbnailOfFile(file));
    expect(r.decoded).toBe(true);
    expect(r.png.equals(await reference(mr))).toBe(true);
  });

  it('a syntax without a decoder (MPEG-2) gives the "compressed" placeholder', async () => {
    const file = write(craftDicom({ rows: 64, columns: 64, bitsAllocated: 8, transferSyntax: '1.2.840.10008.1.2.4.100', encapsulated: { fragments: [Buffer.from('not really mpeg')] } }));
    const r = await thumbnailOfFile(file);
    expect(r.kind).toBe('placeholder');
    expect(r.kind === 'placeholder' && r.reason).toBe('compressed');
    expect(r.png.equals(placeholderPng('compressed'))).toBe(true);
    const png = decodePng(r.png);
    expect([png.width, png.height]).toEqual([128, 128]);
    expect(notConstant(png.data)).toBe(true); // the text is drawn
  });

  it('a corrupt JPEG-LS stream gives the "compressed" placeholder, not an error', async () => {
    const file = write(craftDicom({ rows: 64, columns: 64, transferSyntax: '1.2.840.10008.1.2.4.80', encapsulated: { fragments: [Buffer.from([0xff, 0xd8, 0xff, 0xf7, 1, 2, 3, 4])] } }));
    const r = await thumbnailOfFile(file);
    expect(r.kind === 'placeholder' && r.reason).toBe('compressed');
  });
});

describe('placeholders', () => {
  it('no pixel data', async () => {
    const r = await thumbnailOfFile(write(craftDicom({ rows: 1, columns: 1 })));
    expect(r.kind === 'placeholder' && r.reason).toBe('no-image');
  });

  it('truncated pixel data, or not DICOM at all', async () => {
    const full = rampOnly();
    const cut = await thumbnailOfFile(write(full.subarray(0, full.length - 1000)));
    expect(cut.kind === 'placeholder' && cut.reason).toBe('unreadable');
    const junk = await thumbnailOfFile(write(Buffer.from('hello, not a DICOM file at all'.repeat(10))));
    expect(junk.kind === 'placeholder' && junk.reason).toBe('unreadable');
  });

  it('palette colour is shown as "preview unavailable"', async () => {
    const r = await thumbnailOfFile(write(craftDicom({ rows: 8, columns: 8, bitsAllocated: 8, photometric: 'PALETTE COLOR', pixels: Buffer.alloc(64, 3) })));
    expect(r.kind === 'placeholder' && r.reason).toBe('unsupported');
  });

  it('a missing file is an error (the caller decides; it must not be cached)', async () => {
    await expect(thumbnailOfFile(path.join(tmp, 'nope.dcm'))).rejects.toThrow();
  });
});
