/**
 * The attributes a pool's index stores, read back from a de-identified file. Reading them from the
 * output (not the input) guarantees the index holds exactly what the pool's rules let through.
 */
import { type El, type Syntax, TS_DEFLATED, TS_JPIP_DEFLATE, parseHead, parsePart10, valueString } from './parse';

export interface DeidIndex {
  patientId?: string;
  patientName?: string;
  patientSex?: string;
  patientBirthDate?: string;
  studyDate?: string;
  studyTime?: string;
  studyDescription?: string;
  accessionNumber?: string;
  studyId?: string;
  modality?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  bodyPartExamined?: string;
  instanceNumber?: number;
  rows?: number;
  columns?: number;
  numberOfFrames?: number;
}

const TEXT_FIELDS: Array<[number, keyof DeidIndex]> = [
  [0x00100020, 'patientId'],
  [0x00100010, 'patientName'],
  [0x00100040, 'patientSex'],
  [0x00100030, 'patientBirthDate'],
  [0x00080020, 'studyDate'],
  [0x00080030, 'studyTime'],
  [0x00081030, 'studyDescription'],
  [0x00080050, 'accessionNumber'],
  [0x00200010, 'studyId'],
  [0x00080060, 'modality'],
  [0x0008103e, 'seriesDescription'],
  [0x00180015, 'bodyPartExamined'],
];
const INT_STRING_FIELDS: Array<[number, keyof DeidIndex]> = [
  [0x00200011, 'seriesNumber'],
  [0x00200013, 'instanceNumber'],
  [0x00280008, 'numberOfFrames'],
];
const US_FIELDS: Array<[number, keyof DeidIndex]> = [
  [0x00280010, 'rows'],
  [0x00280011, 'columns'],
];

const HEAD_BYTES = 64 * 1024;
const LAST_INDEX_TAG = 0x00280011;

/**
 * Index fields of a de-identified file, given whole or as the chunk list deidentifyToChunks
 * returns. For chunks, only the first 64 KiB are assembled (the index attributes precede bulk
 * data); the whole file is assembled only when the head does not reach past them.
 */
export function readIndexFields(output: Buffer | Buffer[], length?: number): DeidIndex {
  if (Buffer.isBuffer(output)) {
    const parsed = parsePart10(output);
    return fromElements(parsed.buf, parsed.els, parsed.syntax);
  }
  const total = length ?? output.reduce((n, c) => n + c.length, 0);
  const parts: Buffer[] = [];
  let have = 0;
  for (const c of output) {
    if (have >= HEAD_BYTES) break;
    const take = Math.min(c.length, HEAD_BYTES - have);
    parts.push(take === c.length ? c : c.subarray(0, take));
    have += take;
  }
  const head = Buffer.concat(parts, have);
  const parsed = parseHead(head);
  const last = parsed.els[parsed.els.length - 1];
  const deflated = parsed.transferSyntaxUid === TS_DEFLATED || parsed.transferSyntaxUid === TS_JPIP_DEFLATE;
  if (!deflated && (have === total || (last && last.tag > LAST_INDEX_TAG))) return fromElements(head, parsed.els, parsed.syntax);
  return readIndexFields(Buffer.concat(output, total));
}

function fromElements(buf: Buffer, els: El[], syntax: Syntax): DeidIndex {
  const byTag = new Map<number, El>();
  for (const el of els) if (!el.items) byTag.set(el.tag, el);
  const index: Record<string, string | number> = {};
  for (const [tag, key] of TEXT_FIELDS) {
    const el = byTag.get(tag);
    if (el) index[key] = valueString(buf, el).trim();
  }
  for (const [tag, key] of INT_STRING_FIELDS) {
    const el = byTag.get(tag);
    if (!el) continue;
    const n = Number.parseInt(valueString(buf, el).trim().split('\\')[0], 10);
    if (Number.isFinite(n)) index[key] = n;
  }
  for (const [tag, key] of US_FIELDS) {
    const el = byTag.get(tag);
    if (el && el.len >= 2) index[key] = syntax.little ? buf.readUInt16LE(el.vstart) : buf.readUInt16BE(el.vstart);
  }
  return index as DeidIndex;
}
