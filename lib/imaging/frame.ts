/**
 * Reads one frame of a stored Part-10 file without loading the file: the header elements (up to
 * the pixel data) are found with lib/dicom's walker and parsed with dcmjs, then only the chosen
 * frame's bytes are read — native pixels at their offset, or the compressed fragments of that
 * frame (Basic Offset Table, Extended Offset Table, one fragment per frame, or frame starts
 * found by their JPEG/JPEG 2000 start markers). A 2 GB multi-frame file costs a few reads.
 */
import fs from 'node:fs';
import { datasetEncoding, readPart10Header } from '../dicom/part10';
import { TransferSyntax } from '../dicom/uids';
import { fileSource, walkDataset, type ByteSource } from '../dicom/walker';
import { item, num, readNaturalized, str, type Naturalized } from './dcmjs';

const PIXEL_DATA = 0x7fe00010;
const ITEM = 0xfffee000;
const SEQ_DELIM = 0xfffee0dd;
const UNDEFINED = 0xffffffff;

/** Largest file read whole (deflated transfer syntax only). */
const MAX_WHOLE_FILE = 64 * 1024 * 1024;
/** Largest frame we agree to read and render. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
const MAX_FRAGMENTS = 200_000;

export interface ImageAttrs {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  photometric: string;
  planarConfiguration: 0 | 1;
  numberOfFrames: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter?: number;
  windowWidth?: number;
  pixelPaddingValue?: number;
}

export type FrameRead =
  | {
      kind: 'frame';
      transferSyntaxUid: string;
      dataset: Naturalized;
      attrs: ImageAttrs;
      frameIndex: number;
      /** Native pixel bytes of the frame, or its compressed bitstream when `encapsulated`. */
      bytes: Buffer;
      encapsulated: boolean;
      littleEndian: boolean;
    }
  | { kind: 'no-pixels' }
  | { kind: 'too-large' };

export class ImageFormatError extends Error {}

/** Rescale and window from the functional groups of enhanced multi-frame objects, if present. */
function functionalGroup(ds: Naturalized, frameIndex: number, seq: string): Naturalized | undefined {
  const perFrame = item(item(ds.PerFrameFunctionalGroupsSequence, frameIndex)?.[seq]);
  return perFrame ?? item(item(ds.SharedFunctionalGroupsSequence)?.[seq]);
}

export function imageAttrs(ds: Naturalized, frameIndex = 0): ImageAttrs {
  const rows = num(ds.Rows) ?? 0;
  const columns = num(ds.Columns) ?? 0;
  const bitsAllocated = num(ds.BitsAllocated) ?? 16;
  const bitsStored = num(ds.BitsStored) ?? bitsAllocated;
  const pvt = functionalGroup(ds, frameIndex, 'PixelValueTransformationSequence');
  const voi = functionalGroup(ds, frameIndex, 'FrameVOILUTSequence');
  return {
    rows,
    columns,
    samplesPerPixel: num(ds.SamplesPerPixel) ?? 1,
    bitsAllocated,
    bitsStored,
    highBit: num(ds.HighBit) ?? bitsStored - 1,
    pixelRepresentation: num(ds.PixelRepresentation) === 1 ? 1 : 0,
    photometric: (str(ds.PhotometricInterpretation) ?? 'MONOCHROME2').toUpperCase(),
    planarConfiguration: num(ds.PlanarConfiguration) === 1 ? 1 : 0,
    numberOfFrames: Math.max(1, Math.floor(num(ds.NumberOfFrames) ?? 1)),
    rescaleSlope: num(pvt?.RescaleSlope) ?? num(ds.RescaleSlope) ?? 1,
    rescaleIntercept: num(pvt?.RescaleIntercept) ?? num(ds.RescaleIntercept) ?? 0,
    windowCenter: num(voi?.WindowCenter) ?? num(ds.WindowCenter),
    windowWidth: num(voi?.WindowWidth) ?? num(ds.WindowWidth),
    pixelPaddingValue: num(ds.PixelPaddingValue),
  };
}

/** The frame a thumbnail shows: the middle one of a multi-frame object. */
export function thumbnailFrameIndex(numberOfFrames: number): number {
  return numberOfFrames > 1 ? Math.floor(numberOfFrames / 2) : 0;
}

