import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPart10Header, readInstanceIds, readPart10Header } from '@/lib/dicom/part10';
import { storeResponsePdu } from '@/lib/dicom/scp';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, isSafeUid } from '@/lib/dicom/uids';
import { DatasetFormatError, bufferSource, rawString, tag, walkDataset } from '@/lib/dicom/walker';
import { generateCorpus } from '@/lib/synthetic';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-part10-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const corpus = generateCorpus({ patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1 });
const sample = corpus.instances[0];
const sampleMeta = readPart10Header(sample.buffer);
const sampleDataset = sample.buffer.subarray(sampleMeta.datasetOffset);

/** Implicit VR LE element. */
function implicit(group: number, element: number, value: Buffer): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(group, 0);
  b.writeUInt16LE(element, 2);
  b.writeUInt32LE(value.length, 4);
  return Buffer.concat([b, value]);
}

describe('Part-10 header', () => {
  it('builds a meta header with a correct group length that DCMTK and our reader accept', () => {
    const header = buildPart10Header({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      sopInstanceUid: sample.sopInstanceUid,
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      sourceAeTitle: 'ORTHANC',
    });
    expect(header.subarray(0, 128).every((b) => b === 0)).toBe(true);
    expect(header.toString('latin1', 128, 132)).toBe('DICM');
    expect(header.readUInt32LE(140)).toBe(header.length - 144);

    const file = Buffer.concat([header, sampleDataset]);
    const meta = readPart10Header(file);
    expect(meta).toMatchObject({
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      mediaStorageSopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      mediaStorageSopInstanceUid: sample.sopInstanceUid,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      sourceAeTitle: 'ORTHANC',
      datasetOffset: header.length,
    });
    const p = path.join(tmp, 'rebuilt.dcm');
    fs.writeFileSync(p, file);
    const dump = execFileSync('dcmdump', ['-M', p], { encoding: 'utf8' });
    expect(dump).toContain('(0002,0016) AE [ORTHANC]');
    expect(dump).toContain(`(0008,0018) UI [${sample.sopInstanceUid}]`);
    expect(readInstanceIds(p)).toMatchObject({ sopInstanceUid: sample.sopInstanceUid, studyInstanceUid: sample.studyInstanceUid });
  });

  it('rejects a buffer without DICM', () => {
    expect(() => readPart10Header(Buffer.alloc(300))).toThrow(DatasetFormatError);
  });
});

describe('element walker', () => {
  const walk = (ds: Buffer, explicitVr = true) => walkDataset(bufferSource(ds), 0, { explicitVr, littleEndian: true });

  it('walks a whole dataset (sequences, items, private blocks) to its exact end', () => {
    const r = walk(sampleDataset);
    expect(r.end).toBe(sampleDataset.length);
    expect(r.elements).toBeGreaterThan(60);
  });

  it('finds a truncated dataset', () => {
    expect(() => walk(sampleDataset.subarray(0, sampleDataset.length - 100))).toThrow(/past the end/);
  });

  it('finds garbage in the element stream', () => {
    const bad = Buffer.from(sampleDataset);
    bad.write('\x01\x02zz', 600, 'latin1'); // somewhere in the header elements
    expect(() => walk(bad)).toThrow(DatasetFormatError);
  });

  it('walks implicit VR, undefined-length sequences and encapsulated pixel data', () => {
    const item = Buffer.concat([implicit(0x0008, 0x0100, Buffer.from('CODE')), implicit(0x0008, 0x0104, Buffer.from('Meaning '))]);
    const seq = Buffer.concat([
      Buffer.from([0x08, 0x00, 0x52, 0x10, 0xff, 0xff, 0xff, 0xff]), // (0008,1052) undefined length
      Buffer.from([0xfe, 0xff, 0x00, 0xe0]), Buffer.from(Uint32Array.of(item.length).buffer), item,
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    const pixels = Buffer.concat([
      Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]), // empty offset table
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 4, 0, 0, 0]), Buffer.from([1, 2, 3, 4]),
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    const ds = Buffer.concat([implicit(0x0008, 0x0018, Buffer.from('1.2.3\0')), seq, implicit(0x0020, 0x000d, Buffer.from('1.2.4\0')), pixels]);
    const r = walkDataset(bufferSource(ds), 0, { explicitVr: false, littleEndian: true, wanted: [tag(0x0008, 0x0018), tag(0x0020, 0x000d)] });
    expect(r.end).toBe(ds.length);
    expect(rawString(r.values.get(tag(0x0008, 0x0018)))).toBe('1.2.3');
    expect(rawString(r.values.get(tag(0x0020, 0x000d)))).toBe('1.2.4');
    // Drop the sequence delimiter: the item never ends.
    expect(() => walkDataset(bufferSource(Buffer.concat([seq.subarray(0, seq.length - 8)])), 0, { explicitVr: false, littleEndian: true })).toThrow(
      DatasetFormatError,
    );
  });

  it('refuses elements out of order', () => {
    const ds = Buffer.concat([implicit(0x0020, 0x000d, Buffer.from('1.2\0')), implicit(0x0008, 0x0018, Buffer.from('1.3\0'))]);
    expect(() => walk(ds, false)).toThrow(/out of order/);
  });
});

describe('C-STORE-RSP encoder', () => {
  it('encodes a P-DATA-TF with an implicit-VR command set', () => {
    const pdu = storeResponsePdu(5, { messageId: 7, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3', status: 0xc000, errorComment: 'Malformed dataset' });
    expect(pdu[0]).toBe(0x04);
    expect(pdu.readUInt32BE(2)).toBe(pdu.length - 6);
    expect(pdu.readUInt32BE(6)).toBe(pdu.length - 10);
    expect(pdu[10]).toBe(5);
    expect(pdu[11]).toBe(0x03);
    const cmd = pdu.subarray(12);
    const r = walkDataset(bufferSource(cmd), 0, {
      explicitVr: false,
      littleEndian: true,
      wanted: [tag(0, 0), tag(0, 0x0100), tag(0, 0x0120), tag(0, 0x0900), tag(0, 0x0902), tag(0, 0x1000)],
    });
    expect(r.end).toBe(cmd.length);
    expect(r.values.get(tag(0, 0))?.readUInt32LE(0)).toBe(cmd.length - 12);
    expect(r.values.get(tag(0, 0x0100))?.readUInt16LE(0)).toBe(0x8001);
    expect(r.values.get(tag(0, 0x0120))?.readUInt16LE(0)).toBe(7);
    expect(r.values.get(tag(0, 0x0900))?.readUInt16LE(0)).toBe(0xc000);
    expect(rawString(r.values.get(tag(0, 0x0902)))).toBe('Malformed dataset');
    expect(rawString(r.values.get(tag(0, 0x1000)))).toBe('1.2.3');
  });
});

describe('isSafeUid', () => {
  it('accepts UIDs and refuses anything that could escape a path', () => {
    expect(isSafeUid('1.2.840.10008.5.1.4.1.1.2')).toBe(true);
    for (const bad of ['', '../1.2', '1.2/3', '1..2', '.1', '1.2.', 'a.b', '1'.repeat(65), undefined, 12]) {
      expect(isSafeUid(bad), String(bad)).toBe(false);
    }
  });
});
