/**
 * A tiny DICOM element walker. It checks the structure of a dataset (tags, VRs, lengths,
 * sequences, items, encapsulated fragments) and picks out the raw values of a few top-level
 * elements, without building a dataset in memory. The SCP uses it to validate every received
 * object cheaply (pixel data is skipped by its length, never read), the Part-10 reader to
 * pull header UIDs.
 *
 * Why not dcmjs: parsing a 500 KB CT with dcmjs costs milliseconds and allocates the whole
 * dataset; this walker reads a few hundred bytes of headers and seeks over the rest.
 */
import fs from 'node:fs';

export class DatasetFormatError extends Error {
  constructor(message: string, public readonly offset: number) {
    super(message);
    this.name = 'DatasetFormatError';
  }
}

/** Random-access bytes. `read` may return fewer bytes than asked at the end. */
export interface ByteSource {
  readonly length: number;
  read(offset: number, length: number): Buffer;
}

export function bufferSource(buf: Buffer): ByteSource {
  return { length: buf.length, read: (o, n) => buf.subarray(o, Math.min(buf.length, o + n)) };
}

/**
 * Reads a file through a cached prefix (headers live there) plus small positional reads for
 * anything beyond it (element headers after large pixel data, encapsulated fragments).
 */
export function fileSource(fd: number, length: number, prefix?: Buffer): ByteSource {
  let head = prefix;
  if (!head) {
    const n = Math.min(length, 64 * 1024);
    head = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = fs.readSync(fd, head, got, n - got, got);
      if (r === 0) break;
      got += r;
    }
    head = head.subarray(0, got);
  }
  const cached = head;
  return {
    length,
    read(offset, n) {
      if (offset + n <= cached.length) return cached.subarray(offset, offset + n);
      const want = Math.max(0, Math.min(n, length - offset));
      const out = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const r = fs.readSync(fd, out, got, want - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      return out.subarray(0, got);
    },
  };
}

export interface WalkOptions {
  explicitVr: boolean;
  littleEndian: boolean;
  /** Top-level tags (as 0xGGGGEEEE numbers) whose raw values to return. */
  wanted?: readonly number[];
  /** Stop once a top-level tag greater than this one is reached (header-only reads). */
  stopAfterTag?: number;
}

export interface WalkResult {
  /** Raw values of the wanted top-level elements that were found. */
  values: Map<number, Buffer>;
  /** Offset just after the last element walked. */
  end: number;
  /** Number of top-level elements walked. */
  elements: number;
  /** True if the walk stopped at `stopAfterTag` rather than at the end of the source. */
  stoppedEarly: boolean;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const SHORT_VRS = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US',
]);
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIM = 0xfffee00d;
const SEQ_DELIM = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const MAX_DEPTH = 32;

interface Header {
  tag: number;
  vr: string | undefined;
  length: number;
  valueOffset: number;
}

class Walker {
  constructor(
    private readonly src: ByteSource,
    private readonly le: boolean,
  ) {}

  private bytes(offset: number, n: number): Buffer {
    const b = this.src.read(offset, n);
    if (b.length < n) throw new DatasetFormatError('dataset truncated inside an element header', offset);
    return b;
  }

  private u16(b: Buffer, o: number): number {
    return this.le ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }

