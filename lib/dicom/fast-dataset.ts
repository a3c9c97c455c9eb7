/**
 * A fast path for the small flat datasets of DIMSE traffic: command sets, C-FIND identifiers and
 * their responses. dcmjs-dimse encodes and decodes every one of them through dcmjs's generic
 * reader and writer, which allocate class-heavy buffer streams per message: ~3 ms of CPU per
 * C-FIND, five times DCMTK's cost, and the limit of a 1,000-row spreadsheet query.
 *
 * This codec handles only what such datasets contain — little-endian, no sequences, standard
 * tags of string and numeric VRs, ASCII / ISO_IR 100 / ISO_IR 192 text — and produces exactly
 * what dcmjs produces (naturalized element shapes, SpecificCharacterSet reported as ISO_IR 192
 * after decoding, even-length padding). Anything else returns null and the caller falls back to
 * dcmjs. tests/unit/dicom/fast-dataset.test.ts checks the two agree.
 */
import { lookupTag, tagForKeyword } from '../anonymize/dictionary';

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DT', 'LO', 'SH', 'TM', 'UI', 'UC']);
/** VRs whose bytes follow SpecificCharacterSet; the others are ASCII by definition. */
const CHARSET_VRS = new Set(['LO', 'SH', 'UC', 'PN', 'LT', 'ST', 'UT']);
const TEXT_VRS = new Set(['LT', 'ST', 'UT']);
const NUMBER_STRING_VRS = new Set(['IS', 'DS']);
const BINARY_NUMBER: Record<string, { size: number; read: (b: Buffer, o: number) => number; write: (b: Buffer, v: number, o: number) => void }> = {
  US: { size: 2, read: (b, o) => b.readUInt16LE(o), write: (b, v, o) => void b.writeUInt16LE(v, o) },
  SS: { size: 2, read: (b, o) => b.readInt16LE(o), write: (b, v, o) => void b.writeInt16LE(v, o) },
  UL: { size: 4, read: (b, o) => b.readUInt32LE(o), write: (b, v, o) => void b.writeUInt32LE(v, o) },
  SL: { size: 4, read: (b, o) => b.readInt32LE(o), write: (b, v, o) => void b.writeInt32LE(v, o) },
  FL: { size: 4, read: (b, o) => b.readFloatLE(o), write: (b, v, o) => void b.writeFloatLE(v, o) },
  FD: { size: 8, read: (b, o) => b.readDoubleLE(o), write: (b, v, o) => void b.writeDoubleLE(v, o) },
};
const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

type Encoding = 'latin1' | 'utf8';

function charsetEncoding(value: unknown): Encoding | null {
  const terms = (Array.isArray(value) ? value : [value]).map((v) => String(v ?? '').trim()).filter(Boolean);
  if (terms.length === 0 || (terms.length === 1 && terms[0] === 'ISO_IR 6')) return 'latin1';
  if (terms.length === 1 && terms[0] === 'ISO_IR 100') return 'latin1';
  if (terms.length === 1 && terms[0] === 'ISO_IR 192') return 'utf8';
  return null;
}

function isSupportedVr(vr: string): boolean {
  return STRING_VRS.has(vr) || TEXT_VRS.has(vr) || NUMBER_STRING_VRS.has(vr) || vr === 'PN' || vr in BINARY_NUMBER;
}

function unwrap(values: unknown[]): unknown {
  return values.length === 1 ? values[0] : values;
}

