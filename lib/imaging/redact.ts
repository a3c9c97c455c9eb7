/**
 * Pixel redaction: rectangles blanked in every frame they apply to, written as a NEW instance.
 *
 * What is written (docs/deidentification.md, "Redaction"):
 * - pixels inside the regions set to black (MONOCHROME2 and RGB: the lowest value; MONOCHROME1:
 *   the highest; YBR_FULL: Y 0, Cb/Cr 128); every other pixel byte is copied unchanged;
 * - uncompressed input (explicit or implicit VR little endian; 8 or 16 bits; greyscale or RGB;
 *   planar configuration 0 or 1; any number of frames) is written explicit VR little endian;
 * - RLE and the lossless JPEG family (JPEG lossless, JPEG-LS lossless, JPEG 2000 / HTJ2K lossless)
 *   are decoded and written uncompressed (explicit VR little endian): nothing is lost, the file
 *   grows; re-encoding RLE would gain only size;
 * - JPEG baseline is decoded, redacted and re-encoded as JPEG baseline only when the pool allows
 *   lossy redaction (a second lossy generation; Lossy Image Compression stays 01); otherwise it is
 *   refused with that reason. Other lossy syntaxes are refused.
 * - the header: SOP Instance UID (and the meta's Media Storage SOP Instance UID) the new,
 *   deterministic UID; Burned In Annotation NO; Derivation Description says what was redacted
 *   (counts by source, never image content); De-identification Method Code Sequence (0012,0064)
 *   gains 113101 "Clean Pixel Data Option" (DCM, PS3.16 CID 7050); De-identification Method
 *   (0012,0063) gains a value. Elements after the pixel data (trailing padding, signatures) are
 *   not copied: a signature would no longer match.
 */
import { createHash } from 'node:crypto';
// @ts-ignore -- dcmjs has no type declarations; narrowed below.
import dcmjsModule from 'dcmjs';
import { dimse } from '../dicom/dimse';
import { TransferSyntax } from '../dicom/uids';
import { toArrayBuffer } from './dcmjs';
import { codecsReady } from './decode';
import type { ImageAttrs } from './frame';
import { openPixelFile } from './pixel-file';

interface DictElement {
  vr: string;
  Value?: unknown[];
}
type Dict = Record<string, DictElement>;
interface DcmjsRW {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { meta: Dict; dict: Dict } };
    DicomDict: new (meta: Dict) => { dict: Dict; write(options?: Record<string, unknown>): ArrayBuffer };
  };
}
const dcmjs = dcmjsModule as DcmjsRW;

export type RegionSource = 'signature' | 'ocr' | 'owner';

export interface RedactRegion {
  /** The frame (0-based) it applies to; null = every frame. */
  frame: number | null;
  x: number;
  y: number;
  width: number;
  height: number;
  source: RegionSource;
  /** The signature rule, for source 'signature'. */
  ruleId?: string;
}

export class RedactionRefusedError extends Error {
  constructor(
    readonly code: 'lossy-not-allowed' | 'unsupported-syntax' | 'unsupported-layout' | 'no-pixels' | 'encode-failed' | 'no-regions',
    message: string,
  ) {
    super(message);
  }
}

/** Transfer syntaxes decoded and written uncompressed without loss. */
const LOSSLESS_ENCAPSULATED = new Set<string>([
  TransferSyntax.RleLossless,
  TransferSyntax.JpegLosslessSv1,
  TransferSyntax.JpegLsLossless,
  TransferSyntax.Jpeg2000Lossless,
  TransferSyntax.HtJpeg2000Lossless,
  TransferSyntax.HtJpeg2000LosslessRpcl,
]);
const NATIVE = new Set<string>([TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian]);

