/**
 * lib/exports/transcode.ts against DCMTK: a synthetic instance converted by dcmconv/dcmcrle/
 * dcmcjpeg into Implicit LE, Big Endian, Deflated, RLE and JPEG lossless, then back to Explicit
 * VR LE by us: same pixel data and same SOP Instance UID as the original, a meta header naming
 * the new syntax, and dcmdump reads it. A syntax we cannot decode, or a list without an
 * uncompressed syntax, is refused with the reason.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- dcmjs has no type declarations.
import dcmjs from 'dcmjs';
import { readPart10Header } from '@/lib/dicom/part10';
import { prepareForDestination } from '@/lib/exports/transcode';
import { generateCorpus } from '@/lib/synthetic';

let dir: string;
let original: Buffer;

function parse(buf: Buffer): Record<string, unknown> {
  const d = (dcmjs as { data: { DicomMessage: { readFile(b: ArrayBuffer): { dict: Record<string, unknown> } }; DicomMetaDictionary: { naturalizeDataset(d: unknown): Record<string, unknown> } } }).data;
  return d.DicomMetaDictionary.naturalizeDataset(d.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer).dict);
}
const pixels = (buf: Buffer) => Buffer.from((parse(buf).PixelData as ArrayBuffer[])[0]);

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-transcode-'));
  original = generateCorpus({ seed: 77, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1, rows: 32, columns: 32 }).instances[0].buffer;
  await fs.writeFile(path.join(dir, 'orig.dcm'), original);
  const run = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { cwd: dir, stdio: 'ignore' });
  run('dcmconv', '+ti', 'orig.dcm', 'implicit.dcm');
  run('dcmconv', '+tb', 'orig.dcm', 'big.dcm');
  run('dcmconv', '+td', 'orig.dcm', 'deflated.dcm');
  run('dcmcrle', 'orig.dcm', 'rle.dcm');
  run('dcmcjpeg', '+e1', 'orig.dcm', 'jpegll.dcm');
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('prepareForDestination', () => {
  it('sends as stored when nothing is listed or the stored syntax is listed', async () => {
    const f = path.join(dir, 'rle.dcm');
    expect(await prepareForDestination(f, '1.2.840.10008.1.2.5', [])).toMatchObject({ kind: 'as-stored', transferSyntaxUid: '1.2.840.10008.1.2.5' });
    expect(await prepareForDestination(f, '1.2.840.10008.1.2.5', ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.5'])).toMatchObject({ kind: 'as-stored' });
  });

  for (const [file, ts] of [
    ['implicit.dcm', '1.2.840.10008.1.2'],
    ['big.dcm', '1.2.840.10008.1.2.2'],
    ['deflated.dcm', '1.2.840.10008.1.2.1.99'],
    ['rle.dcm', '1.2.840.10008.1.2.5'],
    ['jpegll.dcm', '1.2.840.10008.1.2.4.70'],
  ] as const) {
    it(`converts ${file} to Explicit VR LE with the same pixels`, async () => {
      const p = await prepareForDestination(path.join(dir, file), ts, ['1.2.840.10008.1.2.1']);
      expect(p.kind).toBe('converted');
      if (p.kind !== 'converted') return;
      expect(readPart10Header(p.bytes).transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
      expect(pixels(p.bytes).equals(pixels(original))).toBe(true);
      expect(parse(p.bytes).SOPInstanceUID).toBe(parse(original).SOPInstanceUID);
      await fs.writeFile(path.join(dir, `out-${file}`), p.bytes);
      expect(() => execFileSync('dcmdump', ['-q', path.join(dir, `out-${file}`)], { stdio: 'ignore' })).not.toThrow();
    });
  }

  it('converts to Implicit VR LE when only that is listed', async () => {
    const p = await prepareForDestination(path.join(dir, 'orig.dcm'), '1.2.840.10008.1.2.1', ['1.2.840.10008.1.2']);
    expect(p).toMatchObject({ kind: 'converted', transferSyntaxUid: '1.2.840.10008.1.2' });
    if (p.kind === 'converted') expect(pixels(p.bytes).equals(pixels(original))).toBe(true);
  });

  it('refuses with the reason when it cannot', async () => {
    const f = path.join(dir, 'orig.dcm');
    expect(await prepareForDestination(f, '1.2.840.10008.1.2.1', ['1.2.840.10008.1.2.4.50'])).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/no uncompressed syntax/) });
    expect(await prepareForDestination(f, '1.2.840.10008.1.2.4.100', ['1.2.840.10008.1.2.1'])).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/cannot decompress/) });
  });
});
