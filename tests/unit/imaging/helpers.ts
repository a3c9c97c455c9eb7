/** Test helpers: an independent PNG reader and builders for crafted DICOM files. */
import zlib from 'node:zlib';
import { writePart10, type DenaturalizedDataset } from '@/lib/synthetic/dcmjs-writer';

export interface DecodedPng {
  width: number;
  height: number;
  channels: 1 | 3;
  bitDepth: number;
  data: Buffer;
}

/** Reads a non-interlaced 8-bit greyscale/RGB PNG, checking the signature and every chunk CRC. */
export function decodePng(png: Buffer): DecodedPng {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!png.subarray(0, 8).equals(sig)) throw new Error('bad PNG signature');
  let o = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  let bitDepth = 0;
  const idat: Buffer[] = [];
  let ended = false;
  while (o < png.length) {
    const len = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    const data = png.subarray(o + 8, o + 8 + len);
    const crc = png.readUInt32BE(o + 8 + len);
    if ((zlib.crc32(png.subarray(o + 4, o + 8 + len)) >>> 0) !== crc) throw new Error(`bad CRC in ${type}`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8];
      colorType = data[9];
      if (data[12] !== 0) throw new Error('interlaced');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') ended = true;
    o += 12 + len;
  }
  if (!ended) throw new Error('no IEND');
  const channels = colorType === 2 ? 3 : colorType === 0 ? 1 : 0;
  if (!channels || bitDepth !== 8) throw new Error(`unsupported PNG colour type ${colorType} / depth ${bitDepth}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    if (filter !== 0) throw new Error(`filter ${filter} not handled by this test reader`);
    raw.copy(out, y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
  }
  return { width, height, channels: channels as 1 | 3, bitDepth, data: out };
}

const str = (vr: string, ...v: (string | number)[]) => ({ vr, Value: v });
const ab = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);

export interface CraftOptions {
  rows: number;
  columns: number;
  bitsAllocated?: number;
  bitsStored?: number;
  highBit?: number;
  signed?: boolean;
  photometric?: string;
  samplesPerPixel?: number;
  planar?: 0 | 1;
  frames?: number;
  slope?: number;
  intercept?: number;
  windowCenter?: number;
  windowWidth?: number;
  pixelPadding?: number;
  /** Native pixel bytes (all frames). Omit for no pixel data. */
  pixels?: Buffer;
  /** Encapsulated transfer syntax: write `encapsulated` instead of native pixels. */
  transferSyntax?: string;
  encapsulated?: { fragments: Buffer[]; bot?: number[] };
}

let uidCounter = 1;

/** A Part-10 file (Secondary Capture) with exactly the image attributes given. */
export function craftDicom(o: CraftOptions): Buffer {
  const uid = `2.25.4242${Date.now() % 100000}${uidCounter++}`;
  const ts = o.transferSyntax ?? '1.2.840.10008.1.2.1';
  const ba = o.bitsAllocated ?? 16;
  const bs = o.bitsStored ?? ba;
  const meta: DenaturalizedDataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': str('UI', '1.2.840.10008.5.1.4.1.1.7'),
    '00020003': str('UI', uid),
    '00020010': str('UI', ts),
    '00020012': str('UI', '1.2.3.4'),
  };
  const ds: DenaturalizedDataset = {
    '00080016': str('UI', '1.2.840.10008.5.1.4.1.1.7'),
    '00080018': str('UI', uid),
    '00080060': str('CS', 'OT'),
    '0020000D': str('UI', `${uid}.1`),
    '0020000E': str('UI', `${uid}.2`),
    '00280002': str('US', o.samplesPerPixel ?? 1),
    '00280004': str('CS', o.photometric ?? 'MONOCHROME2'),
    '00280010': str('US', o.rows),
    '00280011': str('US', o.columns),
    '00280100': str('US', ba),
    '00280101': str('US', bs),
    '00280102': str('US', o.highBit ?? bs - 1),
    '00280103': str('US', o.signed ? 1 : 0),
  };
  if ((o.samplesPerPixel ?? 1) > 1) ds['00280006'] = str('US', o.planar ?? 0);
  if (o.frames !== undefined) ds['00280008'] = str('IS', String(o.frames));
  if (o.pixelPadding !== undefined) ds['00280120'] = str(o.signed ? 'SS' : 'US', o.pixelPadding);
  if (o.windowCenter !== undefined) ds['00281050'] = str('DS', String(o.windowCenter));
  if (o.windowWidth !== undefined) ds['00281051'] = str('DS', String(o.windowWidth));
  if (o.intercept !== undefined) ds['00281052'] = str('DS', String(o.intercept));
  if (o.slope !== undefined) ds['00281053'] = str('DS', String(o.slope));
  if (o.pixels) {
    ds['7FE00010'] = { vr: ba > 8 ? 'OW' : 'OB', Value: [ab(o.pixels)] };
    return writePart10(meta, ds);
  }
  const head = writePart10(meta, ds);
  if (!o.encapsulated) return head;
  return Buffer.concat([head, encapsulate(o.encapsulated.fragments, o.encapsulated.bot)]);
}

/** (7FE0,0010) OB, undefined length, Basic Offset Table item, fragments, sequence delimiter. */
export function encapsulate(fragments: Buffer[], bot?: number[]): Buffer {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(12);
  h.writeUInt16LE(0x7fe0, 0);
  h.writeUInt16LE(0x0010, 2);
  h.write('OB', 4, 'latin1');
  h.writeUInt32LE(0xffffffff, 8);
  parts.push(h);
  const item = (len: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(0xfffe, 0);
    b.writeUInt16LE(0xe000, 2);
    b.writeUInt32LE(len, 4);
    return b;
  };
  const botBytes = Buffer.alloc((bot?.length ?? 0) * 4);
  bot?.forEach((v, i) => botBytes.writeUInt32LE(v, i * 4));
  parts.push(item(botBytes.length), botBytes);
  for (const f of fragments) {
    const even = f.length % 2 ? Buffer.concat([f, Buffer.alloc(1)]) : f;
    parts.push(item(even.length), even);
  }
  const end = Buffer.alloc(8);
  end.writeUInt16LE(0xfffe, 0);
  end.writeUInt16LE(0xe0dd, 2);
  parts.push(end);
  return Buffer.concat(parts);
}

/** 16-bit little-endian buffer of the given values. */
export function u16(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v & 0xffff, i * 2));
  return b;
}

/** Reads a binary PGM (P5, 8-bit) or PPM (P6) as written by dcmj2pnm. */
export function readPnm(buf: Buffer): { width: number; height: number; channels: number; data: Buffer } {
  const text = buf.toString('latin1', 0, 64);
  const m = /^(P5|P6)\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
  if (!m) throw new Error('not a binary PNM');
  const headerLength = m[0].length;
  return { width: Number(m[2]), height: Number(m[3]), channels: m[1] === 'P6' ? 3 : 1, data: buf.subarray(headerLength) };
}
