/**
 * Byte-level reader for DICOM Part-10 files: finds element boundaries without decoding values.
 *
 * The de-identification engine edits the element stream in place of parsing + re-encoding whole
 * datasets (which costs ~4x raw I/O with dcmjs). This module only records where each element, item
 * and value lies in the buffer; values (pixel data above all) are never copied or decoded here.
 *
 * Supported dataset encodings: Explicit VR Little Endian (and every compressed syntax, which uses
 * it), Implicit VR Little Endian, Explicit VR Big Endian (retired, still seen in old archives), and
 * Deflated Explicit VR Little Endian (inflated first by the caller, see engine.ts).
 */
import { inflateRawSync } from 'node:zlib';
import { AppError } from '../errors';
import { formatTag, lookupTag } from './dictionary';

export const UNDEFINED = 0xffffffff;
export const ITEM = 0xfffee000;
export const ITEM_DELIM = 0xfffee00d;
export const SEQ_DELIM = 0xfffee0dd;
export const PIXEL_DATA = 0x7fe00010;

export const TS_IMPLICIT_LE = '1.2.840.10008.1.2';
export const TS_EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const TS_EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const TS_DEFLATED = '1.2.840.10008.1.2.1.99';
/** JPIP Referenced Deflate: also a deflated dataset. */
export const TS_JPIP_DEFLATE = '1.2.840.10008.1.2.4.95';

export interface Syntax {
  explicit: boolean;
  little: boolean;
}
export const EXPLICIT_LE: Syntax = Object.freeze({ explicit: true, little: true });
export const IMPLICIT_LE: Syntax = Object.freeze({ explicit: false, little: true });
export const EXPLICIT_BE: Syntax = Object.freeze({ explicit: true, little: false });

/** VRs with a 2-byte reserved field and a 4-byte length in explicit syntaxes. */
export const LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const KNOWN_VRS: ReadonlySet<string> = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH',
  'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
]);
const MAX_DEPTH = 64;

export interface Item {
  start: number;
  /** Item value length as encoded; UNDEFINED when it ends with an item delimiter. */
  len: number;
  end: number;
  els: El[];
}

export interface El {
  tag: number;
  /** The VR that gives the value its meaning: explicit VR, or the dictionary's for implicit/UN. */
  vr: string;
  /** VR as written in the header (explicit syntaxes), else null. */
  encVr: string | null;
  start: number;
  vstart: number;
  /** Value length as encoded; UNDEFINED for undefined-length sequences and encapsulated pixel data. */
  len: number;
  end: number;
  /** Present for sequences. */
  items?: Item[];
  /** Syntax of the items: differs from the parent's for a UN sequence (CP-246: implicit LE inside). */
  itemSyntax?: Syntax;
}

export interface ParsedFile {
  /** The buffer holding the dataset (the input, or the inflated dataset of a deflated file). */
  buf: Buffer;
  /** Meta group elements (always explicit VR LE), from the input buffer. */
  meta: El[];
  metaBuf: Buffer;
  transferSyntaxUid: string;
  syntax: Syntax;
  deflated: boolean;
  els: El[];
}

export function malformed(message: string): AppError {
  return new AppError('BAD_REQUEST', `Malformed DICOM: ${message}`);
}

function u16(buf: Buffer, off: number, little: boolean): number {
  return little ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
}
function u32(buf: Buffer, off: number, little: boolean): number {
  return little ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
}
export function readTag(buf: Buffer, off: number, little: boolean): number {
  return ((u16(buf, off, little) << 16) | u16(buf, off + 2, little)) >>> 0;
}

/** Text of a value as stored, trailing padding (space, NUL) removed; latin1 keeps bytes 1:1. */
export function valueString(buf: Buffer, el: El): string {
  if (el.len === UNDEFINED || el.len === 0) return '';
  let end = el.vstart + el.len;
  while (end > el.vstart && (buf[end - 1] === 0x20 || buf[end - 1] === 0x00)) end--;
  return buf.toString('latin1', el.vstart, end);
}

/**
 * Parses elements from `pos` up to `end` (or up to an item delimiter when `inUndefinedItem`).
 * Returns the elements and the offset just after the last byte consumed.
 */