/** Decodes a flat little-endian dataset into dcmjs's naturalized form; null when unsure. */
export function fastDecode(buf: Buffer, transferSyntaxUid: string): Record<string, unknown> | null {
  if (transferSyntaxUid !== IMPLICIT_LE && transferSyntaxUid !== EXPLICIT_LE) return null;
  const explicit = transferSyntaxUid === EXPLICIT_LE;
  const raw: { keyword: string; vr: string; start: number; end: number }[] = [];
  let enc: Encoding = 'latin1';
  let off = 0;
  while (off < buf.length) {
    if (off + 8 > buf.length) return null;
    const group = buf.readUInt16LE(off);
    const element = buf.readUInt16LE(off + 2);
    const tag = ((group << 16) | element) >>> 0;
    if (group & 1) return null;
    const entry = lookupTag(tag);
    if (!entry) return null;
    let vr: string;
    let len: number;
    if (explicit) {
      vr = buf.toString('latin1', off + 4, off + 6);
      if (LONG_LENGTH_VRS.has(vr)) {
        if (off + 12 > buf.length) return null;
        len = buf.readUInt32LE(off + 8);
        off += 12;
      } else {
        len = buf.readUInt16LE(off + 6);
        off += 8;
      }
    } else {
      vr = entry.vr;
      len = buf.readUInt32LE(off + 4);
      off += 8;
    }
    if (len === 0xffffffff || off + len > buf.length || !isSupportedVr(vr)) return null;
    if (tag === 0x00080005) {
      const e = charsetEncoding(buf.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').split('\\'));
      if (!e) return null;
      enc = e;
    }
    raw.push({ keyword: entry.keyword, vr, start: off, end: off + len });
    off += len;
  }
  const out: Record<string, unknown> = { _vrMap: {} };
  for (const r of raw) {
    if (r.vr in BINARY_NUMBER) {
      const n = BINARY_NUMBER[r.vr];
      if ((r.end - r.start) % n.size) return null;
      const vals: number[] = [];
      for (let o = r.start; o < r.end; o += n.size) vals.push(n.read(buf, o));
      out[r.keyword] = vals.length === 0 ? [] : unwrap(vals);
      continue;
    }
    const str = buf.toString(CHARSET_VRS.has(r.vr) ? enc : 'latin1', r.start, r.end);
    // dcmjs 0.50's reader, rule by rule: LT/ST/UT and TM lose trailing spaces; DA, DT and AS are
    // kept as they are; UI loses trailing NULs; the rest is trimmed. PN: dcmjs is inconsistent
    // about trailing padding (it depends on the character set path); we drop it always — every
    // consumer trims names anyway.
    if (TEXT_VRS.has(r.vr)) {
      out[r.keyword] = str.replace(/[\0 ]+$/, '');
      continue;
    }
    if (r.vr === 'PN') {
      const whole = str.replace(/[ \0]+$/, '');
      const names = whole.split('\\').map((p) => {
        const [Alphabetic, Ideographic, Phonetic] = p.split('=');
        const o: Record<string, string> = { Alphabetic };
        if (Ideographic !== undefined) o.Ideographic = Ideographic;
        if (Phonetic !== undefined) o.Phonetic = Phonetic;
        return o;
      });
      out[r.keyword] = str.length === 0 ? [] : names;
      continue;
    }
    const parts = str.split('\\').map((p) => {
      if (r.vr === 'UI') return p.replace(/\0+$/, '');
      if (r.vr === 'DA' || r.vr === 'DT' || r.vr === 'AS') return p;
      if (r.vr === 'TM') return p.replace(/[ \0]+$/, '');
      return p.trim();
    });
    if (NUMBER_STRING_VRS.has(r.vr)) {
      if (str.trim() === '') {
        out[r.keyword] = null;
        continue;
      }
      const nums = parts.map((p) => Number(p));
      if (nums.some((n) => !Number.isFinite(n))) return null;
      out[r.keyword] = unwrap(nums);
      continue;
    }
    out[r.keyword] = str.length === 0 ? '' : unwrap(parts);
  }
  if ('SpecificCharacterSet' in out) out.SpecificCharacterSet = 'ISO_IR 192';
  return out;
}

interface Encoded {
  tag: number;
  vr: string;
  value: Buffer;
}

function pad(value: Buffer, vr: string): Buffer {
  if (value.length % 2 === 0) return value;
  return Buffer.concat([value, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
}

function encodeValue(vr: string, v: unknown, enc: Encoding): Buffer | null {
  const values = Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v];
  if (vr in BINARY_NUMBER) {
    const n = BINARY_NUMBER[vr];
    const b = Buffer.alloc(n.size * values.length);
    for (let i = 0; i < values.length; i++) {
      if (typeof values[i] !== 'number') return null;
      n.write(b, values[i] as number, i * n.size);
    }
    return b;
  }
  const strings: string[] = [];
  for (const x of values) {
    if (typeof x === 'string' || typeof x === 'number') strings.push(String(x));
    else if (vr === 'PN' && x && typeof x === 'object') {
      const pn = x as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
      strings.push([pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''].join('=').replace(/=+$/, ''));
    } else return null;
  }
  const text = strings.join('\\');
  const isText = CHARSET_VRS.has(vr);
  // Code strings, dates, UIDs and numbers are plain ASCII; free text follows the character set.
  // eslint-disable-next-line no-control-regex
  if (!isText && /[^\x00-\x7f]/.test(text)) return null;
  if (enc === 'latin1' && /[^\x00-\xff]/.test(text)) return null;
  return pad(Buffer.from(text, isText ? enc : 'latin1'), vr);
}

function encodeElements(elements: Record<string, unknown>): Encoded[] | null {
  const enc = charsetEncoding(elements.SpecificCharacterSet);
  if (!enc) return null;
  const out: Encoded[] = [];
  for (const [keyword, value] of Object.entries(elements)) {
    if (keyword === '_vrMap' || keyword === '_meta') continue;
    const tag = tagForKeyword(keyword);
    if (tag === undefined) return null;
    const entry = lookupTag(tag);
    if (!entry || !isSupportedVr(entry.vr) || entry.keyword !== keyword) return null;
    const v = encodeValue(entry.vr, value, enc);
    if (!v) return null;
    out.push({ tag, vr: entry.vr, value: v });
  }
  return out.sort((a, b) => a.tag - b.tag);
}

function writeElements(items: Encoded[], explicit: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const it of items) {
    const long = explicit && LONG_LENGTH_VRS.has(it.vr);
    const head = Buffer.alloc(explicit ? (long ? 12 : 8) : 8);
    head.writeUInt16LE(it.tag >>> 16, 0);
    head.writeUInt16LE(it.tag & 0xffff, 2);
    if (!explicit) head.writeUInt32LE(it.value.length, 4);
    else {
      head.write(it.vr, 4, 'latin1');
      if (long) head.writeUInt32LE(it.value.length, 8);
      else head.writeUInt16LE(it.value.length, 6);
    }
    parts.push(head, it.value);
  }
  return Buffer.concat(parts);
}

/** Encodes a naturalized flat dataset as dcmjs would; null when it holds anything unusual. */
export function fastEncode(elements: Record<string, unknown>, transferSyntaxUid: string): Buffer | null {
  if (transferSyntaxUid !== IMPLICIT_LE && transferSyntaxUid !== EXPLICIT_LE) return null;
  const items = encodeElements(elements);
  return items ? writeElements(items, transferSyntaxUid === EXPLICIT_LE) : null;
}

/** A command set (group 0000, implicit VR LE) with its CommandGroupLength first. */
export function fastEncodeCommand(elements: Record<string, unknown>): Buffer | null {
  const { CommandGroupLength: _ignored, ...rest } = elements;
  const items = encodeElements(rest);
  if (!items || items.some((i) => i.tag >>> 16 !== 0)) return null;
  const body = writeElements(items, false);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(0x00000000, 0);
  head.writeUInt32LE(4, 4);
  head.writeUInt32LE(body.length, 8);
  return Buffer.concat([head, body]);
}
