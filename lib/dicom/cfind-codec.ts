/**
 * The bytes of a C-FIND for lib/dicom/cfind-client.ts: the C-FIND-RQ command set, the study-level
 * identifier (our keys only, encoded as dcmjs-dimse encoded them), the fields
 * of a C-FIND-RSP command we look at, and the decoding of a pending response's identifier (the
 * same decoder dcmjs-dimse's Dataset used through lib/dicom/patch.ts: fast-dataset for
 * ASCII / ISO_IR 100 / ISO_IR 192, dcmjs for any other character set).
 * tests/unit/dicom/cfind-codec.test.ts checks them against dcmjs-dimse and DCMTK's dcmdump.
 */
import './patch';
import { dimse } from './dimse';
import { fastEncode } from './fast-dataset';

const { Dataset } = dimse;

/**
 * A study-level C-FIND identifier in `transferSyntaxUid`: exactly the keys given (matching keys
 * and the return keys we read) and QueryRetrieveLevel. dcmjs-dimse's createStudyFindRequest also
 * asked for IssuerOfPatientID, PatientSex and StudyID, which nothing reads and which cost the PACS
 * work per match (Orthanc 1.10: findscu with those three keys answers ~25 % fewer queries per
 * second, bench/batch/dimse.ts), so they are no longer requested. Encoded by the same codec
 * dcmjs-dimse's patched Dataset used.
 */
export function studyIdentifier(keys: Record<string, unknown>, transferSyntaxUid: string): Buffer {
  const elements: Record<string, unknown> = { ...keys, QueryRetrieveLevel: 'STUDY' };
  return fastEncode(elements, transferSyntaxUid) ?? new Dataset(elements, transferSyntaxUid).getDenaturalizedDataset();
}

/** A pending response's identifier, naturalized as dcmjs-dimse's Dataset did (same code path). */
export function decodeIdentifier(buf: Buffer, transferSyntaxUid: string): Record<string, unknown> {
  return new Dataset(buf, transferSyntaxUid).getElements() as Record<string, unknown>;
}

function el(group0Element: number, value: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(0x0000, 0);
  h.writeUInt16LE(group0Element, 2);
  h.writeUInt32LE(value.length, 4);
  return Buffer.concat([h, value]);
}
const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n, 0);
  return b;
};
const uid = (s: string) => Buffer.from(s.length % 2 ? `${s}\0` : s, 'latin1');

/**
 * C-FIND-RQ command set (implicit VR LE, PS3.7 9.3.2.1): the elements dcmjs-dimse sent —
 * AffectedSOPClassUID, CommandField 0x0020, MessageID, Priority medium, CommandDataSetType 0x0202
 * (a dataset follows) — after their CommandGroupLength.
 */
export function cfindCommand(sopClassUid: string, messageId: number): Buffer {
  const body = Buffer.concat([el(0x0002, uid(sopClassUid)), el(0x0100, us(0x0020)), el(0x0110, us(messageId)), el(0x0700, us(0)), el(0x0800, us(0x0202))]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length, 0);
  return Buffer.concat([el(0x0000, len), body]);
}

export interface ResponseCommand {
  commandField?: number;
  messageIdBeingRespondedTo?: number;
  status: number;
  hasDataset: boolean;
  errorComment?: string;
}

/** The fields of a response command set (implicit VR LE) that a C-FIND client needs. */
export function parseCommand(buf: Buffer): ResponseCommand {
  const out: ResponseCommand = { status: -1, hasDataset: false };
  let off = 0;
  while (off + 8 <= buf.length) {
    const group = buf.readUInt16LE(off);
    const element = buf.readUInt16LE(off + 2);
    const len = buf.readUInt32LE(off + 4);
    off += 8;
    if (len === 0xffffffff || off + len > buf.length) throw new Error('bad command set');
    if (group === 0x0000) {
      if (element === 0x0100 && len >= 2) out.commandField = buf.readUInt16LE(off);
      else if (element === 0x0120 && len >= 2) out.messageIdBeingRespondedTo = buf.readUInt16LE(off);
      else if (element === 0x0800 && len >= 2) out.hasDataset = buf.readUInt16LE(off) !== 0x0101;
      else if (element === 0x0900 && len >= 2) out.status = buf.readUInt16LE(off);
      else if (element === 0x0902 && len > 0) out.errorComment = buf.toString('latin1', off, off + len).trim() || undefined;
    }
    off += len;
  }
  if (out.status < 0) throw new Error('command set without a status');
  return out;
}