/** The redacted instance's SOP Instance UID: derived from the source UID and the regions, so a retried redaction gives the same UID. */
export function redactedSopUid(sourceSopUid: string, regions: readonly RedactRegion[]): string {
  const key = JSON.stringify(regions.map((r) => [r.frame, r.x, r.y, r.width, r.height, r.source, r.ruleId ?? '']));
  const hex = createHash('sha256').update(`tributary-redaction\0${sourceSopUid}\0${key}`).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

/** The sample values that blank a pixel. */
function fillValues(a: ImageAttrs): number[] {
  const bits = Math.min(a.bitsStored, a.bitsAllocated);
  const shift = Math.max(0, a.highBit + 1 - a.bitsStored);
  if (a.samplesPerPixel === 1) {
    const dark = a.photometric === 'MONOCHROME1';
    let v: number;
    if (a.pixelRepresentation === 1) v = dark ? 2 ** (bits - 1) - 1 : -(2 ** (bits - 1));
    else v = dark ? 2 ** bits - 1 : 0;
    // Two's complement within the allocated word, at the stored bits' place.
    return [((v * 2 ** shift) % 2 ** a.bitsAllocated + 2 ** a.bitsAllocated) % 2 ** a.bitsAllocated];
  }
  if (a.photometric === 'YBR_FULL') {
    const mid = 2 ** (bits - 1);
    return [0, mid, mid];
  }
  return [0, 0, 0];
}

function checkLayout(a: ImageAttrs) {
  const grey = a.samplesPerPixel === 1 && (a.photometric === 'MONOCHROME1' || a.photometric === 'MONOCHROME2');
  const colour = a.samplesPerPixel === 3 && (a.photometric === 'RGB' || a.photometric === 'YBR_FULL');
  if (!grey && !colour) throw new RedactionRefusedError('unsupported-layout', `photometric interpretation ${a.photometric} with ${a.samplesPerPixel} samples is not redacted`);
  if (a.bitsAllocated !== 8 && a.bitsAllocated !== 16) throw new RedactionRefusedError('unsupported-layout', `${a.bitsAllocated} bits allocated is not redacted`);
}

/** Blanks the regions in one frame of native little-endian pixels, in place. Returns how many pixels changed place (were inside a region). */
export function blankFrame(bytes: Buffer, a: ImageAttrs, regions: readonly Pick<RedactRegion, 'x' | 'y' | 'width' | 'height'>[]): number {
  checkLayout(a);
  const bps = a.bitsAllocated / 8;
  const n = a.rows * a.columns;
  const spp = a.samplesPerPixel;
  const fill = fillValues(a);
  let touched = 0;
  for (const r of regions) {
    const x0 = Math.max(0, r.x);
    const y0 = Math.max(0, r.y);
    const x1 = Math.min(a.columns, r.x + r.width);
    const y1 = Math.min(a.rows, r.y + r.height);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const p = y * a.columns + x;
        touched++;
        for (let s = 0; s < spp; s++) {
          const idx = spp === 1 ? p : a.planarConfiguration === 1 ? s * n + p : p * spp + s;
          if (bps === 1) bytes[idx] = fill[s];
          else bytes.writeUInt16LE(fill[s], idx * 2);
        }
      }
    }
  }
  return touched;
}

const tagKey = (group: number, element: number) => (group.toString(16).padStart(4, '0') + element.toString(16).padStart(4, '0')).toUpperCase();
const K = {
  sopInstanceUid: tagKey(0x0008, 0x0018),
  derivationDescription: tagKey(0x0008, 0x2111),
  deidMethod: tagKey(0x0012, 0x0063),
  deidMethodCodes: tagKey(0x0012, 0x0064),
  photometric: tagKey(0x0028, 0x0004),
  planar: tagKey(0x0028, 0x0006),
  burnedIn: tagKey(0x0028, 0x0301),
  lossy: tagKey(0x0028, 0x2110),
  mediaSop: tagKey(0x0002, 0x0003),
  ts: tagKey(0x0002, 0x0010),
};

