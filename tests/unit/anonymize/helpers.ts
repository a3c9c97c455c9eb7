/**
 * A tiny, independent DICOM writer for the anonymizer tests: written separately from the engine's
 * encoder so the tests do not check the engine against itself. Supports explicit/implicit VR LE,
 * explicit VR BE, deflated, defined/undefined-length sequences and items, encapsulated pixel data.
 */
import { deflateRawSync } from 'node:zlib';

export interface TElem {
  tag: number;
  vr: string;
  /** string for text VRs, Buffer for binary/numeric, items for SQ. */
  value?: string | Buffer | TElem[][];
  undefinedLength?: boolean;
  itemsUndefined?: boolean;
  /** Encapsulated pixel data fragments (basic offset table first). */
  fragments?: Buffer[];
}

export const TS = {
  implicit: '1.2.840.10008.1.2',
  explicit: '1.2.840.10008.1.2.1',
  bigEndian: '1.2.840.10008.1.2.2',
  deflated: '1.2.840.10008.1.2.1.99',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
} as const;

const LONG = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

interface Enc {
  explicit: boolean;
  little: boolean;
}

function u16(n: number, little: boolean): Buffer {
  const b = Buffer.alloc(2);
  if (little) b.writeUInt16LE(n);
  else b.writeUInt16BE(n);
  return b;
}
function u32(n: number, little: boolean): Buffer {
  const b = Buffer.alloc(4);
  if (little) b.writeUInt32LE(n >>> 0);
  else b.writeUInt32BE(n >>> 0);
  return b;
}
function tagBytes(tag: number, little: boolean): Buffer {
  return Buffer.concat([u16(tag >>> 16, little), u16(tag & 0xffff, little)]);
}

function textValue(v: string, vr: string): Buffer {
  const b = Buffer.from(v, 'latin1');
  return b.length % 2 ? Buffer.concat([b, Buffer.from([vr === 'UI' ? 0 : 0x20])]) : b;
}

function encodeElem(e: TElem, enc: Enc): Buffer {
  const { little } = enc;
  const head = (len: number) => {
    if (!enc.explicit) return Buffer.concat([tagBytes(e.tag, little), u32(len, little)]);
    if (LONG.has(e.vr)) return Buffer.concat([tagBytes(e.tag, little), Buffer.from(e.vr, 'latin1'), Buffer.alloc(2), u32(len, little)]);
    return Buffer.concat([tagBytes(e.tag, little), Buffer.from(e.vr, 'latin1'), u16(len, little)]);
  };
  if (e.fragments) {
    const frags = e.fragments.map((f) => Buffer.concat([tagBytes(0xfffee000, little), u32(f.length, little), f]));
    return Buffer.concat([head(0xffffffff), ...frags, tagBytes(0xfffee0dd, little), u32(0, little)]);
  }
  if (e.vr === 'SQ') {
    const items = (e.value as TElem[][] | undefined) ?? [];
    const itemBufs = items.map((els) => {
      const body = encodeDataset(els, enc);
      return e.itemsUndefined
        ? Buffer.concat([tagBytes(0xfffee000, little), u32(0xffffffff, little), body, tagBytes(0xfffee00d, little), u32(0, little)])
        : Buffer.concat([tagBytes(0xfffee000, little), u32(body.length, little), body]);
    });
    const content = Buffer.concat(itemBufs);
    if (e.undefinedLength) return Buffer.concat([head(0xffffffff), content, tagBytes(0xfffee0dd, little), u32(0, little)]);
    return Buffer.concat([head(content.length), content]);
  }
  let value: Buffer;
  if (e.value === undefined) value = Buffer.alloc(0);
  else if (typeof e.value === 'string') value = textValue(e.value, e.vr);
  else value = e.value as Buffer;
  if (value.length % 2) value = Buffer.concat([value, Buffer.alloc(1)]);
  return Buffer.concat([head(value.length), value]);
}

export function encodeDataset(els: TElem[], enc: Enc): Buffer {
  const sorted = [...els].sort((a, b) => a.tag - b.tag);
  return Buffer.concat(sorted.map((e) => encodeElem(e, enc)));
}

