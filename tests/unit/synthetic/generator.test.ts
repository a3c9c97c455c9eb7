import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-ignore -- dcmjs ships no type declarations; only used to prove the files parse.
import dcmjs from 'dcmjs';
import { generateCorpus, generateCtStudy, writeCorpus, SYNTHETIC_PRIVATE_CREATOR, SYNTHETIC_UID_ROOT } from '@/lib/synthetic';
import { readInstanceIds, readPart10Header } from '@/lib/dicom/part10';
import { bufferSource, walkDataset, tag } from '@/lib/dicom/walker';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-synth-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface DcmjsRead {
  dict: Record<string, { vr: string; Value?: unknown[] }>;
  meta: Record<string, { vr: string; Value?: unknown[] }>;
}
const readWithDcmjs = (buf: Buffer): DcmjsRead =>
  (dcmjs as { data: { DicomMessage: { readFile(ab: ArrayBuffer): DcmjsRead } } }).data.DicomMessage.readFile(
    buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer,
  );

describe('synthetic corpus', () => {
  const corpus = generateCorpus();

  it('is deterministic: same seed, same bytes; another seed, other bytes', () => {
    const again = generateCorpus();
    expect(again.instances.length).toBe(corpus.instances.length);
    for (let i = 0; i < corpus.instances.length; i++) {
      expect(again.instances[i].relPath).toBe(corpus.instances[i].relPath);
      expect(again.instances[i].buffer.equals(corpus.instances[i].buffer)).toBe(true);
    }
    expect(again.phiStrings).toEqual(corpus.phiStrings);
    const other = generateCorpus({ seed: 2 });
    expect(other.instances[0].buffer.equals(corpus.instances[0].buffer)).toBe(false);
    expect(other.instances[0].sopInstanceUid).not.toBe(corpus.instances[0].sopInstanceUid);
  });

  it('has the documented default shape: 4 patients, CT and MR, 2 series x 3 instances, 64x64', () => {
    expect(corpus.patients).toHaveLength(4);
    expect(corpus.patients.map((p) => p.studies.length)).toEqual([2, 1, 2, 1]);
    const modalities = new Set(corpus.instances.map((i) => i.modality));
    expect([...modalities].sort()).toEqual(['CT', 'MR']);
    expect(corpus.instances).toHaveLength(6 * 6);
    for (const p of corpus.patients) {
      expect(p.patientId).toMatch(/^00\d{5}$/); // MRNs with leading zeros
      for (const s of p.studies) {
        expect(s.studyInstanceUid.startsWith(SYNTHETIC_UID_ROOT)).toBe(true);
        expect(s.studyInstanceUid.length).toBeLessThanOrEqual(64);
        expect(s.numInstances).toBe(6);
      }
    }
    expect(new Set(corpus.instances.map((i) => i.sopInstanceUid)).size).toBe(corpus.instances.length);
  });

  it('parses with dcmjs, with the IDs the corpus reports and Explicit VR Little Endian', () => {
    for (const inst of corpus.instances) {
      const { dict, meta } = readWithDcmjs(inst.buffer);
      expect(meta['00020010'].Value?.[0]).toBe('1.2.840.10008.1.2.1');
      expect(dict['00080018'].Value?.[0]).toBe(inst.sopInstanceUid);
      expect(dict['0020000D'].Value?.[0]).toBe(inst.studyInstanceUid);
      expect(dict['0020000E'].Value?.[0]).toBe(inst.seriesInstanceUid);
      expect(dict['00100020'].Value?.[0]).toBe(inst.patientId);
      expect(dict['00080060'].Value?.[0]).toBe(inst.modality);
      expect(dict['00280010'].Value?.[0]).toBe(64);
      expect(dict['00280100'].Value?.[0]).toBe(16);
    }
  });

  it('parses with DCMTK dcmdump, private tags included', async () => {
    const dir = path.join(tmp, 'corpus');
    await writeCorpus(dir);
    const first = path.join(dir, corpus.instances[0].relPath);
    expect(fs.readFileSync(first).equals(corpus.instances[0].buffer)).toBe(true);
    const dump = execFileSync('dcmdump', ['+L', first], { encoding: 'utf8' });
    expect(dump).toContain('(0009,0010) LO [ACME 1.1]');
    expect(dump).toMatch(/\(0009,1001\) LO \[PT /);
    expect(dump).toContain('(0029,0010) LO [SIEMENS CSA HEADER]');
    expect(dump).toMatch(/\(0029,1010\) OB 53\\56\\31\\30/);
    expect(dump).toMatch(/\(7fe0,0010\) OW/);
    expect(dump).not.toMatch(/error|warning/i);
  });

  it('puts every PHI string in the bytes of the corpus, and lists the expected kinds', () => {
    const all = Buffer.concat(corpus.instances.map((i) => i.buffer));
    for (const phi of corpus.phiStrings) {
      expect(all.includes(Buffer.from(phi, 'utf8')), phi).toBe(true);
    }
    const p0 = corpus.patients[0];
    expect(corpus.phiStrings).toContain(p0.patientName);
    expect(corpus.phiStrings).toContain(p0.patientId);
    expect(corpus.phiStrings).toContain(p0.birthDate);
    expect(corpus.phiStrings).toContain(p0.studies[0].accessionNumber);
    // Free text naming the patient, a private tag value, and a name two sequences deep.
    expect(corpus.phiStrings.some((s) => s.startsWith('Follow-up for '))).toBe(true);
    expect(corpus.phiStrings.some((s) => s.startsWith('PT ' + p0.patientId))).toBe(true);
    expect(corpus.phiStrings.some((s) => s.startsWith('Dr. '))).toBe(true);
  });

  it('has a non-ASCII patient written as UTF-8 with SpecificCharacterSet ISO_IR 192', () => {
    const p1 = corpus.patients[1];
    expect(p1.patientName).toMatch(/[^\x00-\x7f]/);
    const inst = corpus.instances.find((i) => i.patientId === p1.patientId)!;
    const { dict } = readWithDcmjs(inst.buffer);
    expect(dict['00080005'].Value?.[0]).toBe('ISO_IR 192');
    expect((dict['00100010'].Value?.[0] as { Alphabetic: string }).Alphabetic).toBe(p1.patientName);
    expect(inst.buffer.includes(Buffer.from(p1.patientName, 'utf8'))).toBe(true);
  });

  it('keeps private creators and private values at their tags, and nested sequences walk cleanly', () => {
    const inst = corpus.instances[0];
    const meta = readPart10Header(inst.buffer);
    const walked = walkDataset(bufferSource(inst.buffer), meta.datasetOffset, {
      explicitVr: true,
      littleEndian: true,
      wanted: [tag(0x0009, 0x0010), tag(0x0009, 0x1001), tag(0x0029, 0x0010), tag(0x0040, 0x0275)],
    });
    expect(walked.end).toBe(inst.buffer.length);
    expect(walked.values.get(tag(0x0009, 0x0010))?.toString('latin1').trim()).toBe(SYNTHETIC_PRIVATE_CREATOR);
    expect(walked.values.get(tag(0x0009, 0x1001))?.toString('utf8')).toContain(inst.patientId);
    expect(walked.values.has(tag(0x0040, 0x0275))).toBe(false); // undefined length: walked, not returned
    expect(readInstanceIds(inst.buffer)).toMatchObject({
      sopInstanceUid: inst.sopInstanceUid,
      studyInstanceUid: inst.studyInstanceUid,
      seriesInstanceUid: inst.seriesInstanceUid,
    });
  });

  it('honours the size options', () => {
    const c = generateCorpus({ patients: 2, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 2, rows: 32, columns: 48 });
    expect(c.instances).toHaveLength(4);
    const { dict } = readWithDcmjs(c.instances[0].buffer);
    expect(dict['00280010'].Value?.[0]).toBe(32);
    expect(dict['00280011'].Value?.[0]).toBe(48);
  });
});

describe('generateCtStudy', () => {
  it('streams deterministic 512x512 16-bit CT slices of one series, fast', () => {
    const t = performance.now();
    const a = [...generateCtStudy({ instances: 60, seed: 7 })];
    const ms = performance.now() - t;
    const b = [...generateCtStudy({ instances: 60, seed: 7 })];
    expect(a.every((x, i) => x.buffer.equals(b[i].buffer))).toBe(true);
    expect(new Set(a.map((x) => x.seriesInstanceUid)).size).toBe(1);
    expect(new Set(a.map((x) => x.sopInstanceUid)).size).toBe(60);
    expect(a[0].buffer.length).toBeGreaterThan(512 * 512 * 2);
    // 500 instances must take "a few seconds" at most: 60 well under a second.
    expect(ms).toBeLessThan(4000);
    const { dict } = readWithDcmjs(a[0].buffer);
    expect(dict['00281052'].Value?.[0]).toBe(-1024);
    expect(dict['00280103'].Value?.[0]).toBe(1);
  });

  it('takes an imposed MRN', () => {
    const [first] = generateCtStudy({ instances: 1, rows: 16, columns: 16, patientId: '0000042' });
    expect(first.patientId).toBe('0000042');
    expect(first.buffer.includes(Buffer.from('0000042'))).toBe(true);
  });
});
