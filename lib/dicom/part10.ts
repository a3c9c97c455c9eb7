/**
 * DICOM Part-10 file meta header: build one for bytes received over the network, and read one
 * back cheaply. No dcmjs here: the SCP writes this header in front of every received dataset
 * and must not pay for a dataset parse.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, TransferSyntax } from './uids';
import { DatasetFormatError, bufferSource, fileSource, rawString, tag, walkDataset, type ByteSource } from './walker';

export interface Part10HeaderFields {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** (0002,0016): the AE title that sent the object. */
  sourceAeTitle?: string;
  implementationClassUid?: string;
  implementationVersionName?: string;
}

function element(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const long = vr === 'OB';
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

function padded(s: string, pad: '\0' | ' '): Buffer {
  const b = Buffer.from(s, 'latin1');
  return b.length % 2 === 0 ? b : Buffer.concat([b, Buffer.from(pad, 'latin1')]);
}

/**
 * Preamble (128 zero bytes), "DICM" and the group 0002 elements with a correct group length.
 * Append the dataset bytes, encoded in `transferSyntaxUid`, to get a valid Part-10 file.
 */
export function buildPart10Header(f: Part10HeaderFields): Buffer {
  const parts = [
    element(0x0002, 0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 0x0002, 'UI', padded(f.sopClassUid, '\0')),
    element(0x0002, 0x0003, 'UI', padded(f.sopInstanceUid, '\0')),
    element(0x0002, 0x0010, 'UI', padded(f.transferSyntaxUid, '\0')),
    element(0x0002, 0x0012, 'UI', padded(f.implementationClassUid ?? IMPLEMENTATION_CLASS_UID, '\0')),
    element(0x0002, 0x0013, 'SH', padded(f.implementationVersionName ?? IMPLEMENTATION_VERSION_NAME, ' ')),
  ];
  if (f.sourceAeTitle) parts.push(element(0x0002, 0x0016, 'AE', padded(f.sourceAeTitle.trim(), ' ')));
  const body = Buffer.concat(parts);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length, 0);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), element(0x0002, 0x0000, 'UL', groupLength), body]);
}

export interface Part10Header {
  transferSyntaxUid: string;
  mediaStorageSopClassUid?: string;
  mediaStorageSopInstanceUid?: string;
  implementationClassUid?: string;
  implementationVersionName?: string;
  sourceAeTitle?: string;
  /** Offset of the first dataset byte (just after group 0002). */
  datasetOffset: number;
}

function parseMeta(src: ByteSource): Part10Header {
  if (src.length < 132 || src.read(128, 4).toString('latin1') !== 'DICM') {
    throw new DatasetFormatError('not a DICOM Part-10 file (no DICM prefix)', 128);
  }
  // Walk group 0002 element by element rather than trusting the group length alone: some
  // writers get it wrong, and a wrong length would send the dataset reader astray.
  let o = 132;
  const values = new Map<number, Buffer>();
  for (;;) {
    const head = src.read(o, 8);
    if (head.length < 8) break;
    const group = head.readUInt16LE(0);
    if (group !== 0x0002) break;
    const t = tag(group, head.readUInt16LE(2));
    const vr = head.toString('latin1', 4, 6);
    let len: number;
    let valueOffset: number;
    if (['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT'].includes(vr)) {
      const l = src.read(o + 8, 4);
      if (l.length < 4) throw new DatasetFormatError('truncated file meta header', o);
      len = l.readUInt32LE(0);
      valueOffset = o + 12;
    } else {
      len = head.readUInt16LE(6);
      valueOffset = o + 8;
    }
    if (len === 0xffffffff || valueOffset + len > src.length) throw new DatasetFormatError('bad file meta element length', o);
    values.set(t, Buffer.from(src.read(valueOffset, len)));
    o = valueOffset + len;
  }
  const ts = rawString(values.get(tag(0x0002, 0x0010)));
  if (!ts) throw new DatasetFormatError('file meta header has no transfer syntax', 132);
  return {
    transferSyntaxUid: ts,
    mediaStorageSopClassUid: rawString(values.get(tag(0x0002, 0x0002))),
    mediaStorageSopInstanceUid: rawString(values.get(tag(0x0002, 0x0003))),
    implementationClassUid: rawString(values.get(tag(0x0002, 0x0012))),
    implementationVersionName: rawString(values.get(tag(0x0002, 0x0013))),
    sourceAeTitle: rawString(values.get(tag(0x0002, 0x0016))),
    datasetOffset: o,
  };
}

