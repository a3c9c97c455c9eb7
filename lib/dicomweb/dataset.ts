/**
 * Reading stored Part-10 files for WADO-RS metadata, frames and bulk data, without loading them:
 * the file's first 64 KB are read once (headers live there) and anything beyond is read with
 * small positional reads (lib/dicom/walker.ts's fileSource), so pixel data is located, never
 * read, while answering metadata.
 *
 * Why not dcmjs here: `DicomMessage.readFile` needs the whole file in memory and decodes every
 * value, pixel data included; a series' metadata would read every byte of the series. dcmjs stays
 * the independent parser of the tests.
 *
 * Values are decoded per VR into the DICOM JSON model (PS3.18 F.2). Pixel data, and any other
 * binary value above BULK_THRESHOLD bytes, become BulkDataURI values pointing at
 * `<instance>/bulkdata/<path>`, where path is the element's tag, or for a nested element the
 * sequence tag, item index and tag joined by dots (`00540016.0.00181072`).
 */
import fs from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { lookupTag } from '../anonymize/dictionary';
import { bufferSource, fileSource, type ByteSource } from '../dicom/walker';
import { readPart10Header } from '../dicom/part10';
import { badRequest, DicomwebError } from './errors';
import { type DicomAttribute, type DicomJson, type JsonValue, personName } from './json';
import { TS } from './syntax';

export const BULK_THRESHOLD = 1024;
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIM = 0xfffee00d;
const SEQ_DELIM = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const FLOAT_PIXEL_DATA = 0x7fe00008;
const DOUBLE_PIXEL_DATA = 0x7fe00009;
const SPECIFIC_CHARSET = 0x00080005;
const MAX_DEPTH = 32;

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const SINGLE_VALUED_TEXT = new Set(['LT', 'ST', 'UT', 'UR']);
/** Text VRs whose bytes follow SpecificCharacterSet; the others are plain ASCII. */
const CHARSET_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'UC', 'UT', 'PN']);