export function nativeFrameBytes(a: ImageAttrs): number {
  // 4:2:2 colour carries two samples per pixel on average (Y1 Y2 Cb Cr per pair).
  const samples = a.samplesPerPixel === 3 && a.photometric.endsWith('_422') ? 2 : a.samplesPerPixel;
  return Math.ceil((a.rows * a.columns * samples * a.bitsAllocated) / 8);
}

export function readAt(fd: number, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const r = fs.readSync(fd, out, got, length - got, offset + got);
    if (r === 0) throw new ImageFormatError('file ends inside the pixel data');
    got += r;
  }
  return out;
}

interface Fragment {
  /** Offset of the item header, relative to the first fragment's item header (BOT convention). */
  rel: number;
  valueOffset: number;
  length: number;
}

function startsFrame(head: Buffer): boolean {
  // JPEG and JPEG-LS start with SOI (FFD8); JPEG 2000 codestreams with SOC+SIZ (FF4F FF51).
  return (head[0] === 0xff && head[1] === 0xd8) || (head[0] === 0xff && head[1] === 0x4f && head[2] === 0xff && head[3] === 0x51);
}

export function encapsulatedFrame(fd: number, src: ByteSource, valueOffset: number, attrs: ImageAttrs, frameIndex: number, ds: Naturalized): Buffer {
  // Encapsulated pixel data is always little endian, items without VR.
  const itemHeader = (o: number) => {
    const h = src.read(o, 8);
    if (h.length < 8) throw new ImageFormatError('pixel data truncated');
    return { tag: ((h.readUInt16LE(0) << 16) | h.readUInt16LE(2)) >>> 0, length: h.readUInt32LE(4) };
  };
  const bot = itemHeader(valueOffset);
  if (bot.tag !== ITEM || bot.length === UNDEFINED) throw new ImageFormatError('encapsulated pixel data without a Basic Offset Table item');
  const botOffsets: number[] = [];
  if (bot.length > 0) {
    const raw = src.read(valueOffset + 8, bot.length);
    for (let i = 0; i + 4 <= raw.length; i += 4) botOffsets.push(raw.readUInt32LE(i));
  }
  const first = valueOffset + 8 + bot.length;
  const fragments: Fragment[] = [];
  for (let o = first; ; ) {
    const h = itemHeader(o);
    if (h.tag === SEQ_DELIM) break;
    if (h.tag !== ITEM || h.length === UNDEFINED) throw new ImageFormatError('bad pixel data fragment');
    fragments.push({ rel: o - first, valueOffset: o + 8, length: h.length });
    if (fragments.length > MAX_FRAGMENTS) throw new ImageFormatError('too many pixel data fragments');
    o += 8 + h.length;
    if (o > src.length) throw new ImageFormatError('pixel data fragment runs past the end of the file');
  }
  if (fragments.length === 0) throw new ImageFormatError('encapsulated pixel data without fragments');

  let chosen: Fragment[];
  const n = attrs.numberOfFrames;
  const eot = ds.ExtendedOffsetTable;
  if (botOffsets.length === n && n > 0) {
    const start = botOffsets[frameIndex];
    const end = frameIndex + 1 < n ? botOffsets[frameIndex + 1] : Infinity;
    chosen = fragments.filter((f) => f.rel >= start && f.rel < end);
  } else if (eot instanceof ArrayBuffer || (Array.isArray(eot) && eot[0] instanceof ArrayBuffer)) {
    const buf = Buffer.from((Array.isArray(eot) ? eot[0] : eot) as ArrayBuffer);
    const offsets: number[] = [];
    for (let i = 0; i + 8 <= buf.length; i += 8) offsets.push(Number(buf.readBigUInt64LE(i)));
    const start = offsets[frameIndex] ?? 0;
    const end = offsets[frameIndex + 1] ?? Infinity;
    chosen = fragments.filter((f) => f.rel >= start && f.rel < end);
  } else if (n === 1) {
    chosen = fragments;
  } else if (fragments.length === n) {
    chosen = [fragments[frameIndex]];
  } else {
    // Several fragments per frame and no offset table: frames begin where a codestream starts.
    const starts = fragments.map((f, i) => ({ f, i })).filter(({ f }) => startsFrame(src.read(f.valueOffset, 4)));
    if (starts.length !== n) throw new ImageFormatError('cannot find the frames in the pixel data');
    const from = starts[frameIndex].i;
    const to = frameIndex + 1 < n ? starts[frameIndex + 1].i : fragments.length;
    chosen = fragments.slice(from, to);
  }
  if (chosen.length === 0) throw new ImageFormatError('frame not found in the pixel data');
  const total = chosen.reduce((s, f) => s + f.length, 0);
  if (total > MAX_FRAME_BYTES) throw new ImageFormatError('frame too large');
  return Buffer.concat(chosen.map((f) => readAt(fd, f.valueOffset, f.length)));
}

