/**
 * The fast DIMSE dataset codec agrees with dcmjs (the bundled 0.50.3 that dcmjs-dimse uses):
 * same naturalized elements when decoding, same bytes when encoding, and null (fall back) for
 * anything it does not handle.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fastDecode, fastEncode, fastEncodeCommand } from '@/lib/dicom/fast-dataset';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dcmjs = require('dcmjs-dimse/node_modules/dcmjs');
const { DicomMessage, DicomMetaDictionary, ReadBufferStream, WriteBufferStream } = dcmjs.data;
const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';

function dcmjsEncode(elements: Record<string, unknown>, ts: string): Buffer {
  const stream = new WriteBufferStream();
  DicomMessage.write(DicomMetaDictionary.denaturalizeDataset(elements), stream, ts, {});
  return Buffer.from(stream.getBuffer());
}
/** dcmjs's naturalized result; person names without trailing padding (dcmjs keeps or drops it depending on the character set path). */
function dcmjsDecode(buf: Buffer, ts: string): Record<string, unknown> {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const json = JSON.stringify(DicomMetaDictionary.naturalizeDataset(DicomMessage._read(new ReadBufferStream(ab), ts, { ignoreErrors: true })));
  return JSON.parse(json.replace(/("Alphabetic":"[^"]*?) +"/g, '$1"'));
}

const findRequest = {
  QueryRetrieveLevel: 'STUDY',
  PatientID: '0012345',
  AccessionNumber: '',
  ModalitiesInStudy: 'CT\\MR',
  StudyDate: '20200101-20201231',
  StudyDescription: '*CHEST*',
  StudyInstanceUID: '',
  PatientName: '',
  PatientBirthDate: '',
  NumberOfStudyRelatedInstances: '',
  NumberOfStudyRelatedSeries: '',
};
const findResponse = {
  SpecificCharacterSet: 'ISO_IR 100',
  QueryRetrieveLevel: 'STUDY',
  RetrieveAETitle: 'ORTHANC',
  PatientName: 'DOE^JOHN^Q',
  PatientID: '0012345',
  PatientBirthDate: '19700101',
  StudyInstanceUID: '1.2.826.0.1.3680043.10.1078.1.2.3',
  StudyDate: '20200101',
  StudyTime: '101500.123',
  StudyDescription: 'CT CHEST W/O',
  AccessionNumber: 'ACC123',
  ModalitiesInStudy: ['CT', 'SR'],
  NumberOfStudyRelatedInstances: 12,
  NumberOfStudyRelatedSeries: 3,
};
const command = {
  CommandGroupLength: 0,
  AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.2.2.1',
  CommandField: 32800,
  MessageIDBeingRespondedTo: 7,
  CommandDataSetType: 514,
  Status: 65280,
};

describe('fast DIMSE dataset codec', () => {
  for (const ts of [IMPLICIT, EXPLICIT]) {
    it(`decodes like dcmjs (${ts === IMPLICIT ? 'implicit' : 'explicit'} VR LE)`, () => {
      for (const ds of [findRequest, findResponse]) {
        const buf = dcmjsEncode(ds, ts);
        expect(JSON.parse(JSON.stringify(fastDecode(buf, ts)))).toEqual(dcmjsDecode(buf, ts));
      }
    });

    it(`encodes like dcmjs (${ts === IMPLICIT ? 'implicit' : 'explicit'} VR LE)`, () => {
      for (const ds of [findRequest, findResponse]) expect(fastEncode(ds, ts)?.toString('hex')).toBe(dcmjsEncode(ds, ts).toString('hex'));
    });
  }

  it('decodes non-ASCII names by the declared character set, as dcmjs does', () => {
    for (const [charset, encoding] of [['ISO_IR 100', 'latin1'], ['ISO_IR 192', 'utf8']] as const) {
      const name = Buffer.from('Østergård^Søren ', encoding);
      const head = Buffer.from(`ISO_IR ${charset.slice(7)}`.padEnd(charset.length % 2 ? charset.length + 1 : charset.length, ' '), 'latin1');
      const el = (tag: number[], value: Buffer) => {
        const h = Buffer.alloc(8);
        h.writeUInt16LE(tag[0], 0);
        h.writeUInt16LE(tag[1], 2);
        h.writeUInt32LE(value.length, 4);
        return Buffer.concat([h, value]);
      };
      const buf = Buffer.concat([el([0x0008, 0x0005], head), el([0x0010, 0x0010], name.length % 2 ? Buffer.concat([name, Buffer.from(' ')]) : name)]);
      const fast = fastDecode(buf, IMPLICIT);
      expect(JSON.parse(JSON.stringify(fast))).toEqual(dcmjsDecode(buf, IMPLICIT));
      expect((fast?.PatientName as { Alphabetic: string }[])[0].Alphabetic.trim()).toBe('Østergård^Søren');
    }
  });

  it('writes command sets with their group length, as dcmjs-dimse does', () => {
    const fast = fastEncodeCommand(command)!;
    const { CommandGroupLength: _g, ...rest } = command;
    const body = dcmjsEncode(rest, IMPLICIT);
    expect(fast.readUInt32LE(8)).toBe(body.length);
    expect(fast.subarray(12).toString('hex')).toBe(body.toString('hex'));
    expect(JSON.parse(JSON.stringify(fastDecode(fast, IMPLICIT)))).toEqual(dcmjsDecode(fast, IMPLICIT));
  });

  it('falls back (null) for what it does not handle', () => {
    const seq = dcmjsEncode({ ReferencedStudySequence: [{ ReferencedSOPInstanceUID: '1.2.3' }] }, EXPLICIT);
    expect(fastDecode(seq, EXPLICIT)).toBeNull();
    expect(fastEncode({ ReferencedStudySequence: [{ ReferencedSOPInstanceUID: '1.2.3' }] }, EXPLICIT)).toBeNull();
    expect(fastEncode({ SpecificCharacterSet: 'ISO 2022 IR 87', PatientName: 'X' }, IMPLICIT)).toBeNull();
    expect(fastEncode({ NotAKeyword: 'X' }, IMPLICIT)).toBeNull();
    expect(fastDecode(Buffer.from([0x09, 0x00, 0x10, 0x00, 2, 0, 0, 0, 0x41, 0x20]), IMPLICIT)).toBeNull(); // private tag
    expect(fastDecode(Buffer.alloc(10), '1.2.840.10008.1.2.2')).toBeNull(); // big endian
  });
});