function withSource<T>(input: Buffer | string, fn: (src: ByteSource) => T): T {
  if (Buffer.isBuffer(input)) return fn(bufferSource(input));
  const fd = fs.openSync(input, 'r');
  try {
    return fn(fileSource(fd, fs.fstatSync(fd).size));
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads the Part-10 meta header of a buffer or a file (reads only the first few KB of a file). */
export function readPart10Header(input: Buffer | string): Part10Header {
  return withSource(input, parseMeta);
}

export interface InstanceIds {
  transferSyntaxUid: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  datasetOffset: number;
}

export const TAG_SOP_CLASS_UID = tag(0x0008, 0x0016);
export const TAG_SOP_INSTANCE_UID = tag(0x0008, 0x0018);
export const TAG_STUDY_INSTANCE_UID = tag(0x0020, 0x000d);
export const TAG_SERIES_INSTANCE_UID = tag(0x0020, 0x000e);
const ID_TAGS = [TAG_SOP_CLASS_UID, TAG_SOP_INSTANCE_UID, TAG_STUDY_INSTANCE_UID, TAG_SERIES_INSTANCE_UID];

export function datasetEncoding(transferSyntaxUid: string): { explicitVr: boolean; littleEndian: boolean; deflated: boolean } {
  return {
    explicitVr: transferSyntaxUid !== TransferSyntax.ImplicitVRLittleEndian,
    littleEndian: transferSyntaxUid !== TransferSyntax.ExplicitVRBigEndian,
    deflated: transferSyntaxUid === TransferSyntax.DeflatedExplicitVRLittleEndian,
  };
}

/** Inflates the start of a deflated dataset: enough for header elements, never the whole file. */
export function inflatePrefix(deflated: Buffer): Buffer {
  return zlib.inflateRawSync(deflated, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

/**
 * Reads the SOP class/instance, study and series UIDs from the dataset of a Part-10 file or
 * buffer, walking only the header elements.
 */
export function readInstanceIds(input: Buffer | string): InstanceIds {
  return withSource(input, (src) => {
    const meta = parseMeta(src);
    const enc = datasetEncoding(meta.transferSyntaxUid);
    let dataSrc = src;
    let start = meta.datasetOffset;
    if (enc.deflated) {
      dataSrc = bufferSource(inflatePrefix(src.read(start, Math.min(src.length - start, 256 * 1024))));
      start = 0;
    }
    let values: Map<number, Buffer>;
    try {
      values = walkDataset(dataSrc, start, { ...enc, wanted: ID_TAGS, stopAfterTag: TAG_SERIES_INSTANCE_UID }).values;
    } catch (err) {
      // A deflated prefix ends mid-element by construction; keep what was read before that.
      if (!enc.deflated || !(err instanceof DatasetFormatError)) throw err;
      values = new Map();
    }
    return {
      transferSyntaxUid: meta.transferSyntaxUid,
      sopClassUid: rawString(values.get(TAG_SOP_CLASS_UID)),
      sopInstanceUid: rawString(values.get(TAG_SOP_INSTANCE_UID)),
      studyInstanceUid: rawString(values.get(TAG_STUDY_INSTANCE_UID)),
      seriesInstanceUid: rawString(values.get(TAG_SERIES_INSTANCE_UID)),
      datasetOffset: meta.datasetOffset,
    };
  });
}
