/**
 * Our C-FIND bytes (lib/dicom/cfind-codec.ts, lib/dicom/cfind-client.ts) against what
 * dcmjs-dimse produced and what DCMTK reads: the C-FIND-RQ command is the one dcmjs-dimse sent,
 * the study identifier is dcmjs's encoding of our keys (dcmjs-dimse's unused defaults left out),
 * DCMTK's dcmdump reads them as the keys we meant, response
 * commands are read as dcmjs-dimse reads them, identifiers in several character sets decode to
 * the right names, and messages are cut to the peer's max PDU.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cfindCommand, decodeIdentifier, parseCommand, studyIdentifier } from '@/lib/dicom/cfind-codec';
import { associateRequest, parseAssociateAccept, pDataMessage } from '@/lib/dicom/cfind-client';
import { dimse } from '@/lib/dicom/dimse';
import { PduFramer } from '@/lib/dicom/pdu-framer';

const { Dataset, requests, responses } = dimse;
const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';
const FIND = '1.2.840.10008.5.1.4.1.2.2.1';

const queries: Record<string, string>[] = [
  { PatientID: '0012345', AccessionNumber: '', ModalitiesInStudy: '', StudyDate: '', StudyDescription: '', PatientName: '', PatientBirthDate: '', StudyInstanceUID: '', StudyTime: '', NumberOfStudyRelatedSeries: '', NumberOfStudyRelatedInstances: '' },
  { PatientID: 'MRN7', AccessionNumber: 'A1', ModalitiesInStudy: 'CT\\MR', StudyDate: '20200101-20201231', StudyDescription: '*CHEST*', StudyInstanceUID: '1.2.3.4', StudyTime: '' },
  // Non-ASCII matching text: sent with SpecificCharacterSet ISO_IR 192 (UTF-8).
  { PatientID: 'MRN8', StudyDescription: '*Thorax Übersicht*', SpecificCharacterSet: 'ISO_IR 192' },
];

/** dcmjs's encoding (through dcmjs-dimse's Dataset) of the same keys at study level. */
function dcmjsIdentifier(keys: Record<string, string>, ts: string): Buffer {
  return new Dataset({ ...keys, QueryRetrieveLevel: 'STUDY' }, ts).getDenaturalizedDataset();
}

/** What dcmjs-dimse's createStudyFindRequest sent: the same keys plus its own defaults. */
function dcmjsDimseIdentifier(keys: Record<string, string>, ts: string): Buffer {
  const req = requests.CFindRequest.createStudyFindRequest(keys);
  return new Dataset(req.getDataset()!.getElements(), ts).getDenaturalizedDataset();
}