/** DICOM defined terms (PS3.3 C.12.1.1.2) to WHATWG encoding labels. ISO 2022 code extensions fall back to their base set. */
const CHARSETS: Record<string, string> = {
  '': 'latin1',
  'ISO_IR 6': 'latin1',
  'ISO 2022 IR 6': 'latin1',
  'ISO_IR 100': 'latin1',
  'ISO 2022 IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO 2022 IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO 2022 IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO 2022 IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO 2022 IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15',
  'ISO_IR 166': 'windows-874',
  'ISO_IR 13': 'shift_jis',
  'ISO 2022 IR 13': 'shift_jis',
  'ISO 2022 IR 87': 'iso-2022-jp',
  'ISO 2022 IR 149': 'euc-kr',
  'ISO 2022 IR 58': 'gb18030',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

export interface Decoder {
  decode(bytes: Buffer): string;
}

function decoderFor(charsetValue: string): Decoder {
  const terms = charsetValue.split('\\').map((t) => t.trim());
  // With several terms (ISO 2022 extensions) the last non-default one is the best single guess.
  const term = [...terms].reverse().find((t) => t && CHARSETS[t] !== 'latin1') ?? terms[0] ?? '';
  const label = CHARSETS[term] ?? 'latin1';
  if (label === 'latin1') return { decode: (b) => b.toString('latin1') };
  try {
    const td = new TextDecoder(label);
    return { decode: (b) => td.decode(b) };
  } catch {
    return { decode: (b) => b.toString('latin1') };
  }
}

const LATIN1: Decoder = decoderFor('');

interface Header {
  tag: number;
  /** Effective VR (explicit, or from the dictionary for implicit syntaxes). */
  vr: string;
  /** VR as written (explicit syntaxes), else null. */
  encVr: string | null;
  length: number;
  valueOffset: number;
}

export interface OpenedFile {
  src: ByteSource;
  transferSyntaxUid: string;
  /** Offset of the first dataset byte in `src`. */
  start: number;
  explicit: boolean;
  little: boolean;
  close(): Promise<void>;
}

/**
 * Opens a stored Part-10 file for header walking. Deflated files are inflated whole (rare, and
 * their dataset cannot be walked otherwise).
 */
export async function openPart10(absPath: string): Promise<OpenedFile> {
  const fh = await fs.open(absPath, 'r');
  try {
    const { size } = await fh.stat();
    const n = Math.min(size, 64 * 1024);
    const prefix = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await fh.read(prefix, got, n - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    let src: ByteSource = fileSource(fh.fd, size, prefix.subarray(0, got));
    const meta = readPart10Header(prefix.subarray(0, got));
    const ts = meta.transferSyntaxUid;
    let start = meta.datasetOffset;
    if (ts === TS.DeflatedLE) {
      const whole = await fs.readFile(absPath);
      src = bufferSource(inflateRawSync(whole.subarray(start)));
      start = 0;
    }
    return {
      src,
      transferSyntaxUid: ts,
      start,
      explicit: ts !== TS.ImplicitLE,
      little: ts !== TS.ExplicitBE,
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close().catch(() => undefined);
    if (e instanceof DicomwebError) throw e;
    throw new DicomwebError(500, 'A stored instance could not be read');
  }
}

class Walk {
  constructor(
    private readonly src: ByteSource,
    readonly little: boolean,
  ) {}

  bytes(offset: number, n: number): Buffer {
    const b = this.src.read(offset, n);
    if (b.length < n) throw new DicomwebError(500, 'A stored instance is truncated');
    return b;
  }

  u16(b: Buffer, o: number) {
    return this.little ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }

  u32(b: Buffer, o: number) {
    return this.little ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  get length() {
    return this.src.length;
  }

  header(offset: number, explicit: boolean): Header {
    const t = this.bytes(offset, 8);
    const tag = ((this.u16(t, 0) << 16) | this.u16(t, 2)) >>> 0;
    if (tag >>> 16 === 0xfffe) return { tag, vr: '', encVr: null, length: this.u32(t, 4), valueOffset: offset + 8 };
    if (!explicit) {
      const length = this.u32(t, 4);
      let vr = impliedVr(tag);
      if (length === UNDEFINED && tag !== PIXEL_DATA) vr = 'SQ';
      return { tag, vr, encVr: null, length, valueOffset: offset + 8 };
    }
    const encVr = t.toString('latin1', 4, 6);
    if (LONG_VRS.has(encVr)) {
      const length = this.u32(this.bytes(offset + 8, 4), 0);
      const vr = encVr === 'UN' && length === UNDEFINED ? 'SQ' : encVr;
      return { tag, vr, encVr, length, valueOffset: offset + 12 };
    }
    if (!/^[A-Z]{2}$/.test(encVr)) throw new DicomwebError(500, 'A stored instance has an invalid element header');
    return { tag, vr: encVr, encVr, length: this.u16(t, 6), valueOffset: offset + 8 };
  }

  /** Offset after an encapsulated value (fragments up to the sequence delimiter). */
  skipFragments(offset: number): number {
    let o = offset;
    for (;;) {
      const h = this.header(o, false);
      if (h.tag === SEQ_DELIM) return h.valueOffset;
      if (h.tag !== ITEM || h.length === UNDEFINED) throw new DicomwebError(500, 'A stored instance has bad pixel data fragments');
      o = h.valueOffset + h.length;
    }
  }

  fragments(offset: number): { offset: number; length: number }[] {
    const out: { offset: number; length: number }[] = [];
    let o = offset;
    for (;;) {
      const h = this.header(o, false);
      if (h.tag === SEQ_DELIM) return out;
      if (h.tag !== ITEM || h.length === UNDEFINED) throw new DicomwebError(500, 'A stored instance has bad pixel data fragments');
      out.push({ offset: h.valueOffset, length: h.length });
      o = h.valueOffset + h.length;
    }
  }
}

function impliedVr(tag: number): string {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element === 0) return 'UL';
  if (group & 1) return element >= 0x10 && element <= 0xff ? 'LO' : 'UN';
  const vr = lookupTag(tag)?.vr;
  return vr && vr !== 'NA' ? vr : 'UN';
}

const hex8 = (tag: number) => (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');

interface JsonOptions {
  /** Builds the BulkDataURI of an element from its path (see the module comment). */
  bulkUri: (path: string) => string;
  threshold?: number;
}

function trimValue(s: string, vr: string): string {
  if (vr === 'UI') return s.replace(/[\0 ]+$/, '');
  if (SINGLE_VALUED_TEXT.has(vr)) return s.replace(/[\0 ]+$/, '');
  return s.replace(/^[ ]+/, '').replace(/[\0 ]+$/, '');
}

function decodeValue(w: Walk, h: Header, decoder: Decoder): JsonValue[] | undefined {
  if (h.length === 0) return undefined;
  const raw = w.bytes(h.valueOffset, h.length);
  const n = (size: number) => Math.floor(raw.length / size);
  const little = w.little;
  switch (h.vr) {
    case 'US':
      return Array.from({ length: n(2) }, (_, i) => (little ? raw.readUInt16LE(i * 2) : raw.readUInt16BE(i * 2)));
    case 'SS':
      return Array.from({ length: n(2) }, (_, i) => (little ? raw.readInt16LE(i * 2) : raw.readInt16BE(i * 2)));
    case 'UL':
      return Array.from({ length: n(4) }, (_, i) => (little ? raw.readUInt32LE(i * 4) : raw.readUInt32BE(i * 4)));
    case 'SL':
      return Array.from({ length: n(4) }, (_, i) => (little ? raw.readInt32LE(i * 4) : raw.readInt32BE(i * 4)));
    case 'FL':
      return Array.from({ length: n(4) }, (_, i) => (little ? raw.readFloatLE(i * 4) : raw.readFloatBE(i * 4)));
    case 'FD':
      return Array.from({ length: n(8) }, (_, i) => (little ? raw.readDoubleLE(i * 8) : raw.readDoubleBE(i * 8)));
    case 'SV':
    case 'UV': {
      return Array.from({ length: n(8) }, (_, i) => {
        const v = h.vr === 'SV' ? (little ? raw.readBigInt64LE(i * 8) : raw.readBigInt64BE(i * 8)) : little ? raw.readBigUInt64LE(i * 8) : raw.readBigUInt64BE(i * 8);
        // Beyond 2^53 a JSON number would lose digits: PS3.18 F.2.3 allows the string form.
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
      });
    }
    case 'AT':
      return Array.from({ length: n(4) }, (_, i) => {
        const g = little ? raw.readUInt16LE(i * 4) : raw.readUInt16BE(i * 4);
        const e = little ? raw.readUInt16LE(i * 4 + 2) : raw.readUInt16BE(i * 4 + 2);
        return hex8(((g << 16) | e) >>> 0);
      });
  }
  const text = (CHARSET_VRS.has(h.vr) ? decoder : LATIN1).decode(raw);
  const parts = SINGLE_VALUED_TEXT.has(h.vr) ? [text] : text.split('\\');
  const values = parts.map((p) => trimValue(p, h.vr));
  if (h.vr === 'PN') return values.map((v) => (v === '' ? null : personName(v)));
  if (h.vr === 'IS' || h.vr === 'DS') {
    return values.map((v) => {
      if (v === '') return null;
      const x = Number(v);
      return Number.isFinite(x) ? x : v;
    });
  }
  if (values.every((v) => v === '')) return undefined;
  return values.map((v) => (v === '' ? null : v));
}

/**
 * Walks elements from `offset` to `end` (or to an item delimiter when `end` is undefined) and
 * returns their DICOM JSON, plus the offset after the last byte walked.
 */
function readElements(
  w: Walk,
  offset: number,
  end: number | undefined,
  explicit: boolean,
  decoder: Decoder,
  path: string,
  opts: JsonOptions,
  depth: number,
): { json: DicomJson; end: number } {
  if (depth > MAX_DEPTH) throw new DicomwebError(500, 'A stored instance nests sequences too deeply');
  const json: DicomJson = {};
  const threshold = opts.threshold ?? BULK_THRESHOLD;
  let o = offset;
  const limit = end ?? w.length;
  let dec = decoder;
  while (o < limit) {
    if (limit - o < 8) break; // trailing padding
    const h = w.header(o, explicit);
    if (h.tag === ITEM_DELIM && end === undefined) return { json, end: h.valueOffset };
    if (h.tag >>> 16 === 0xfffe) throw new DicomwebError(500, 'A stored instance has an unexpected delimiter');
    const key = hex8(h.tag);
    const elPath = path ? `${path}.${key}` : key;
    let next: number;
    if (h.vr === 'SQ') {
      const itemExplicit = h.encVr === 'UN' ? false : explicit; // CP-246: UN sequences are implicit VR inside
      const items: DicomJson[] = [];
      let p = h.valueOffset;
      const seqEnd = h.length === UNDEFINED ? undefined : h.valueOffset + h.length;
      for (;;) {
        if (seqEnd !== undefined && p >= seqEnd) break;
        const ih = w.header(p, false);
        if (ih.tag === SEQ_DELIM) {
          p = ih.valueOffset;
          if (seqEnd === undefined) break;
          continue;
        }
        if (ih.tag !== ITEM) throw new DicomwebError(500, 'A stored instance has a malformed sequence');
        const itemPath = `${elPath}.${items.length}`;
        const r = readElements(w, ih.valueOffset, ih.length === UNDEFINED ? undefined : ih.valueOffset + ih.length, itemExplicit, dec, itemPath, opts, depth + 1);
        items.push(r.json);
        p = ih.length === UNDEFINED ? r.end : ih.valueOffset + ih.length;
      }
      json[key] = items.length ? { vr: 'SQ', Value: items } : { vr: 'SQ' };
      next = seqEnd ?? p;
    } else if (h.length === UNDEFINED) {
      // Encapsulated pixel data (or another undefined-length binary value): always bulk.
      json[key] = { vr: h.vr === 'UN' ? 'OB' : h.vr, BulkDataURI: opts.bulkUri(elPath) };
      next = w.skipFragments(h.valueOffset);
    } else {
      next = h.valueOffset + h.length;
      if (next > w.length) throw new DicomwebError(500, 'A stored instance is truncated');
      const groupLength = (h.tag & 0xffff) === 0;
      if (groupLength || h.tag === 0xfffcfffc) {
        o = next;
        continue; // group lengths and padding are not part of the JSON model
      }
      const bulkAlways = h.tag === PIXEL_DATA || h.tag === FLOAT_PIXEL_DATA || h.tag === DOUBLE_PIXEL_DATA;
      if (BINARY_VRS.has(h.vr)) {
        const attr: DicomAttribute = { vr: h.vr };
        if (h.length > 0) {
          if (bulkAlways || h.length > threshold) attr.BulkDataURI = opts.bulkUri(elPath);
          else attr.InlineBinary = w.bytes(h.valueOffset, h.length).toString('base64');
        }
        json[key] = attr;
      } else if (bulkAlways) {
        json[key] = { vr: h.vr, BulkDataURI: opts.bulkUri(elPath) };
      } else {
        const values = decodeValue(w, h, dec);
        json[key] = values ? { vr: h.vr, Value: values } : { vr: h.vr };
        if (h.tag === SPECIFIC_CHARSET) {
          dec = decoderFor(values ? values.map((v) => String(v ?? '')).join('\\') : '');
          // Values are Unicode now: a client writing them back must not re-encode them as the old set.
          json[key] = { vr: 'CS', Value: ['ISO_IR 192'] };
        }
      }
    }
    o = next;
  }
  if (end === undefined) throw new DicomwebError(500, 'A stored instance has an item without delimiter');
  return { json, end: o };
}

/** The whole dataset of a stored instance as DICOM JSON, bulk values as BulkDataURI. */
export async function instanceJson(absPath: string, opts: JsonOptions): Promise<{ json: DicomJson; transferSyntaxUid: string }> {
  const f = await openPart10(absPath);
  try {
    const w = new Walk(f.src, f.little);
    const { json } = readElements(w, f.start, f.src.length, f.explicit, LATIN1, '', opts, 0);
    return { json, transferSyntaxUid: f.transferSyntaxUid };
  } finally {
    await f.close();
  }
}

/** Parses a bulk data path (`7FE00010`, `00540016.0.00181072`) into tags and item indexes. */
export function parseBulkPath(path: string): (number | { item: number })[] {
  const parts = path.split('.');
  if (parts.length % 2 !== 1 || parts.length > 2 * MAX_DEPTH + 1) throw badRequest('Invalid bulk data path');
  return parts.map((p, i) => {
    if (i % 2 === 0) {
      if (!/^[0-9A-Fa-f]{8}$/.test(p)) throw badRequest('Invalid bulk data path');
      return parseInt(p, 16) >>> 0;
    }
    if (!/^\d{1,6}$/.test(p)) throw badRequest('Invalid bulk data path');
    return { item: Number(p) };
  });
}

export interface Located {
  tag: number;
  vr: string;
  valueOffset: number;
  /** UNDEFINED for encapsulated values. */
  length: number;
}

/** Finds the element a bulk data path names, walking headers only. */
function locate(w: Walk, start: number, explicit: boolean, path: (number | { item: number })[]): Located {
  let o = start;
  let end: number | undefined = w.length;
  let exp = explicit;
  for (let i = 0; i < path.length; i += 2) {
    const want = path[i] as number;
    let found: Header | null = null;
    while (end === undefined || o < end) {
      if (end !== undefined && end - o < 8) break;
      const h = w.header(o, exp);
      if (h.tag === ITEM_DELIM) break;
      if (h.tag === want) {
        found = h;
        break;
      }
      if (h.tag > want && (h.tag >>> 16) !== 0xfffc) break; // elements are in tag order
      o = skipElement(w, h, exp);
    }
    if (!found) throw new DicomwebError(404, 'No such bulk data in this instance');
    if (i === path.length - 1) {
      if (found.vr === 'SQ') throw new DicomwebError(404, 'No such bulk data in this instance');
      return { tag: found.tag, vr: found.vr, valueOffset: found.valueOffset, length: found.length };
    }
    if (found.vr !== 'SQ') throw new DicomwebError(404, 'No such bulk data in this instance');
    const index = (path[i + 1] as { item: number }).item;
    const itemExplicit = found.encVr === 'UN' ? false : exp;
    let p = found.valueOffset;
    const seqEnd = found.length === UNDEFINED ? undefined : found.valueOffset + found.length;
    let k = 0;
    for (;;) {
      if (seqEnd !== undefined && p >= seqEnd) throw new DicomwebError(404, 'No such bulk data in this instance');
      const ih = w.header(p, false);
      if (ih.tag !== ITEM) throw new DicomwebError(404, 'No such bulk data in this instance');
      if (k === index) {
        o = ih.valueOffset;
        end = ih.length === UNDEFINED ? undefined : ih.valueOffset + ih.length;
        exp = itemExplicit;
        break;
      }
      p = ih.length === UNDEFINED ? skipItem(w, ih.valueOffset, itemExplicit) : ih.valueOffset + ih.length;
      k++;
    }
  }
  throw new DicomwebError(404, 'No such bulk data in this instance');
}

function skipItem(w: Walk, offset: number, explicit: boolean): number {
  let o = offset;
  for (;;) {
    const h = w.header(o, explicit);
    if (h.tag === ITEM_DELIM) return h.valueOffset;
    o = skipElement(w, h, explicit);
  }
}

function skipElement(w: Walk, h: Header, explicit: boolean): number {
  if (h.vr === 'SQ') {
    if (h.length !== UNDEFINED) return h.valueOffset + h.length;
    const itemExplicit = h.encVr === 'UN' ? false : explicit;
    let p = h.valueOffset;
    for (;;) {
      const ih = w.header(p, false);
      if (ih.tag === SEQ_DELIM) return ih.valueOffset;
      p = ih.length === UNDEFINED ? skipItem(w, ih.valueOffset, itemExplicit) : ih.valueOffset + ih.length;
    }
  }
  if (h.length === UNDEFINED) return w.skipFragments(h.valueOffset);
  return h.valueOffset + h.length;
}

/** A byte range of the stored file. */
export interface Piece {
  offset: number;
  length: number;
}

export interface PixelLayout {
  transferSyntaxUid: string;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  numberOfFrames: number;
  /** Native pixel data: the value's range. */
  native?: Piece;
  /** Encapsulated pixel data: one list of pieces per frame. */
  frames?: Piece[][];
}

const T = {
  SamplesPerPixel: 0x00280002,
  NumberOfFrames: 0x00280008,
  Rows: 0x00280010,
  Columns: 0x00280011,
  BitsAllocated: 0x00280100,
  ExtendedOffsetTable: 0x7fe00001,
  ExtendedOffsetTableLengths: 0x7fe00002,
};

/** Where a frame starts in an encapsulated stream: JPEG/JPEG-LS SOI, JPEG 2000 SOC, a JP2 signature box. */
function startsFrame(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0xff && (head[1] === 0xd8 || head[1] === 0x4f)) return true;
  return head.length >= 8 && head.readUInt32BE(0) === 0x0000000c && head.toString('latin1', 4, 8) === 'jP  ';
}

function splitFrames(w: Walk, frags: Piece[], offsets: number[] | null, count: number): Piece[][] {
  if (frags.length === 0) return [];
  if (offsets && offsets.length === count) {
    // Offsets count from the first byte of the first fragment's item header.
    const base = frags[0].offset - 8;
    const rel = frags.map((f) => f.offset - 8 - base);
    return offsets.map((start, k) => {
      const stop = k + 1 < offsets.length ? offsets[k + 1] : Infinity;
      return frags.filter((_, i) => rel[i] >= start && rel[i] < stop);
    });
  }
  if (count <= 1) return [frags];
  if (frags.length === count) return frags.map((f) => [f]);
  const out: Piece[][] = [];
  for (const f of frags) {
    if (out.length === 0 || startsFrame(w.bytes(f.offset, Math.min(8, f.length)))) out.push([f]);
    else out[out.length - 1].push(f);
  }
  if (out.length !== count) throw new DicomwebError(500, 'The frames of this instance cannot be told apart (no offset table)');
  return out;
}

/** Image pixel attributes and where each frame's bytes are. */
export async function pixelLayout(absPath: string): Promise<PixelLayout> {
  const f = await openPart10(absPath);
  try {
    const w = new Walk(f.src, f.little);
    const vals = new Map<number, Header>();
    let pixel: Header | null = null;
    let o = f.start;
    while (o + 8 <= f.src.length) {
      const h = w.header(o, f.explicit);
      if ([T.SamplesPerPixel, T.NumberOfFrames, T.Rows, T.Columns, T.BitsAllocated, T.ExtendedOffsetTable, T.ExtendedOffsetTableLengths].includes(h.tag)) vals.set(h.tag, h);
      if (h.tag === PIXEL_DATA) {
        pixel = h;
        break;
      }
      if (h.tag > PIXEL_DATA) break;
      o = skipElement(w, h, f.explicit);
    }
    const us = (tag: number, dflt: number) => {
      const h = vals.get(tag);
      if (!h || h.length < 2) return dflt;
      const b = w.bytes(h.valueOffset, 2);
      return f.little ? b.readUInt16LE(0) : b.readUInt16BE(0);
    };
    const framesH = vals.get(T.NumberOfFrames);
    const numberOfFrames = framesH && framesH.length ? parseInt(w.bytes(framesH.valueOffset, framesH.length).toString('latin1').trim(), 10) || 1 : 1;
    const layout: PixelLayout = {
      transferSyntaxUid: f.transferSyntaxUid,
      rows: us(T.Rows, 0),
      columns: us(T.Columns, 0),
      samplesPerPixel: us(T.SamplesPerPixel, 1),
      bitsAllocated: us(T.BitsAllocated, 0),
      numberOfFrames,
    };
    if (!pixel) throw new DicomwebError(404, 'This instance has no pixel data');
    if (pixel.length !== UNDEFINED) {
      layout.native = { offset: pixel.valueOffset, length: pixel.length };
      return layout;
    }
    const items = w.fragments(pixel.valueOffset);
    const bot = items.shift();
    let offsets: number[] | null = null;
    const eot = vals.get(T.ExtendedOffsetTable);
    if (eot && eot.length >= 8) {
      const b = w.bytes(eot.valueOffset, eot.length);
      offsets = Array.from({ length: Math.floor(b.length / 8) }, (_, i) => Number(b.readBigUInt64LE(i * 8)));
    } else if (bot && bot.length >= 4) {
      const b = w.bytes(bot.offset, bot.length);
      offsets = Array.from({ length: Math.floor(b.length / 4) }, (_, i) => b.readUInt32LE(i * 4));
    }
    layout.frames = splitFrames(w, items, offsets, numberOfFrames);
    return layout;
  } finally {
    await f.close();
  }
}

/** The byte pieces of one bulk data element, and whether it is encapsulated pixel data (answered per frame). */
export async function bulkLocation(absPath: string, path: string): Promise<{ located: Located; transferSyntaxUid: string; little: boolean }> {
  const steps = parseBulkPath(path);
  const f = await openPart10(absPath);
  try {
    const w = new Walk(f.src, f.little);
    const located = locate(w, f.start, f.explicit, steps);
    return { located, transferSyntaxUid: f.transferSyntaxUid, little: f.little };
  } finally {
    await f.close();
  }
}