function fromWholeFile(absPath: string): FrameRead {
  const size = fs.statSync(absPath).size;
  if (size > MAX_WHOLE_FILE) return { kind: 'too-large' };
  const { transferSyntaxUid, dataset } = readNaturalized(fs.readFileSync(absPath));
  const px = dataset.PixelData;
  if (!px) return { kind: 'no-pixels' };
  const attrs0 = imageAttrs(dataset);
  const frameIndex = thumbnailFrameIndex(attrs0.numberOfFrames);
  const attrs = imageAttrs(dataset, frameIndex);
  const all = Buffer.from((Array.isArray(px) ? px[0] : px) as ArrayBuffer);
  const frameBytes = nativeFrameBytes(attrs);
  const bytes = all.subarray(frameIndex * frameBytes, (frameIndex + 1) * frameBytes);
  if (bytes.length < frameBytes) throw new ImageFormatError('pixel data shorter than the image');
  return { kind: 'frame', transferSyntaxUid, dataset, attrs, frameIndex, bytes, encapsulated: false, littleEndian: true };
}

/** Reads the thumbnail frame (the middle one) of a Part-10 file. */
export function readThumbnailFrame(absPath: string): FrameRead {
  const meta = readPart10Header(absPath);
  const enc = datasetEncoding(meta.transferSyntaxUid);
  if (enc.deflated) return fromWholeFile(absPath);
  const fd = fs.openSync(absPath, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const src = fileSource(fd, size);
    const walk = walkDataset(src, meta.datasetOffset, { explicitVr: enc.explicitVr, littleEndian: enc.littleEndian, stopAfterTag: PIXEL_DATA - 1 });
    if (!walk.stoppedEarly) return { kind: 'no-pixels' };
    const at = walk.end;
    const h = src.read(at, 12);
    const tag = enc.littleEndian ? ((h.readUInt16LE(0) << 16) | h.readUInt16LE(2)) >>> 0 : ((h.readUInt16BE(0) << 16) | h.readUInt16BE(2)) >>> 0;
    if (tag !== PIXEL_DATA) return { kind: 'no-pixels' };
    let length: number;
    let valueOffset: number;
    if (enc.explicitVr) {
      length = enc.littleEndian ? h.readUInt32LE(8) : h.readUInt32BE(8);
      valueOffset = at + 12;
    } else {
      length = h.readUInt32LE(4);
      valueOffset = at + 8;
    }
    // The header: everything before the pixel data, parsed by dcmjs (a few KB to a few MB).
    const { dataset } = readNaturalized(readAt(fd, 0, at));
    const attrs0 = imageAttrs(dataset);
    if (attrs0.rows < 1 || attrs0.columns < 1) throw new ImageFormatError('image without rows or columns');
    if (attrs0.rows * attrs0.columns > 64_000_000) return { kind: 'too-large' };
    const frameIndex = thumbnailFrameIndex(attrs0.numberOfFrames);
    const attrs = imageAttrs(dataset, frameIndex);
    if (length === UNDEFINED) {
      const bytes = encapsulatedFrame(fd, src, valueOffset, attrs, frameIndex, dataset);
      return { kind: 'frame', transferSyntaxUid: meta.transferSyntaxUid, dataset, attrs, frameIndex, bytes, encapsulated: true, littleEndian: true };
    }
    const frameBytes = nativeFrameBytes(attrs);
    if (frameBytes > MAX_FRAME_BYTES) return { kind: 'too-large' };
    const start = attrs.bitsAllocated === 1 ? 0 : frameIndex * frameBytes;
    if (start + frameBytes > length || valueOffset + start + frameBytes > size) throw new ImageFormatError('pixel data shorter than the image');
    const bytes = readAt(fd, valueOffset + start, frameBytes);
    return {
      kind: 'frame',
      transferSyntaxUid: meta.transferSyntaxUid,
      dataset,
      attrs,
      frameIndex,
      bytes,
      encapsulated: false,
      littleEndian: meta.transferSyntaxUid !== TransferSyntax.ExplicitVRBigEndian,
    };
  } finally {
    fs.closeSync(fd);
  }
}
