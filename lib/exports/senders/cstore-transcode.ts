/**
 * The C-STORE sender's own conversion between the two uncompressed little-endian syntaxes, on
 * dataset bytes (no Part-10 meta header: C-STORE carries none). Used when the destination accepted
 * the instance's SOP class only with the other uncompressed syntax (e.g. a storescp that takes
 * Implicit VR Little Endian only). Lossless: values are copied byte for byte, only the element
 * headers change; sequences and items are rewritten with defined lengths; group lengths
 * (gggg,0000), which the rewrite would make wrong, are dropped (they are retired in datasets).
 *
 * Implicit → Explicit needs each element's VR: the standard dictionary (lib/anonymize/dictionary),
 * private creators as LO, anything else unknown as UN. Anything else (compressed, big endian,
 * deflated) is refused with a reason: decompression is lib/exports/transcode.ts's business
 * (the STOW-RS side's shared converter); the lead may route compressed instances through it.
 */
import { lookupTag } from '../../anonymize/dictionary';
import { TransferSyntax } from '../../dicom/uids';

const EXPLICIT = TransferSyntax.ExplicitVRLittleEndian;
const IMPLICIT = TransferSyntax.ImplicitVRLittleEndian;
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQ_END = 0xfffee0dd;
/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

class Refused extends Error {}

interface Element {
  tag: number;
  vr?: string;
  /** Value bytes (not for sequences). */
  value?: Buffer;
  /** Items of a sequence, each a list of elements. */
  items?: Element[][];
}

function readTag(buf: Buffer, at: number): number {
  return ((buf.readUInt16LE(at) << 16) | buf.readUInt16LE(at + 2)) >>> 0;
}

/** Parses a dataset (or an item's content) in the given little-endian encoding. */
function parse(buf: Buffer, explicit: boolean, start = 0, end = buf.length, untilSeqEnd = false): { elements: Element[]; next: number } {
  const out: Element[] = [];
  let at = start;
  while (at < end) {
    if (at + 8 > end) throw new Refused('truncated element header');
    const tag = readTag(buf, at);
    if (tag === ITEM_END) return { elements: out, next: at + 8 };
    if (tag === SEQ_END && untilSeqEnd) return { elements: out, next: at + 8 };
    let vr: string | undefined;
    let length: number;
    if (explicit) {
      vr = buf.toString('latin1', at + 4, at + 6);
      if (!/^[A-Z]{2}$/.test(vr)) throw new Refused('invalid VR');
      if (LONG_VRS.has(vr)) {
        length = buf.readUInt32LE(at + 8);
        at += 12;
      } else {
        length = buf.readUInt16LE(at + 6);
        at += 8;
      }
    } else {
      length = buf.readUInt32LE(at + 4);
      at += 8;
      const known = lookupTag(tag);
      vr = known?.vr;
    }
    const isSeq = vr === 'SQ' || (!explicit && length === UNDEFINED);
    if (isSeq) {
      const items: Element[][] = [];
      const seqEnd = length === UNDEFINED ? end : at + length;
      while (at < seqEnd) {
        if (at + 8 > end) throw new Refused('truncated item');
        const t = readTag(buf, at);
        if (t === SEQ_END) {
          at += 8;
          break;
        }
        if (t !== ITEM) throw new Refused('malformed sequence');
        const itemLength = buf.readUInt32LE(at + 4);
        at += 8;
        if (itemLength === UNDEFINED) {
          const r = parse(buf, explicit, at, end);
          items.push(r.elements);
          at = r.next;
        } else {
          items.push(parse(buf, explicit, at, at + itemLength).elements);
          at += itemLength;
        }
      }
      out.push({ tag, vr: 'SQ', items });
      continue;
    }
    if (length === UNDEFINED) throw new Refused('encapsulated or undefined-length value (compressed data?)');
    if (at + length > end) throw new Refused('value runs past the end of the dataset');
    out.push({ tag, vr, value: buf.subarray(at, at + length) });
    at += length;
  }
  return { elements: out, next: at };
}

function vrFor(e: Element): string {
  if (e.vr && e.vr !== 'NA') return e.vr;
  const group = e.tag >>> 16;
  const elem = e.tag & 0xffff;
  if (group & 1 && elem >= 0x0010 && elem <= 0x00ff) return 'LO'; // private creator
  return 'UN';
}

function header(tag: number, length: number, explicitVr?: string): Buffer {
  if (!explicitVr) {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(tag >>> 16, 0);
    b.writeUInt16LE(tag & 0xffff, 2);
    b.writeUInt32LE(length, 4);
    return b;
  }
  let vr = explicitVr;
  if (!LONG_VRS.has(vr) && length > 0xffff) vr = 'UN';
  if (LONG_VRS.has(vr)) {
    const b = Buffer.alloc(12);
    b.writeUInt16LE(tag >>> 16, 0);
    b.writeUInt16LE(tag & 0xffff, 2);
    b.write(vr, 4, 'latin1');
    b.writeUInt32LE(length, 8);
    return b;
  }
  const b = Buffer.alloc(8);
  b.writeUInt16LE(tag >>> 16, 0);
  b.writeUInt16LE(tag & 0xffff, 2);
  b.write(vr, 4, 'latin1');
  b.writeUInt16LE(length, 6);
  return b;
}

function write(elements: Element[], explicit: boolean): Buffer[] {
  const parts: Buffer[] = [];
  for (const e of elements) {
    if ((e.tag & 0xffff) === 0x0000) continue; // group length: would be wrong after the rewrite
    if (e.items) {
      const body: Buffer[] = [];
      for (const item of e.items) {
        const content = Buffer.concat(write(item, explicit));
        body.push(header(ITEM, content.length), content);
      }
      const seq = Buffer.concat(body);
      parts.push(header(e.tag, seq.length, explicit ? 'SQ' : undefined), seq);
      continue;
    }
    const value = e.value ?? Buffer.alloc(0);
    parts.push(header(e.tag, value.length, explicit ? vrFor(e) : undefined), value);
  }
  return parts;
}

/** Whether this converter handles `from` → `to`. */
export function canTranscode(from: string, to: string): boolean {
  return from === to || ((from === EXPLICIT || from === IMPLICIT) && (to === EXPLICIT || to === IMPLICIT));
}

/**
 * Dataset bytes (no meta header) re-encoded from `fromTs` to `toTs`, or the reason it cannot be
 * done (a sentence for the export page, no values from the dataset).
 */
export function transcodeDataset(dataset: Buffer, fromTs: string, toTs: string): Buffer | { refused: string } {
  if (fromTs === toTs) return dataset;
  if (!canTranscode(fromTs, toTs)) return { refused: `stored as ${fromTs}, which the destination did not accept, and the C-STORE exporter converts only between Explicit and Implicit VR Little Endian` };
  try {
    const { elements } = parse(dataset, fromTs === EXPLICIT);
    return Buffer.concat(write(elements, toTs === EXPLICIT));
  } catch (e) {
    if (e instanceof Refused || e instanceof RangeError) return { refused: `cannot convert the stored dataset to ${toTs}: ${e instanceof Refused ? e.message : 'malformed dataset'}` };
    throw e;
  }
}