  private u32(b: Buffer, o: number): number {
    return this.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  header(offset: number, explicit: boolean): Header {
    const t = this.bytes(offset, 8);
    const tag = ((this.u16(t, 0) << 16) | this.u16(t, 2)) >>> 0;
    // Item and delimitation tags never carry a VR, in any transfer syntax.
    if ((tag >>> 16) === 0xfffe || !explicit) {
      return { tag, vr: undefined, length: this.u32(t, 4), valueOffset: offset + 8 };
    }
    const vr = t.toString('latin1', 4, 6);
    if (LONG_VRS.has(vr)) {
      const l = this.bytes(offset + 8, 4);
      return { tag, vr, length: this.u32(l, 0), valueOffset: offset + 12 };
    }
    if (SHORT_VRS.has(vr)) return { tag, vr, length: this.u16(t, 6), valueOffset: offset + 8 };
    throw new DatasetFormatError(`invalid VR in element header`, offset);
  }

  /** Walks one element starting at `offset`; returns the offset after it. */
  element(h: Header, depth: number, explicit: boolean): number {
    if (h.length !== UNDEFINED) {
      const end = h.valueOffset + h.length;
      if (end > this.src.length) throw new DatasetFormatError('element value runs past the end of the dataset', h.valueOffset);
      return end;
    }
    if (depth > MAX_DEPTH) throw new DatasetFormatError('sequences nested too deeply', h.valueOffset);
    if (h.tag === PIXEL_DATA) return this.fragments(h.valueOffset);
    if (h.vr === undefined || h.vr === 'SQ' || h.vr === 'UN') {
      // An undefined-length UN is an implicit-VR little-endian sequence (PS3.5 6.2.2).
      const nestedExplicit = h.vr === 'UN' ? false : explicit;
      return this.sequence(h.valueOffset, depth + 1, nestedExplicit);
    }
    throw new DatasetFormatError('undefined length on a VR that cannot have one', h.valueOffset);
  }

  private sequence(offset: number, depth: number, explicit: boolean): number {
    let o = offset;
    for (;;) {
      const h = this.header(o, explicit);
      if (h.tag === SEQ_DELIM) return h.valueOffset;
      if (h.tag !== ITEM) throw new DatasetFormatError('expected an item in a sequence', o);
      if (h.length === UNDEFINED) {
        o = this.dataset(h.valueOffset, depth, explicit, ITEM_DELIM);
      } else {
        const end = h.valueOffset + h.length;
        if (end > this.src.length) throw new DatasetFormatError('item runs past the end of the dataset', o);
        // Walk defined-length items too: cheap (headers only) and catches corrupt nesting.
        const reached = this.dataset(h.valueOffset, depth, explicit, undefined, end);
        if (reached !== end) throw new DatasetFormatError('item length does not match its content', o);
        o = end;
      }
    }
  }

  private fragments(offset: number): number {
    let o = offset;
    for (;;) {
      const h = this.header(o, false);
      if (h.tag === SEQ_DELIM) return h.valueOffset;
      if (h.tag !== ITEM || h.length === UNDEFINED) throw new DatasetFormatError('bad encapsulated pixel data fragment', o);
      o = h.valueOffset + h.length;
      if (o > this.src.length) throw new DatasetFormatError('pixel data fragment runs past the end', h.valueOffset);
    }
  }

  /**
   * Walks elements from `offset` until `limit` (exclusive end) or until the delimiter tag is
   * read; returns the offset after the last element (after the delimiter if one was given).
   */
  dataset(offset: number, depth: number, explicit: boolean, delimiter?: number, limit?: number): number {
    let o = offset;
    const end = limit ?? this.src.length;
    while (o < end) {
      const h = this.header(o, explicit);
      if (delimiter !== undefined && h.tag === delimiter) return h.valueOffset;
      if ((h.tag >>> 16) === 0xfffe) throw new DatasetFormatError('unexpected delimiter in a dataset', o);
      o = this.element(h, depth, explicit);
    }
    if (delimiter !== undefined) throw new DatasetFormatError('item not terminated', o);
    if (o > end) throw new DatasetFormatError('element runs past the end of its item', o);
    return o;
  }
}

/**
 * Walks a dataset (no preamble, no meta header) from `start` to the end of `src`. Throws
 * DatasetFormatError on any structural problem.
 */
export function walkDataset(src: ByteSource, start: number, opts: WalkOptions): WalkResult {
  const w = new Walker(src, opts.littleEndian);
  const wanted = new Set(opts.wanted ?? []);
  const values = new Map<number, Buffer>();
  let o = start;
  let elements = 0;
  let previous = -1;
  while (o < src.length) {
    const h = w.header(o, opts.explicitVr);
    if (opts.stopAfterTag !== undefined && h.tag > opts.stopAfterTag) {
      return { values, end: o, elements, stoppedEarly: true };
    }
    if ((h.tag >>> 16) === 0xfffe) throw new DatasetFormatError('unexpected item or delimiter at top level', o);
    // Trailing padding (FFFC,FFFC) is legal at the end; any other out-of-order tag is a corrupt stream.
    if (h.tag <= previous && h.tag !== 0xfffcfffc) throw new DatasetFormatError('elements out of order', o);
    previous = h.tag;
    const next = w.element(h, 0, opts.explicitVr);
    if (wanted.has(h.tag) && h.length !== UNDEFINED) values.set(h.tag, Buffer.from(src.read(h.valueOffset, h.length)));
    o = next;
    elements++;
  }
  return { values, end: o, elements, stoppedEarly: false };
}

/** Decodes a raw string value (UI, CS, SH, LO, AE...) the way DICOM pads them. */
export function rawString(value: Buffer | undefined): string | undefined {
  if (!value) return undefined;
  return value.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/** Tag number from group and element, e.g. tag(0x0020, 0x000d). */
export const tag = (group: number, element: number) => ((group << 16) | element) >>> 0;