export function parseElements(
  buf: Buffer,
  pos: number,
  end: number,
  syntax: Syntax,
  inUndefinedItem: boolean,
  depth: number,
  topLevel = false,
): { els: El[]; end: number } {
  if (depth > MAX_DEPTH) throw malformed('sequences nested too deeply');
  const els: El[] = [];
  const little = syntax.little;
  while (pos < end) {
    if (end - pos < 8) {
      // Trailing padding shorter than a header after the top-level dataset is tolerated.
      if (topLevel && !inUndefinedItem) return { els, end };
      throw malformed(`truncated element header at offset ${pos}`);
    }
    const tag = readTag(buf, pos, little);
    if (tag === ITEM_DELIM) {
      if (inUndefinedItem) return { els, end: pos + 8 };
      throw malformed(`unexpected item delimiter at offset ${pos}`);
    }
    if (tag === SEQ_DELIM || tag === ITEM) {
      throw malformed(`unexpected ${tag === ITEM ? 'item' : 'sequence delimiter'} at offset ${pos}`);
    }
    const el = parseElement(buf, pos, end, syntax, tag, depth);
    els.push(el);
    pos = el.end;
  }
  if (inUndefinedItem) throw malformed('item without delimiter');
  return { els, end: pos };
}

function parseElement(buf: Buffer, pos: number, limit: number, syntax: Syntax, tag: number, depth: number): El {
  const little = syntax.little;
  let encVr: string | null = null;
  let vr: string;
  let len: number;
  let vstart: number;
  if (syntax.explicit) {
    encVr = String.fromCharCode(buf[pos + 4], buf[pos + 5]);
    if (!KNOWN_VRS.has(encVr)) throw malformed(`element ${formatTag(tag)} has an invalid VR at offset ${pos}`);
    if (LONG_VRS.has(encVr)) {
      if (limit - pos < 12) throw malformed(`truncated element header at offset ${pos}`);
      len = u32(buf, pos + 8, little);
      vstart = pos + 12;
    } else {
      len = u16(buf, pos + 6, little);
      vstart = pos + 8;
    }
    vr = encVr;
    if (vr === 'UN' && (tag >>> 16) % 2 === 0) {
      const known = lookupTag(tag)?.vr;
      if (known && known !== 'NA') vr = known;
    }
  } else {
    len = u32(buf, pos + 4, little);
    vstart = pos + 8;
    const known = (tag >>> 16) % 2 === 0 ? lookupTag(tag)?.vr : undefined;
    vr = known && known !== 'NA' ? known : 'UN';
  }

  const el: El = { tag, vr, encVr, start: pos, vstart, len, end: 0 };
  const isSequence = vr === 'SQ' || (len === UNDEFINED && tag !== PIXEL_DATA && (vr === 'UN' || !syntax.explicit));
  if (isSequence) {
    el.vr = 'SQ';
    // CP-246: a sequence sent as UN is encoded Implicit VR Little Endian inside.
    el.itemSyntax = encVr === 'UN' ? IMPLICIT_LE : syntax;
    const parsed = parseItems(buf, vstart, len, limit, el.itemSyntax, tag, depth);
    el.items = parsed.items;
    el.end = parsed.end;
    return el;
  }
  if (len === UNDEFINED) {
    el.end = skipFragments(buf, vstart, limit, little, tag);
    return el;
  }
  if (vstart + len > limit) throw malformed(`element ${formatTag(tag)} is longer than its container (offset ${pos})`);
  el.end = vstart + len;
  return el;
}

function parseItems(
  buf: Buffer,
  pos: number,
  len: number,
  limit: number,
  syntax: Syntax,
  tag: number,
  depth: number,
): { items: Item[]; end: number } {
  const items: Item[] = [];
  const little = syntax.little;
  const end = len === UNDEFINED ? limit : pos + len;
  if (end > limit) throw malformed(`sequence ${formatTag(tag)} is longer than its container`);
  while (true) {
    if (pos >= end) {
      if (len === UNDEFINED) throw malformed(`sequence ${formatTag(tag)} has no delimiter`);
      return { items, end };
    }
    if (end - pos < 8) throw malformed(`truncated item in sequence ${formatTag(tag)}`);
    const itemTag = readTag(buf, pos, little);
    const itemLen = u32(buf, pos + 4, little);
    if (itemTag === SEQ_DELIM) {
      // Tolerated inside a defined-length sequence too (some writers add one).
      if (len === UNDEFINED) return { items, end: pos + 8 };
      pos += 8;
      continue;
    }
    if (itemTag !== ITEM) throw malformed(`sequence ${formatTag(tag)} holds ${formatTag(itemTag)} where an item belongs`);
    const istart = pos;
    if (itemLen === UNDEFINED) {
      const parsed = parseElements(buf, pos + 8, end, syntax, true, depth + 1);
      items.push({ start: istart, len: itemLen, end: parsed.end, els: parsed.els });
      pos = parsed.end;
    } else {
      const iend = pos + 8 + itemLen;
      if (iend > end) throw malformed(`item in sequence ${formatTag(tag)} is longer than the sequence`);
      const parsed = parseElements(buf, pos + 8, iend, syntax, false, depth + 1);
      items.push({ start: istart, len: itemLen, end: iend, els: parsed.els });
      pos = iend;
    }
  }
}