export function buildPart10(els: TElem[], opts: { ts?: string } = {}): Buffer {
  const ts = opts.ts ?? TS.explicit;
  const sopClass = (els.find((e) => e.tag === 0x00080016)?.value as string | undefined) ?? '1.2.840.10008.5.1.4.1.1.2';
  const sop = (els.find((e) => e.tag === 0x00080018)?.value as string | undefined) ?? '1.2.3.4';
  const metaEls: TElem[] = [
    { tag: 0x00020001, vr: 'OB', value: Buffer.from([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: sopClass },
    { tag: 0x00020003, vr: 'UI', value: sop },
    { tag: 0x00020010, vr: 'UI', value: ts },
    { tag: 0x00020012, vr: 'UI', value: '1.2.3.999' },
    { tag: 0x00020013, vr: 'SH', value: 'TESTWRITER' },
    { tag: 0x00020016, vr: 'AE', value: 'SENDER_AE' },
  ];
  const metaBody = encodeDataset(metaEls, { explicit: true, little: true });
  const meta = Buffer.concat([encodeElem({ tag: 0x00020000, vr: 'UL', value: u32(metaBody.length, true) }, { explicit: true, little: true }), metaBody]);
  const enc: Enc = ts === TS.implicit ? { explicit: false, little: true } : ts === TS.bigEndian ? { explicit: true, little: false } : { explicit: true, little: true };
  let body = encodeDataset(els, enc);
  if (ts === TS.deflated) body = deflateRawSync(body);
  const preamble = Buffer.alloc(132);
  preamble.write('DICM', 128, 'latin1');
  return Buffer.concat([preamble, meta, body]);
}

export function us(n: number, little = true): Buffer {
  return u16(n, little);
}

export const SECRET = 'test-pool-secret-0123456789abcdef';
export const IDENTITY = { researchId: 'RID0001', researchName: 'RESEARCH^0001', dateOffsetDays: -10 };

/** Pixel bytes with a recognisable pattern. */
export function pixels(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** A small CT-like instance with typical PHI. `extra` elements are added or replace by tag. */
export function ctInstance(extra: TElem[] = [], opts: { rows?: number; uids?: { study?: string; series?: string; sop?: string } } = {}): TElem[] {
  const rows = opts.rows ?? 8;
  const base: TElem[] = [
    { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 100' },
    { tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\AXIAL' },
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: 0x00080018, vr: 'UI', value: opts.uids?.sop ?? '1.2.826.0.1.3680043.2.1125.1.1' },
    { tag: 0x00080020, vr: 'DA', value: '20200115' },
    { tag: 0x00080030, vr: 'TM', value: '103000' },
    { tag: 0x00080050, vr: 'SH', value: 'ACC12345' },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x00080070, vr: 'LO', value: 'ACME Medical' },
    { tag: 0x00080080, vr: 'LO', value: 'St Elsewhere Hospital' },
    { tag: 0x00080090, vr: 'PN', value: 'Referrer^Rita' },
    { tag: 0x00081030, vr: 'LO', value: 'CT CHEST for DOE JOHN' },
    { tag: 0x0008103e, vr: 'LO', value: 'AXIAL 5mm' },
    { tag: 0x00100010, vr: 'PN', value: 'Doe^John' },
    { tag: 0x00100020, vr: 'LO', value: 'MRN998877' },
    { tag: 0x00100030, vr: 'DA', value: '19600302' },
    { tag: 0x00100040, vr: 'CS', value: 'M' },
    { tag: 0x00101010, vr: 'AS', value: '059Y' },
    { tag: 0x00180050, vr: 'DS', value: '5' },
    { tag: 0x00181030, vr: 'LO', value: 'CHEST ROUTINE' },
    { tag: 0x0020000d, vr: 'UI', value: opts.uids?.study ?? '1.2.826.0.1.3680043.2.1125.2' },
    { tag: 0x0020000e, vr: 'UI', value: opts.uids?.series ?? '1.2.826.0.1.3680043.2.1125.3' },
    { tag: 0x00200010, vr: 'SH', value: 'STUDY77' },
    { tag: 0x00200011, vr: 'IS', value: '2' },
    { tag: 0x00200013, vr: 'IS', value: '1' },
    { tag: 0x00200032, vr: 'DS', value: '-100\\-100\\50' },
    { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { tag: 0x00200052, vr: 'UI', value: '1.2.826.0.1.3680043.2.1125.4' },
    { tag: 0x00280002, vr: 'US', value: us(1) },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: us(rows) },
    { tag: 0x00280011, vr: 'US', value: us(rows) },
    { tag: 0x00280100, vr: 'US', value: us(16) },
    { tag: 0x00280101, vr: 'US', value: us(12) },
    { tag: 0x00280102, vr: 'US', value: us(11) },
    { tag: 0x00280103, vr: 'US', value: us(0) },
    { tag: 0x00281050, vr: 'DS', value: '40' },
    { tag: 0x00281051, vr: 'DS', value: '400' },
    { tag: 0x7fe00010, vr: 'OW', value: pixels(rows * rows * 2) },
  ];
  const byTag = new Map(base.map((e) => [e.tag, e]));
  for (const e of extra) byTag.set(e.tag, e);
  return [...byTag.values()];
}