export const CLEAN_PIXEL_DATA_CODE = { CodeValue: '113101', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Clean Pixel Data Option' } as const;

function describe(regions: readonly RedactRegion[], framesRedacted: number, frameCount: number): string {
  const by = (s: RegionSource) => regions.filter((r) => r.source === s).length;
  const parts = [
    by('signature') && `${by('signature')} by device signature`,
    by('ocr') && `${by('ocr')} found by OCR`,
    by('owner') && `${by('owner')} drawn by the pool owner`,
  ].filter(Boolean);
  const frames = frameCount > 1 ? ` in ${framesRedacted} of ${frameCount} frames` : '';
  return `Burned-in text redacted by Tributary: ${regions.length} region${regions.length === 1 ? '' : 's'} (${parts.join(', ')})${frames}`;
}

function header(headerBytes: Buffer, o: { sop: string; ts: string; description: string; attrs: ImageAttrs; lossy: boolean }): Buffer {
  const { meta, dict } = dcmjs.data.DicomMessage.readFile(toArrayBuffer(headerBytes), { ignoreErrors: true });
  meta[K.mediaSop] = { vr: 'UI', Value: [o.sop] };
  meta[K.ts] = { vr: 'UI', Value: [o.ts] };
  dict[K.sopInstanceUid] = { vr: 'UI', Value: [o.sop] };
  dict[K.burnedIn] = { vr: 'CS', Value: ['NO'] };
  const prior = dict[K.derivationDescription]?.Value?.[0];
  // ST holds at most 1024 characters.
  dict[K.derivationDescription] = { vr: 'ST', Value: [(prior ? `${String(prior)}; ${o.description}` : o.description).slice(0, 1024)] };
  const methods = (dict[K.deidMethod]?.Value ?? []).map(String).filter(Boolean);
  if (!methods.includes('Tributary pixel redaction')) methods.push('Tributary pixel redaction');
  dict[K.deidMethod] = { vr: 'LO', Value: methods };
  const codes = (dict[K.deidMethodCodes]?.Value ?? []) as Dict[];
  const codeKey = { value: tagKey(0x0008, 0x0100), scheme: tagKey(0x0008, 0x0102), meaning: tagKey(0x0008, 0x0104) };
  if (!codes.some((c) => c[codeKey.value]?.Value?.[0] === CLEAN_PIXEL_DATA_CODE.CodeValue)) {
    codes.push({
      [codeKey.value]: { vr: 'SH', Value: [CLEAN_PIXEL_DATA_CODE.CodeValue] },
      [codeKey.scheme]: { vr: 'SH', Value: [CLEAN_PIXEL_DATA_CODE.CodingSchemeDesignator] },
      [codeKey.meaning]: { vr: 'LO', Value: [CLEAN_PIXEL_DATA_CODE.CodeMeaning] },
    });
  }
  dict[K.deidMethodCodes] = { vr: 'SQ', Value: codes };
  dict[K.photometric] = { vr: 'CS', Value: [o.attrs.photometric] };
  if (o.attrs.samplesPerPixel > 1) dict[K.planar] = { vr: 'US', Value: [o.attrs.planarConfiguration] };
  if (o.lossy) dict[K.lossy] = { vr: 'CS', Value: ['01'] };
  const out = new dcmjs.data.DicomDict(meta);
  out.dict = dict;
  return Buffer.from(out.write());
}

function u16(n: number) {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n: number) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function nativePixelElement(frames: Buffer[], bitsAllocated: number): Buffer {
  let data = Buffer.concat(frames);
  if (data.length % 2) data = Buffer.concat([data, Buffer.alloc(1)]);
  return Buffer.concat([u16(0x7fe0), u16(0x0010), Buffer.from(bitsAllocated > 8 ? 'OW' : 'OB', 'latin1'), Buffer.alloc(2), u32(data.length), data]);
}

function encapsulatedPixelElement(fragments: Buffer[]): Buffer {
  const items = fragments.map((f) => {
    const even = f.length % 2 ? Buffer.concat([f, Buffer.alloc(1)]) : f;
    return Buffer.concat([u16(0xfffe), u16(0xe000), u32(even.length), even]);
  });
  return Buffer.concat([
    u16(0x7fe0), u16(0x0010), Buffer.from('OB', 'latin1'), Buffer.alloc(2), u32(0xffffffff),
    u16(0xfffe), u16(0xe000), u32(0),
    ...items,
    u16(0xfffe), u16(0xe0dd), u32(0),
  ]);
}

async function encodeJpegBaseline(frames: Buffer[], a: ImageAttrs): Promise<{ fragments: Buffer[]; photometric: string }> {
  if (!(await codecsReady())) throw new RedactionRefusedError('encode-failed', 'the JPEG codec could not be loaded');
  if (a.bitsAllocated !== 8) throw new RedactionRefusedError('encode-failed', 'JPEG baseline holds 8-bit pixels only');
  const elements: Record<string, unknown> = {
    Rows: a.rows,
    Columns: a.columns,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    SamplesPerPixel: a.samplesPerPixel,
    PhotometricInterpretation: a.photometric,
    NumberOfFrames: frames.length,
    PixelData: [toArrayBuffer(Buffer.concat(frames))],
  };
  if (a.samplesPerPixel > 1) elements.PlanarConfiguration = a.planarConfiguration;
  try {
    const ds = new dimse.Dataset(elements, TransferSyntax.ExplicitVRLittleEndian);
    const out = dimse.Transcoding.transcodeDataset(ds, TransferSyntax.JpegBaseline, { quality: 95 }).getElements() as Record<string, unknown>;
    const px = out.PixelData as ArrayBuffer[];
    if (!Array.isArray(px) || px.length !== frames.length) throw new Error('frame count');
    return { fragments: px.map((f) => Buffer.from(f)), photometric: String(out.PhotometricInterpretation ?? a.photometric) };
  } catch (e) {
    if (e instanceof RedactionRefusedError) throw e;
    throw new RedactionRefusedError('encode-failed', 'JPEG baseline re-encoding failed');
  }
}

export interface RedactResult {
  bytes: Buffer;
  sopInstanceUid: string;
  transferSyntaxIn: string;
  transferSyntaxOut: string;
  lossy: boolean;
  framesRedacted: number;
  frameCount: number;
}

/** Redacts `regions` of the Part-10 file at absPath into a new instance (bytes in memory). */
export async function redactFile(absPath: string, regions: readonly RedactRegion[], opts: { sourceSopUid: string; allowLossy: boolean }): Promise<RedactResult> {
  if (!regions.length) throw new RedactionRefusedError('no-regions', 'there is nothing to redact: no region was given or found');
  let file;
  try {
    file = openPixelFile(absPath);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'no-pixels') throw new RedactionRefusedError('no-pixels', 'this instance has no pixel data to redact');
    if (code === 'ENOENT') throw e;
    throw new RedactionRefusedError('unsupported-syntax', `this file cannot be redacted (${code ?? 'unreadable'})`);
  }
  try {
    const ts = file.transferSyntaxUid;
    const jpeg = ts === TransferSyntax.JpegBaseline;
    if (jpeg && !opts.allowLossy) {
      throw new RedactionRefusedError('lossy-not-allowed', "JPEG baseline can only be redacted by decoding and re-encoding it (lossy again), which this pool's rules do not allow (quarantine.allowLossyRedaction)");
    }
    if (!NATIVE.has(ts) && !LOSSLESS_ENCAPSULATED.has(ts) && !jpeg) {
      throw new RedactionRefusedError('unsupported-syntax', `transfer syntax ${ts} is not redacted (uncompressed, RLE, lossless JPEG family, and JPEG baseline where lossy is allowed)`);
    }
    checkLayout(file.attrs);
    const frames: Buffer[] = [];
    let outAttrs: ImageAttrs | null = null;
    let framesRedacted = 0;
    for (let i = 0; i < file.frameCount; i++) {
      const { bytes, attrs } = await file.frame(i);
      // A copy: the reader's buffer may be shared with the decoder.
      const frame = Buffer.from(bytes);
      const mine = regions.filter((r) => r.frame === null || r.frame === i);
      if (mine.length && blankFrame(frame, attrs, mine) > 0) framesRedacted++;
      frames.push(frame);
      outAttrs ??= attrs;
    }
    const attrs = outAttrs ?? file.attrs;
    const sop = redactedSopUid(opts.sourceSopUid, regions);
    const description = describe(regions, framesRedacted, file.frameCount);
    if (jpeg) {
      const enc = await encodeJpegBaseline(frames, attrs);
      const head = header(file.headerBytes, { sop, ts: TransferSyntax.JpegBaseline, description, attrs: { ...attrs, photometric: enc.photometric, planarConfiguration: 0 }, lossy: true });
      return { bytes: Buffer.concat([head, encapsulatedPixelElement(enc.fragments)]), sopInstanceUid: sop, transferSyntaxIn: ts, transferSyntaxOut: TransferSyntax.JpegBaseline, lossy: true, framesRedacted, frameCount: file.frameCount };
    }
    const head = header(file.headerBytes, { sop, ts: TransferSyntax.ExplicitVRLittleEndian, description, attrs, lossy: false });
    return {
      bytes: Buffer.concat([head, nativePixelElement(frames, attrs.bitsAllocated)]),
      sopInstanceUid: sop,
      transferSyntaxIn: ts,
      transferSyntaxOut: TransferSyntax.ExplicitVRLittleEndian,
      lossy: false,
      framesRedacted,
      frameCount: file.frameCount,
    };
  } finally {
    file.close();
  }
}
