/**
 * Test objects beyond what the synthetic generator writes: a multi-frame native instance (made
 * with dcmjs from a synthetic one) and its JPEG-LS encodings made by DCMTK's dcmcjpls (with a
 * Basic Offset Table, without one, and with frames split over several fragments).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-ignore -- dcmjs ships no type declarations
import dcmjs from 'dcmjs';

(dcmjs as { log: { setLevel(l: string): void } }).log.setLevel('error');

interface Element {
  vr: string;
  Value?: unknown[];
}
export interface DcmjsDict {
  meta: Record<string, Element>;
  dict: Record<string, Element>;
  write(): ArrayBuffer;
}

const data = (dcmjs as { data: { DicomMessage: { readFile(b: ArrayBuffer): DcmjsDict }; DicomMetaDictionary: { naturalizeDataset(d: unknown): Record<string, unknown> } } }).data;

export function readDicom(buf: Buffer): DcmjsDict {
  return data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer);
}

export function naturalize(d: DcmjsDict): Record<string, unknown> {
  return data.DicomMetaDictionary.naturalizeDataset(d.dict);
}

/** Pixel data values as dcmjs reads them: one buffer (native) or one per frame (encapsulated). */
export function pixelBuffers(buf: Buffer): Buffer[] {
  const px = readDicom(buf).dict['7FE00010'];
  return (px.Value as ArrayBuffer[]).map((v) => Buffer.from(v));
}

/**
 * A copy of a synthetic instance as a new series of `frames` frames (rows x columns, 16 bits),
 * with frame k filled from a pattern seeded by k so frames differ.
 */
export function multiFrame(source: Buffer, opts: { frames: number; rows: number; columns: number; uidSuffix: string; noise?: boolean }): Buffer {
  const d = readDicom(source);
  const frameBytes = opts.rows * opts.columns * 2;
  const pix = Buffer.alloc(frameBytes * opts.frames);
  let x = 12345;
  for (let i = 0; i < pix.length; i += 2) {
    const k = Math.floor(i / frameBytes);
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const v = opts.noise ? x % 4096 : ((i / 2) * 7 + k * 300) % 4096;
    pix.writeUInt16LE(v, i);
  }
  const uid = (tag: string) => `${String(d.dict[tag].Value![0])}.${opts.uidSuffix}`.slice(0, 64);
  d.dict['0020000E'] = { vr: 'UI', Value: [uid('0020000E')] };
  d.dict['00080018'] = { vr: 'UI', Value: [uid('00080018')] };
  d.meta['00020003'] = { vr: 'UI', Value: [d.dict['00080018'].Value![0]] };
  d.dict['00200011'] = { vr: 'IS', Value: [90] };
  d.dict['00280008'] = { vr: 'IS', Value: [opts.frames] };
  d.dict['00280010'] = { vr: 'US', Value: [opts.rows] };
  d.dict['00280011'] = { vr: 'US', Value: [opts.columns] };
  d.dict['7FE00010'] = { vr: 'OW', Value: [pix.buffer.slice(pix.byteOffset, pix.byteOffset + pix.length)] };
  return Buffer.from(d.write());
}

/** dcmcjpls with extra options (e.g. -ot for an empty offset table, +fs 1 for 1 KB fragments). */
export function toJpegLs(input: Buffer, args: string[] = []): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-jls-'));
  try {
    fs.writeFileSync(path.join(dir, 'in.dcm'), input);
    execFileSync('dcmcjpls', [...args, path.join(dir, 'in.dcm'), path.join(dir, 'out.dcm')]);
    return fs.readFileSync(path.join(dir, 'out.dcm'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