/** Encapsulated pixel data: fragments (items) up to a sequence delimiter; returns the end offset. */
function skipFragments(buf: Buffer, pos: number, limit: number, little: boolean, tag: number): number {
  while (true) {
    if (limit - pos < 8) throw malformed(`encapsulated ${formatTag(tag)} has no delimiter`);
    const t = readTag(buf, pos, little);
    const l = u32(buf, pos + 4, little);
    if (t === SEQ_DELIM) return pos + 8;
    if (t !== ITEM || l === UNDEFINED) throw malformed(`encapsulated ${formatTag(tag)} holds an invalid fragment`);
    pos += 8 + l;
    if (pos > limit) throw malformed(`fragment of ${formatTag(tag)} runs past the end of the file`);
  }
}

/**
 * Meta group and the top-level elements that lie wholly inside `head` (the first bytes of a file):
 * stops at the first element that runs past the end. For reading a few early attributes without
 * assembling a whole file. Deflated files give no elements (the dataset must be inflated whole).
 */
export function parseHead(head: Buffer): { meta: El[]; els: El[]; syntax: Syntax; transferSyntaxUid: string } {
  if (head.length < 132 || head.toString('latin1', 128, 132) !== 'DICM') throw malformed('not a DICOM Part-10 file (no DICM prefix)');
  let pos = 132;
  const meta: El[] = [];
  while (pos + 8 <= head.length && head.readUInt16LE(pos) === 0x0002) {
    const el = parseElement(head, pos, head.length, EXPLICIT_LE, readTag(head, pos, true), 0);
    meta.push(el);
    pos = el.end;
  }
  const tsEl = meta.find((e) => e.tag === 0x00020010);
  const transferSyntaxUid = tsEl ? valueString(head, tsEl).trim() : '';
  const syntax = transferSyntaxUid === TS_IMPLICIT_LE ? IMPLICIT_LE : transferSyntaxUid === TS_EXPLICIT_BE ? EXPLICIT_BE : EXPLICIT_LE;
  const els: El[] = [];
  if (transferSyntaxUid === TS_DEFLATED || transferSyntaxUid === TS_JPIP_DEFLATE) return { meta, els, syntax, transferSyntaxUid };
  while (pos + 8 <= head.length) {
    let el: El;
    try {
      el = parseElement(head, pos, head.length, syntax, readTag(head, pos, syntax.little), 0);
    } catch {
      break; // runs past the head
    }
    els.push(el);
    pos = el.end;
  }
  return { meta, els, syntax, transferSyntaxUid };
}

/** Reads preamble, meta group and dataset structure of a Part-10 file. */
export function parsePart10(input: Buffer): ParsedFile {
  try {
    return parsePart10Unchecked(input);
  } catch (e) {
    // Reads past the end of a lying length field surface as RangeError: same meaning, clearer text.
    if (e instanceof RangeError) throw malformed('truncated or inconsistent lengths');
    throw e;
  }
}

function parsePart10Unchecked(input: Buffer): ParsedFile {
  if (input.length < 132 || input.toString('latin1', 128, 132) !== 'DICM') {
    throw malformed('not a DICOM Part-10 file (no DICM prefix)');
  }
  // The meta group is always Explicit VR Little Endian; it ends where group 0002 ends.
  let pos = 132;
  const meta: El[] = [];
  while (pos + 8 <= input.length && input.readUInt16LE(pos) === 0x0002) {
    const tag = readTag(input, pos, true);
    const el = parseElement(input, pos, input.length, EXPLICIT_LE, tag, 0);
    meta.push(el);
    pos = el.end;
  }
  const tsEl = meta.find((e) => e.tag === 0x00020010);
  if (!tsEl) throw malformed('file meta information has no Transfer Syntax UID (0002,0010)');
  const transferSyntaxUid = valueString(input, tsEl).trim();
  let syntax: Syntax = EXPLICIT_LE;
  if (transferSyntaxUid === TS_IMPLICIT_LE) syntax = IMPLICIT_LE;
  else if (transferSyntaxUid === TS_EXPLICIT_BE) syntax = EXPLICIT_BE;
  const deflated = transferSyntaxUid === TS_DEFLATED || transferSyntaxUid === TS_JPIP_DEFLATE;

  let buf = input;
  let start = pos;
  if (deflated) {
    try {
      buf = inflateRawSync(input.subarray(pos));
    } catch {
      throw malformed('deflated dataset could not be inflated');
    }
    start = 0;
  }
  const { els } = parseElements(buf, start, buf.length, syntax, false, 0, true);
  return { buf, meta, metaBuf: input, transferSyntaxUid, syntax, deflated, els };
}