function dcmdump(buf: Buffer, ts: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfind-codec-'));
  try {
    const file = path.join(dir, 'id.dcm');
    fs.writeFileSync(file, buf);
    return execFileSync('dcmdump', ['--read-dataset', ts === IMPLICIT ? '-ti' : '-te', '+U8', file], { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('C-FIND request bytes', () => {
  for (const ts of [IMPLICIT, EXPLICIT]) {
    const name = ts === IMPLICIT ? 'implicit' : 'explicit';
    it(`identifier: our keys as dcmjs encodes them, without the defaults dcmjs-dimse added (${name} VR LE)`, () => {
      for (const q of queries) expect(studyIdentifier(q, ts).toString('hex')).toBe(dcmjsIdentifier(q, ts).toString('hex'));
      // dcmjs-dimse asked for three keys nothing reads (a PACS may open files to answer them).
      const before = dcmdump(dcmjsDimseIdentifier(queries[0], ts), ts);
      const now = dcmdump(studyIdentifier(queries[0], ts), ts);
      for (const tag of ['(0010,0021)', '(0010,0040)', '(0020,0010)']) {
        expect(before).toContain(tag);
        expect(now).not.toContain(tag);
      }
      expect(now.match(/^\(/gm)?.length).toBe(before.match(/^\(/gm)!.length - 3);
    });

    it(`identifier: DCMTK reads the keys we meant (${name} VR LE)`, () => {
      const out = dcmdump(studyIdentifier(queries[1], ts), ts);
      expect(out).toMatch(/\(0008,0052\) CS \[STUDY\]/);
      expect(out).toMatch(/\(0010,0020\) LO \[MRN7\]/);
      expect(out).toMatch(/\(0008,0061\) CS \[CT\\MR\]/);
      expect(out).toMatch(/\(0008,0020\) DA \[20200101-20201231\]/);
      expect(out).toMatch(/\(0020,000d\) UI \[1\.2\.3\.4\]/);
      expect(out).toMatch(/\(0008,0030\) TM \(no value available\)/);
      expect(out).not.toMatch(/\(0010,0010\)/);
      expect(out).not.toMatch(/error|warn/i);
      const utf8 = dcmdump(studyIdentifier(queries[2], ts), ts);
      expect(utf8).toMatch(/\(0008,0005\) CS \[ISO_IR 192\]/);
      expect(utf8).toMatch(/\(0008,1030\) LO \[\*Thorax Übersicht\*\]/);
    });
  }

  it('command: the C-FIND-RQ command set dcmjs-dimse sent', () => {
    for (const id of [1, 2, 300, 65535]) {
      const req = requests.CFindRequest.createStudyFindRequest({ PatientID: 'X' });
      req.setMessageId(id);
      const theirs = req.getCommandDataset().getDenaturalizedCommandDataset();
      expect(cfindCommand(FIND, id).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
    }
  });
});

describe('C-FIND responses', () => {
  function rspCommand(status: number, messageId: number, withDataset: boolean, comment?: string): Buffer {
    const rsp = new responses.CFindResponse(status, comment ?? '');
    rsp.setMessageIdBeingRespondedTo(messageId);
    if (comment) rsp.setErrorComment(comment);
    if (withDataset) rsp.setDataset(new Dataset({ PatientID: 'X' }));
    return Buffer.from(rsp.getCommandDataset().getDenaturalizedCommandDataset());
  }

  it('reads status, message id, dataset flag and error comment as dcmjs-dimse writes them', () => {
    expect(parseCommand(rspCommand(0xff00, 9, true))).toMatchObject({ status: 0xff00, messageIdBeingRespondedTo: 9, hasDataset: true, commandField: 0x8020 });
    expect(parseCommand(rspCommand(0x0000, 9, false))).toMatchObject({ status: 0, messageIdBeingRespondedTo: 9, hasDataset: false });
    expect(parseCommand(rspCommand(0xc001, 4, false, 'Unable to process'))).toMatchObject({ status: 0xc001, errorComment: 'Unable to process' });
    expect(() => parseCommand(Buffer.from([0, 0, 0, 9, 2, 0, 0, 0]))).toThrow();
  });

  // The names as the PACS sends them, in three character sets: Latin-1 (ISO_IR 100), UTF-8
  // (ISO_IR 192) and Cyrillic (ISO_IR 144, decoded by dcmjs, not by the fast path).
  const name = (charset: string, bytes: Buffer) => {
    const cs = Buffer.from(charset.length % 2 ? `${charset} ` : charset, 'latin1');
    const head = (g: number, e: number, len: number) => {
      const b = Buffer.alloc(8);
      b.writeUInt16LE(g, 0);
      b.writeUInt16LE(e, 2);
      b.writeUInt32LE(len, 4);
      return b;
    };
    const pn = bytes.length % 2 ? Buffer.concat([bytes, Buffer.from(' ')]) : bytes;
    return Buffer.concat([head(0x0008, 0x0005, cs.length), cs, head(0x0010, 0x0010, pn.length), pn]);
  };
  it('decodes names in the character set the response declares', () => {
    const latin1 = decodeIdentifier(name('ISO_IR 100', Buffer.from('Müller^Jörg', 'latin1')), IMPLICIT);
    expect(latin1.PatientName).toEqual([{ Alphabetic: 'Müller^Jörg' }]);
    const utf8 = decodeIdentifier(name('ISO_IR 192', Buffer.from('Müller^Jörg', 'utf8')), IMPLICIT);
    expect(utf8.PatientName).toEqual([{ Alphabetic: 'Müller^Jörg' }]);
    // "Иванов" in ISO 8859-5.
    const cyr = decodeIdentifier(name('ISO_IR 144', Buffer.from([0xb8, 0xd2, 0xd0, 0xdd, 0xde, 0xd2])), IMPLICIT);
    expect(JSON.stringify(cyr.PatientName)).toContain('Иванов');
  });
});

describe('association and P-DATA framing', () => {
  it('cuts a message to the peer max PDU and the pieces join back to the same bytes', () => {
    const command = cfindCommand(FIND, 3);
    const dataset = studyIdentifier(queries[1], EXPLICIT);
    for (const max of [0, 16384, 64, 20]) {
      const wire = pDataMessage(command, dataset, max);
      const got: { cmd: Buffer[]; data: Buffer[]; lastFlags: number[] } = { cmd: [], data: [], lastFlags: [] };
      const framer = new PduFramer(
        (pdu) => {
          expect(pdu[0]).toBe(0x04);
          if (max) expect(pdu.length - 6).toBeLessThanOrEqual(max);
          const len = pdu.readUInt32BE(6);
          expect(pdu[10]).toBe(1);
          const h = pdu[11];
          (h & 1 ? got.cmd : got.data).push(pdu.subarray(12, 6 + 4 + len));
          if (h & 2) got.lastFlags.push(h);
        },
        (e) => {
          throw e;
        },
      );
      framer.push(wire);
      expect(Buffer.concat(got.cmd).equals(command)).toBe(true);
      expect(Buffer.concat(got.data).equals(dataset)).toBe(true);
      expect(got.lastFlags).toEqual([3, 2]);
    }
  });

  it('proposes Study Root FIND with implicit then explicit VR LE, and reads the accept', () => {
    const rq = associateRequest('PACS', 'TRIB_Q', FIND);
    expect(rq[0]).toBe(0x01);
    expect(rq.readUInt32BE(2)).toBe(rq.length - 6);
    expect(rq.toString('latin1', 10, 26)).toBe('PACS            ');
    expect(rq.toString('latin1', 26, 42)).toBe('TRIB_Q          ');
    const text = rq.toString('latin1');
    expect(text.indexOf(FIND)).toBeGreaterThan(0);
    expect(text.indexOf(IMPLICIT + '\0') >= 0 || text.indexOf(IMPLICIT) < text.indexOf(EXPLICIT)).toBe(true);
    // An A-ASSOCIATE-AC built by hand: context 1 accepted with explicit VR LE, max PDU 16384.
    const pcBody = Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from([0x40, 0, 0, EXPLICIT.length]), Buffer.from(EXPLICIT)]);
    const pc = Buffer.concat([Buffer.from([0x21, 0, 0, pcBody.length]), pcBody]);
    const user = Buffer.from([0x50, 0, 0, 8, 0x51, 0, 0, 4, 0, 0, 0x40, 0]);
    const body = Buffer.concat([Buffer.alloc(68), pc, user]);
    const ac = Buffer.concat([Buffer.from([0x02, 0]), Buffer.alloc(4), body]);
    ac.writeUInt32BE(body.length, 2);
    expect(parseAssociateAccept(ac)).toEqual({ result: 0, transferSyntaxUid: EXPLICIT, maxPdu: 16384 });
  });
});
