import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-ignore -- dcmjs ships no type declarations
import dcmjs from 'dcmjs';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../lib/errors';
import { type DeidIdentity, deidentify, previewDiff, readElementsForPreview, remapUid } from '../../../lib/anonymize/engine';
import { readIndexFields } from '../../../lib/anonymize/index-fields';
import { parsePart10 } from '../../../lib/anonymize/parse';
import { compileRules } from '../../../lib/anonymize/profile';
import { DEFAULT_RULES, type Override, type OptionKey, type RuleSet, ruleSetSchema } from '../../../lib/anonymize/rules';
import { IDENTITY, SECRET, TS, type TElem, buildPart10, ctInstance, pixels, us } from './helpers';

(dcmjs as { log: { setLevel(l: string): void } }).log.setLevel('error');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tributary-anon-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rules(opts: { options?: OptionKey[]; overrides?: Override[]; quarantineBurnedIn?: boolean } = {}): RuleSet {
  return ruleSetSchema.parse({ profile: 'basic', options: opts.options ?? ['retainLongitudinalModifiedDates'], overrides: opts.overrides ?? [], quarantineBurnedIn: opts.quarantineBurnedIn ?? true });
}

function deid(els: TElem[], r: RuleSet = DEFAULT_RULES, ts?: string, identity: DeidIdentity = IDENTITY, secret = SECRET) {
  const input = buildPart10(els, { ts });
  return { input, ...deidentify(input, compileRules(r), { uidSecret: secret }, identity, { ruleVersion: 7 }) };
}

/** Values of the output, by "path|keyword" (path like "ReferencedImageSequence[0]"). */
function values(output: Buffer): Map<string, string> {
  return new Map(readElementsForPreview(output).map((e) => [`${e.path ?? ''}|${e.keyword ?? e.tag}`, e.value]));
}

function dcmdump(buf: Buffer): string {
  const f = path.join(tmp, `dump-${Math.random().toString(36).slice(2)}.dcm`);
  writeFileSync(f, buf);
  // +E: print errors; dcmdump exits non-zero when it cannot parse the file.
  return execFileSync('dcmdump', ['-q', '+L', f], { encoding: 'latin1', env: { ...process.env, TCP_NODELAY: '1' } });
}

function dcmjsParse(buf: Buffer): Record<string, unknown> {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const dict = dcmjs.data.DicomMessage.readFile(ab);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict) as Record<string, unknown>;
}

/** Byte range of the top-level element `tag` (header included) in a Part-10 buffer. */
function elementBytes(buf: Buffer, tag: number): Buffer {
  const parsed = parsePart10(buf);
  const el = parsed.els.find((e) => e.tag === tag)!;
  return parsed.buf.subarray(el.vstart, el.end);
}

describe('basic behaviour on a CT instance', () => {
  const res = deid(ctInstance());
  const v = values(res.output);

  it('replaces patient identity with the research identity', () => {
    expect(v.get('|PatientName')).toBe('RESEARCH^0001');
    expect(v.get('|PatientID')).toBe('RID0001');
    expect(v.get('|PatientBirthDate')).toBe('');
    expect(v.has('|PatientAge')).toBe(false);
  });

  it('shifts dates by the patient offset and keeps times', () => {
    expect(v.get('|StudyDate')).toBe('20200105');
    expect(v.get('|StudyTime')).toBe('103000');
  });

  it('applies Z, X and D', () => {
    expect(v.get('|AccessionNumber')).toBe('');
    expect(v.get('|ReferringPhysicianName')).toBe('');
    expect(v.has('|StudyDescription')).toBe(false);
    expect(v.get('|InstitutionName')).toBe('ANONYMIZED');
    expect(v.get('|ProtocolName')).toBe('ANONYMIZED');
  });

  it('keeps the image: pixel module, geometry, manufacturer', () => {
    for (const k of ['Rows', 'Columns', 'BitsAllocated', 'PixelRepresentation', 'ImagePositionPatient', 'ImageOrientationPatient', 'SliceThickness', 'WindowCenter', 'Manufacturer', 'Modality', 'SOPClassUID', 'ImageType', 'SpecificCharacterSet']) {
      expect(v.has(`|${k}`), k).toBe(true);
    }
    expect(elementBytes(res.output, 0x7fe00010).equals(elementBytes(res.input, 0x7fe00010))).toBe(true);
  });

  it('remaps UIDs and reports source and target UIDs', () => {
    expect(res.sourceUids).toEqual({
      study: '1.2.826.0.1.3680043.2.1125.2',
      series: '1.2.826.0.1.3680043.2.1125.3',
      sop: '1.2.826.0.1.3680043.2.1125.1.1',
      patientId: 'MRN998877',
    });
    expect(res.targetUids.study).toBe(remapUid(res.sourceUids.study, SECRET));
    expect(res.targetUids.series).toBe(remapUid(res.sourceUids.series, SECRET));
    expect(res.targetUids.sop).toBe(remapUid(res.sourceUids.sop, SECRET));
    expect(v.get('|StudyInstanceUID')).toBe(res.targetUids.study);
    expect(v.get('|FrameOfReferenceUID')).toBe(remapUid('1.2.826.0.1.3680043.2.1125.4', SECRET));
    expect(v.get('|SOPClassUID')).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(res.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(res.transferSyntaxUid).toBe(TS.explicit);
  });

  it('rewrites the file meta: new SOP UID, our implementation, no source AE', () => {
    expect(v.get('|MediaStorageSOPInstanceUID')).toBe(res.targetUids.sop);
    expect(v.get('|TransferSyntaxUID')).toBe(TS.explicit);
    expect(v.get('|ImplementationVersionName')).toBe('TRIBUTARY_1');
    expect(v.has('|SourceApplicationEntityTitle')).toBe(false);
  });

  it('stamps the de-identification attributes', () => {
    expect(v.get('|PatientIdentityRemoved')).toBe('YES');
    expect(v.get('|DeidentificationMethod')).toMatch(/^Tributary PS3\.15 Basic Profile rules v7 #[0-9a-f]{8}$/);
    expect(v.get('DeidentificationMethodCodeSequence[0]|CodeValue')).toBe('113100');
    expect(v.get('DeidentificationMethodCodeSequence[0]|CodingSchemeDesignator')).toBe('DCM');
    expect(v.get('DeidentificationMethodCodeSequence[1]|CodeValue')).toBe('113107');
    expect(v.has('DeidentificationMethodCodeSequence[2]|CodeValue')).toBe(false);
    expect(v.get('|LongitudinalTemporalInformationModified')).toBe('MODIFIED');
  });

  it('lists changes by tag and action, without values', () => {
    const patientName = res.changed.find((c) => c.keyword === 'PatientName');
    expect(patientName).toEqual({ tag: '(0010,0010)', keyword: 'PatientName', action: 'researchIdentity' });
    expect(res.changed.find((c) => c.keyword === 'StudyDescription')?.action).toBe('remove');
    expect(JSON.stringify(res.changed)).not.toMatch(/Doe|MRN998877|ACC12345|19600302/);
  });

  it('parses with dcmjs and dcmdump', () => {
    const ds = dcmjsParse(res.output);
    expect(ds.PatientName).toEqual([{ Alphabetic: 'RESEARCH^0001' }]);
    expect(ds.SOPInstanceUID).toBe(res.targetUids.sop);
    const dump = dcmdump(res.output);
    expect(dump).toContain('RESEARCH^0001');
    expect(dump).not.toContain('Doe');
  });

  it('is deterministic: same input and key give the same bytes', () => {
    const again = deid(ctInstance());
    expect(again.output.equals(res.output)).toBe(true);
  });

  it('readIndexFields reads the research values back', () => {
    expect(readIndexFields(res.output)).toMatchObject({ patientId: 'RID0001', patientName: 'RESEARCH^0001', studyDate: '20200105', modality: 'CT', rows: 8, columns: 8, instanceNumber: 1, seriesNumber: 2 });
  });
});

describe('UID remapping', () => {
  it('is an HMAC-SHA256 UID under 2.25, at most 64 characters', () => {
    const u = remapUid('1.2.3.4', SECRET);
    expect(u).toMatch(/^2\.25\.[1-9]\d*$/);
    expect(u.length).toBeLessThanOrEqual(64);
    expect(BigInt(u.slice(5)) < 2n ** 128n).toBe(true);
    expect(remapUid('1.2.3.4', SECRET)).toBe(u);
    expect(remapUid('1.2.3.4', 'another-pool-secret-0123456789')).not.toBe(u);
    expect(remapUid('1.2.3.5', SECRET)).not.toBe(u);
    expect(remapUid('1.2.3.4', Buffer.from(SECRET))).toBe(u);
  });

  it('maps the same UID in two studies to the same research UID, and differs by secret', () => {
    const shared = '1.2.826.0.1.3680043.2.1125.99';
    const a = deid(ctInstance([{ tag: 0x00200052, vr: 'UI', value: shared }], { uids: { study: '1.2.3.100', sop: '1.2.3.101' } }));
    const b = deid(ctInstance([{ tag: 0x00200052, vr: 'UI', value: shared }], { uids: { study: '1.2.3.200', sop: '1.2.3.201' } }));
    expect(values(a.output).get('|FrameOfReferenceUID')).toBe(values(b.output).get('|FrameOfReferenceUID'));
    expect(a.targetUids.study).not.toBe(b.targetUids.study);
    const c = deid(ctInstance(), DEFAULT_RULES, undefined, IDENTITY, 'a-different-secret-for-another-pool');
    const d = deid(ctInstance());
    expect(c.targetUids.sop).not.toBe(d.targetUids.sop);
  });

  it('never remaps well-known DICOM UIDs', () => {
    const res = deid(ctInstance([
      { tag: 0x00081140, vr: 'SQ', value: [[
        { tag: 0x00081150, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
        { tag: 0x00081155, vr: 'UI', value: '1.2.840.10008.1.2.3.4' },
      ]] },
    ]));
    const v = values(res.output);
    expect(v.get('ReferencedImageSequence[0]|ReferencedSOPClassUID')).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(v.get('ReferencedImageSequence[0]|ReferencedSOPInstanceUID')).toBe('1.2.840.10008.1.2.3.4');
  });

  it('keeps UIDs with Retain UIDs', () => {
    const res = deid(ctInstance(), rules({ options: ['retainUids'] }));
    expect(res.targetUids).toEqual({ study: res.sourceUids.study, series: res.sourceUids.series, sop: res.sourceUids.sop });
    expect(values(res.output).get('|MediaStorageSOPInstanceUID')).toBe(res.sourceUids.sop);
  });
});

describe('sequences', () => {
  const localizerSop = '1.2.826.0.1.3680043.2.1125.1.77';
  const nested: TElem[] = [
    // X/Z/U*: kept, UIDs inside remapped consistently with the referenced instance's own SOP UID.
    { tag: 0x00081140, vr: 'SQ', undefinedLength: true, itemsUndefined: true, value: [[
      { tag: 0x00081150, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
      { tag: 0x00081155, vr: 'UI', value: localizerSop },
    ]] },
    // On the keep-list: kept, cleaned inside at every depth.
    { tag: 0x00081115, vr: 'SQ', value: [[
      { tag: 0x0020000e, vr: 'UI', value: '1.2.826.0.1.3680043.2.1125.3' },
      { tag: 0x00080050, vr: 'SH', value: 'ACC-NESTED' },
      { tag: 0x00100010, vr: 'PN', value: 'Nested^Name' },
      { tag: 0x0008114a, vr: 'SQ', undefinedLength: true, value: [[
        { tag: 0x00081155, vr: 'UI', value: localizerSop },
        { tag: 0x00081070, vr: 'PN', value: 'Deep^Operator' },
        { tag: 0x00080022, vr: 'DA', value: '20200110' },
        { tag: 0x00090010, vr: 'LO', value: 'ACME 1.1' },
        { tag: 0x00091001, vr: 'LO', value: 'PRIVATE PHI' },
      ]] },
    ]] },
    // X/Z: emptied (Acquisition Context Sequence is Type 2 where used)...
    { tag: 0x00400555, vr: 'SQ', value: [[{ tag: 0x0040a040, vr: 'CS', value: 'TEXT' }, { tag: 0x0040a160, vr: 'UT', value: 'Context of Doe' }]] },
    // ...except Referenced Study Sequence, Type 3 with one or more items: removed.
    { tag: 0x00081110, vr: 'SQ', value: [[{ tag: 0x00081155, vr: 'UI', value: '1.2.3.4.5' }]] },
    // X: removed with everything inside.
    { tag: 0x00400275, vr: 'SQ', value: [[
      { tag: 0x00080050, vr: 'SH', value: 'ACC12345' },
      { tag: 0x00401001, vr: 'SH', value: 'RP777' },
      { tag: 0x00400007, vr: 'LO', value: 'SPS DESC' },
    ]] },
    // D on a sequence: shape kept, every leaf replaced.
    { tag: 0x00080082, vr: 'SQ', value: [[
      { tag: 0x00080100, vr: 'SH', value: 'HOSP1' },
      { tag: 0x00080104, vr: 'LO', value: 'St Elsewhere' },
    ]] },
    // Not on the keep-list and not in the table: removed.
    { tag: 0x00400100, vr: 'SQ', value: [[{ tag: 0x00400001, vr: 'AE', value: 'SCHED_AE' }]] },
  ];

  for (const ts of [TS.explicit, TS.implicit, TS.bigEndian]) {
    describe(`in ${ts}`, () => {
      const res = deid(ctInstance(nested), DEFAULT_RULES, ts);
      const v = values(res.output);
      const localizer = deid(ctInstance([], { uids: { sop: localizerSop } }), DEFAULT_RULES, ts);

      it('applies the table at every depth', () => {
        expect(v.get('ReferencedSeriesSequence[0]|SeriesInstanceUID')).toBe(res.targetUids.series);
        expect(v.get('ReferencedSeriesSequence[0]|AccessionNumber')).toBe('');
        expect(v.get('ReferencedSeriesSequence[0]|PatientName')).toBe('RESEARCH^0001');
        expect(v.get('ReferencedSeriesSequence[0]/ReferencedInstanceSequence[0]|OperatorsName')).toBe('ANONYMIZED');
        expect(v.get('ReferencedSeriesSequence[0]/ReferencedInstanceSequence[0]|AcquisitionDate')).toBe('20191231');
        expect(v.has('ReferencedSeriesSequence[0]/ReferencedInstanceSequence[0]|(0009,1001)')).toBe(false);
        expect(v.has('ReferencedSeriesSequence[0]/ReferencedInstanceSequence[0]|(0009,0010)')).toBe(false);
      });

      it('remaps references consistently with the referenced instance', () => {
        expect(v.get('ReferencedImageSequence[0]|ReferencedSOPInstanceUID')).toBe(localizer.targetUids.sop);
        expect(v.get('ReferencedSeriesSequence[0]/ReferencedInstanceSequence[0]|ReferencedSOPInstanceUID')).toBe(localizer.targetUids.sop);
        expect(v.get('ReferencedImageSequence[0]|ReferencedSOPClassUID')).toBe('1.2.840.10008.5.1.4.1.1.2');
      });

      it('empties X/Z sequences, removes X sequences and dummies D sequences', () => {
        expect(v.get('|AcquisitionContextSequence')).toBe('<sequence, 0 items>');
        expect(v.has('|ReferencedStudySequence')).toBe(false);
        expect(v.has('|RequestAttributesSequence')).toBe(false);
        expect(v.has('RequestAttributesSequence[0]|AccessionNumber')).toBe(false);
        expect(v.get('InstitutionCodeSequence[0]|CodeValue')).toBe('ANONYMIZED');
        expect(v.get('InstitutionCodeSequence[0]|CodeMeaning')).toBe('ANONYMIZED');
        expect(v.has('|ScheduledProcedureStepSequence')).toBe(false);
      });

      it('writes a file dcmjs and dcmdump read, with the same transfer syntax', () => {
        expect(res.transferSyntaxUid).toBe(ts);
        expect(v.get('|TransferSyntaxUID')).toBe(ts);
        const dump = dcmdump(res.output);
        expect(dump).toContain('RESEARCH^0001');
        expect(dump).not.toMatch(/Deep\^Operator|PRIVATE PHI|ACC-NESTED|SCHED_AE/);
        if (ts !== TS.bigEndian) {
          const ds = dcmjsParse(res.output) as { ReferencedSeriesSequence: Array<{ ReferencedInstanceSequence: Array<{ OperatorsName: unknown }> }> };
          expect(ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].OperatorsName).toEqual([{ Alphabetic: 'ANONYMIZED' }]);
        }
      });

      it('keeps pixel data byte-identical', () => {
        expect(elementBytes(res.output, 0x7fe00010).equals(elementBytes(res.input, 0x7fe00010))).toBe(true);
      });
    });
  }

  it('keeps an unchanged sequence byte for byte', () => {
    const seq: TElem = { tag: 0x00082218, vr: 'SQ', undefinedLength: true, itemsUndefined: true, value: [[
      { tag: 0x00080100, vr: 'SH', value: 'T-D3000' },
      { tag: 0x00080102, vr: 'SH', value: 'SRT' },
      { tag: 0x00080104, vr: 'LO', value: 'Chest' },
    ]] };
    const res = deid(ctInstance([seq]));
    expect(elementBytes(res.output, 0x00082218).equals(elementBytes(res.input, 0x00082218))).toBe(true);
  });

  it('cleans structured content with Clean Structured Content, dummies it otherwise', () => {
    const content: TElem = { tag: 0x0040a730, vr: 'SQ', value: [[
      { tag: 0x0040a010, vr: 'CS', value: 'CONTAINS' },
      { tag: 0x0040a040, vr: 'CS', value: 'TEXT' },
      { tag: 0x0040a043, vr: 'SQ', value: [[{ tag: 0x00080100, vr: 'SH', value: '121071' }, { tag: 0x00080102, vr: 'SH', value: 'DCM' }, { tag: 0x00080104, vr: 'LO', value: 'Finding' }]] },
      { tag: 0x0040a160, vr: 'UT', value: 'Nodule seen, discussed with Doe John' },
      { tag: 0x0040a123, vr: 'PN', value: 'Observer^Olga' },
    ]] };
    const basic = values(deid(ctInstance([content])).output);
    expect(basic.get('ContentSequence[0]|ValueType')).toBe('ANONYMIZED');
    expect(basic.get('ContentSequence[0]|TextValue')).toBe('ANONYMIZED');
    const clean = values(deid(ctInstance([content]), rules({ options: ['retainLongitudinalModifiedDates', 'cleanStructuredContent'] })).output);
    expect(clean.get('ContentSequence[0]|ValueType')).toBe('TEXT');
    expect(clean.get('ContentSequence[0]/ConceptNameCodeSequence[0]|CodeMeaning')).toBe('Finding');
    expect(clean.get('ContentSequence[0]|TextValue')).toBe('Nodule seen, discussed with [removed]');
    expect(clean.get('ContentSequence[0]|PersonName')).toBe('ANONYMIZED');
  });

  it('aggregates repeated changes in per-frame sequences', () => {
    const frames = Array.from({ length: 50 }, (_, i) => [
      { tag: 0x00209111, vr: 'SQ', value: [[{ tag: 0x00189074, vr: 'DT', value: `2020011510${String(i).padStart(2, '0')}00` }]] },
    ] as TElem[]);
    const res = deid(ctInstance([{ tag: 0x52009230, vr: 'SQ', value: frames }]));
    const change = res.changed.find((c) => c.keyword === 'FrameAcquisitionDateTime');
    expect(change).toEqual({ tag: '(0018,9074)', keyword: 'FrameAcquisitionDateTime', action: 'shiftDate', path: 'PerFrameFunctionalGroupsSequence/FrameContentSequence', count: 50 });
    expect(values(res.output).get('PerFrameFunctionalGroupsSequence[49]/FrameContentSequence[0]|FrameAcquisitionDateTime')).toBe('20200105104900');
  });

  it('handles a UN sequence encoded implicitly inside (CP-246)', () => {
    // (0008,1140) sent as UN with undefined length: its items are Implicit VR LE.
    const item = Buffer.concat([
      Buffer.from([0x08, 0x00, 0x55, 0x11]), Buffer.from([12, 0, 0, 0]), Buffer.from('1.2.3.4.5.6\0', 'latin1'),
    ]);
    const un = Buffer.concat([
      Buffer.from([0xfe, 0xff, 0x00, 0xe0]), Buffer.from([item.length, 0, 0, 0]), item,
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    const input = buildPart10(ctInstance());
    // Splice the UN element in before (0008,5000)+: after ImageType/SOP etc. Simplest: rebuild by hand.
    const parsed = parsePart10(input);
    const after = parsed.els.find((e) => e.tag > 0x00081140)!;
    const header = Buffer.from([0x08, 0x00, 0x40, 0x11, 0x55, 0x4e, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const spliced = Buffer.concat([input.subarray(0, after.start), header, un, input.subarray(after.start)]);
    const res = deidentify(spliced, compileRules(DEFAULT_RULES), { uidSecret: SECRET }, IDENTITY);
    const v = values(res.output);
    expect(v.get('ReferencedImageSequence[0]|ReferencedSOPInstanceUID')).toBe(remapUid('1.2.3.4.5.6', SECRET));
    dcmdump(res.output);
  });
});

describe('transfer syntaxes and pixel data', () => {
  it('copies encapsulated pixel data byte for byte', () => {
    const fragments = [Buffer.alloc(0), Buffer.concat([Buffer.from([0xff, 0xd8]), pixels(1000), Buffer.from([0xff, 0xd9])])];
    const els = ctInstance([{ tag: 0x7fe00010, vr: 'OB', fragments }]);
    const res = deid(els, DEFAULT_RULES, TS.jpegBaseline);
    expect(res.transferSyntaxUid).toBe(TS.jpegBaseline);
    const inPix = elementBytes(res.input, 0x7fe00010);
    const outPix = elementBytes(res.output, 0x7fe00010);
    expect(outPix.length).toBeGreaterThan(1000);
    expect(outPix.equals(inPix)).toBe(true);
    dcmdump(res.output);
  });

  it('handles Implicit VR Little Endian input (VRs from the dictionary)', () => {
    const res = deid(ctInstance(), DEFAULT_RULES, TS.implicit);
    const v = values(res.output);
    expect(v.get('|PatientName')).toBe('RESEARCH^0001');
    expect(v.get('|StudyDate')).toBe('20200105');
    expect(v.get('|Rows')).toBe('8');
    expect(dcmjsParse(res.output).PatientID).toBe('RID0001');
  });

  it('handles Explicit VR Big Endian input', () => {
    const res = deid(ctInstance([{ tag: 0x00280010, vr: 'US', value: us(8, false) }, { tag: 0x00280011, vr: 'US', value: us(8, false) }]), DEFAULT_RULES, TS.bigEndian);
    const v = values(res.output);
    expect(v.get('|PatientName')).toBe('RESEARCH^0001');
    expect(v.get('|Rows')).toBe('8');
    expect(dcmdump(res.output)).toContain('RESEARCH^0001');
  });

  it('handles Deflated Explicit VR Little Endian (inflate, edit, deflate)', () => {
    const res = deid(ctInstance(), DEFAULT_RULES, TS.deflated);
    expect(res.transferSyntaxUid).toBe(TS.deflated);
    const v = values(res.output);
    expect(v.get('|PatientName')).toBe('RESEARCH^0001');
    expect(res.output.includes(Buffer.from('RESEARCH^0001'))).toBe(false); // it is compressed
    expect(dcmdump(res.output)).toContain('RESEARCH^0001');
    expect(readIndexFields(res.output).patientId).toBe('RID0001');
  });

  it('sorts elements that arrive out of order', () => {
    const input = buildPart10(ctInstance());
    const parsed = parsePart10(input);
    const a = parsed.els.find((e) => e.tag === 0x00080060)!; // Modality
    const b = parsed.els.find((e) => e.tag === 0x00080070)!; // Manufacturer (adjacent)
    const swapped = Buffer.concat([input.subarray(0, a.start), input.subarray(b.start, b.end), input.subarray(a.start, a.end), input.subarray(b.end)]);
    const out = deidentify(swapped, compileRules(DEFAULT_RULES), { uidSecret: SECRET }, IDENTITY).output;
    const tags = parsePart10(out).els.map((e) => e.tag);
    expect([...tags].sort((x, y) => x - y)).toEqual(tags);
    dcmdump(out);
  });
});

describe('private attributes', () => {
  const privates: TElem[] = [
    { tag: 0x00090010, vr: 'LO', value: 'ACME 1.1' },
    { tag: 0x00091001, vr: 'LO', value: 'PT MRN998877 DOE' },
    { tag: 0x00091010, vr: 'DS', value: '2.5' },
    { tag: 0x00190010, vr: 'LO', value: 'SIEMENS MR HEADER' },
    { tag: 0x00190011, vr: 'LO', value: 'OTHER VENDOR' },
    { tag: 0x0019100c, vr: 'IS', value: '1000' },
    { tag: 0x00191020, vr: 'LO', value: 'SIEMENS SECRET' },
    { tag: 0x0019110c, vr: 'LO', value: 'NOT SIEMENS' },
    { tag: 0x00290010, vr: 'LO', value: 'SIEMENS CSA HEADER' },
    { tag: 0x00291010, vr: 'OB', value: Buffer.alloc(32, 1) },
  ];

  it('removes every private element and creator by default', () => {
    const v = values(deid(ctInstance(privates)).output);
    expect([...v.keys()].filter((k) => /\|\((0009|0019|0029),/.test(k))).toEqual([]);
  });

  it('Retain Safe Private keeps only the listed safe attributes, with their creator', () => {
    const v = values(deid(ctInstance(privates), rules({ options: ['retainSafePrivate'] })).output);
    expect(v.get('|(0019,0010)')).toBe('SIEMENS MR HEADER');
    expect(v.get('|(0019,100C)')).toBe('1000');
    expect(v.has('|(0019,1020)')).toBe(false);
    expect(v.has('|(0019,110C)')).toBe(false); // same offset, other creator
    expect(v.has('|(0019,0011)')).toBe(false);
    expect(v.has('|(0009,0010)')).toBe(false);
    expect(v.has('|(0029,0010)')).toBe(false);
  });

  it('an override with a private selector keeps that element and its creator', () => {
    const v = values(deid(ctInstance(privates), rules({ overrides: [{ selector: '(0009,[ACME 1.1],10)', action: 'keep' }] })).output);
    expect(v.get('|(0009,0010)')).toBe('ACME 1.1');
    expect(v.get('|(0009,1010)')).toBe('2.5');
    expect(v.has('|(0009,1001)')).toBe(false);
  });

  it('a mask override keeps a whole private group', () => {
    const v = values(deid(ctInstance(privates), rules({ overrides: [{ selector: '(0029,xxxx)', action: 'keep' }] })).output);
    expect(v.get('|(0029,0010)')).toBe('SIEMENS CSA HEADER');
    expect(v.has('|(0029,1010)')).toBe(true);
    expect(v.has('|(0009,0010)')).toBe(false);
  });
});

describe('attributes the table does not name', () => {
  const extra: TElem[] = [
    { tag: 0x00081090, vr: 'LO', value: 'Model X' }, // keep-list
    { tag: 0x00102201, vr: 'LO', value: 'Canis lupus' }, // keep-list (species)
    { tag: 0x00380008, vr: 'CS', value: 'ADMITTED' }, // visit group: not kept
    { tag: 0x00187006, vr: 'LT', value: 'Detector of Dr Who' }, // free text in a kept group: not kept
    { tag: 0x00181020, vr: 'LO', value: 'VE11' }, // acquisition group: kept
    { tag: 0x00181003, vr: 'LO', value: 'DEV-0042' }, // acquisition group, but listed as not kept
    { tag: 0x00200242, vr: 'UI', value: '1.2.3.4.5.6.7' }, // not in the table, not a class/coding UID: remapped
    { tag: 0x00081150, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' }, // keep-list UID
    { tag: 0x0008041f, vr: 'DT', value: '20200115120000' }, // unnamed date: follows the date options
  ];
  it('keeps the keep-list, remaps unnamed UIDs, treats unnamed dates like dates, removes the rest', () => {
    const v = values(deid(ctInstance(extra)).output);
    expect(v.get('|ManufacturerModelName')).toBe('Model X');
    expect(v.get('|PatientSpeciesDescription')).toBe('Canis lupus');
    expect(v.get('|SoftwareVersions')).toBe('VE11');
    expect(v.has('|VisitStatusID')).toBe(false);
    expect(v.has('|DetectorDescription')).toBe(false);
    expect(v.has('|DeviceID')).toBe(false);
    expect(v.get('|SOPInstanceUIDOfConcatenationSource')).toBe(remapUid('1.2.3.4.5.6.7', SECRET));
    expect(v.get('|ReferencedSOPClassUID')).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(v.get('|StudyUpdateDateTime')).toBe('20200105120000');
    const basic = values(deid(ctInstance(extra), rules({ options: [] })).output);
    expect(basic.has('|StudyUpdateDateTime')).toBe(false);
    expect(basic.get('|LongitudinalTemporalInformationModified')).toBe('REMOVED');
    const full = values(deid(ctInstance(extra), rules({ options: ['retainLongitudinalFullDates'] })).output);
    expect(full.get('|StudyUpdateDateTime')).toBe('20200115120000');
    expect(full.get('|StudyDate')).toBe('20200115');
    expect(full.get('|LongitudinalTemporalInformationModified')).toBe('UNMODIFIED');
  });
});

describe('options on a CT instance', () => {
  it('Basic Profile alone writes dummy dates, not shifted ones', () => {
    const v = values(deid(ctInstance([{ tag: 0x00080023, vr: 'DA', value: '20200115' }]), rules({ options: [] })).output);
    expect(v.get('|StudyDate')).toBe('');
    expect(v.get('|ContentDate')).toBe('19000101');
  });

  it('Retain Patient Characteristics keeps sex and age', () => {
    const v = values(deid(ctInstance(), rules({ options: ['retainPatientCharacteristics'] })).output);
    expect(v.get('|PatientSex')).toBe('M');
    expect(v.get('|PatientAge')).toBe('059Y');
  });

  it('Clean Descriptors keeps descriptions with this patient\'s identifiers replaced by a token', () => {
    const v = values(deid(ctInstance(), rules({ options: ['cleanDescriptors'] })).output);
    expect(v.get('|SeriesDescription')).toBe('AXIAL 5mm');
    expect(v.get('|StudyDescription')).toBe('CT CHEST for [removed]');
    const code = values(deid(ctInstance(), rules({ options: ['cleanDescriptors'] })).output);
    expect(code.get('DeidentificationMethodCodeSequence[1]|CodeValue')).toBe('113105');
  });

  it('Retain Device Identity pseudonymises AE titles', () => {
    const v = values(deid(ctInstance([{ tag: 0x00080055, vr: 'AE', value: 'CT_ROOM_3' }]), rules({ options: ['retainDeviceIdentity'] })).output);
    expect(v.get('|StationAETitle')).toMatch(/^AE[0-9A-F]{12}$/);
  });

  it('writes one method code per option, in CID 7050 order', () => {
    const v = values(deid(ctInstance(), rules({ options: ['retainUids', 'cleanGraphics', 'retainLongitudinalModifiedDates'] })).output);
    const codes = [0, 1, 2, 3].map((i) => v.get(`DeidentificationMethodCodeSequence[${i}]|CodeValue`));
    expect(codes).toEqual(['113100', '113103', '113107', '113110']);
  });
});

describe('overrides', () => {
  it('keep, remove, empty, set (also adding an absent attribute), hash, uid, shiftDate', () => {
    const r = rules({ options: [], overrides: [
      { selector: 'StudyDescription', action: 'keep' },
      { selector: 'Manufacturer', action: 'remove' },
      { selector: 'SliceThickness', action: 'empty' },
      { selector: 'BodyPartExamined', action: 'set', value: 'CHEST' },
      { selector: 'Rows', action: 'set', value: '8' },
      { selector: 'StudyID', action: 'hash' },
      { selector: 'SOPClassUID', action: 'keep' },
      { selector: 'StudyDate', action: 'shiftDate' },
      { selector: '(0008,0018)', action: 'keep' },
    ] });
    const res = deid(ctInstance(), r);
    const v = values(res.output);
    expect(v.get('|StudyDescription')).toBe('CT CHEST for DOE JOHN');
    expect(v.has('|Manufacturer')).toBe(false);
    expect(v.get('|SliceThickness')).toBe('');
    expect(v.get('|BodyPartExamined')).toBe('CHEST');
    expect(v.get('|Rows')).toBe('8');
    expect(v.get('|StudyID')).toMatch(/^[0-9A-F]{16}$/);
    expect(v.get('|StudyDate')).toBe('20200105');
    expect(v.get('|LongitudinalTemporalInformationModified')).toBe('MODIFIED');
    expect(res.targetUids.sop).toBe(res.sourceUids.sop);
    expect(res.changed.find((c) => c.keyword === 'BodyPartExamined')?.action).toBe('added');
    dcmdump(res.output);
  });

  it('lookup replaces from the identity\'s tables and empties on a miss', () => {
    const r = rules({ overrides: [{ selector: 'InstitutionName', action: 'lookup', value: 'sites' }, { selector: 'StationName', action: 'lookup', value: 'sites' }] });
    const identity = { ...IDENTITY, lookups: { sites: { 'St Elsewhere Hospital': 'SITE-01' } } };
    const v = values(deid(ctInstance([{ tag: 0x00081010, vr: 'SH', value: 'CT1' }]), r, undefined, identity).output);
    expect(v.get('|InstitutionName')).toBe('SITE-01');
    expect(v.get('|StationName')).toBe('');
  });

  it('path overrides act only inside the named sequence', () => {
    const r = rules({ overrides: [
      { selector: 'RequestAttributesSequence', action: 'keep' },
      { selector: 'RequestAttributesSequence/RequestedProcedureID', action: 'hash' },
      { selector: 'RequestAttributesSequence/ScheduledProcedureStepDescription', action: 'keep' },
    ] });
    const v = values(deid(ctInstance([
      { tag: 0x00401001, vr: 'SH', value: 'RP-TOP' },
      { tag: 0x00400275, vr: 'SQ', value: [[
        { tag: 0x00080050, vr: 'SH', value: 'ACC12345' },
        { tag: 0x00400007, vr: 'LO', value: 'CT CHEST' },
        { tag: 0x00401001, vr: 'SH', value: 'RP777' },
      ]] },
    ]), r).output);
    expect(v.get('RequestAttributesSequence[0]|RequestedProcedureID')).toMatch(/^[0-9A-F]{16}$/);
    expect(v.get('RequestAttributesSequence[0]|ScheduledProcedureStepDescription')).toBe('CT CHEST');
    expect(v.get('RequestAttributesSequence[0]|AccessionNumber')).toBe('');
    expect(v.has('|RequestedProcedureID')).toBe(false);
  });

  it('an explicit PatientName override wins over the research identity', () => {
    const v = values(deid(ctInstance(), rules({ overrides: [{ selector: 'PatientName', action: 'hash' }] })).output);
    expect(v.get('|PatientName')).toMatch(/^[0-9A-F]{16}$/);
    expect(v.get('|PatientID')).toBe('RID0001');
  });
});

describe('quarantine of burned-in text risk', () => {
  it.each([
    ['BurnedInAnnotation YES', [{ tag: 0x00280301, vr: 'CS', value: 'YES' }], 'burned-in-annotation', /Burned In Annotation \(0028,0301\) is YES/],
    ['RecognizableVisualFeatures YES', [{ tag: 0x00280302, vr: 'CS', value: 'YES' }], 'recognizable-features', /Recognizable Visual Features/],
    ['ultrasound', [{ tag: 0x00080060, vr: 'CS', value: 'US' }], 'ultrasound', /^ultrasound: /],
    ['modality OT', [{ tag: 0x00080060, vr: 'CS', value: 'OT' }], 'secondary-capture', /^secondary capture: /],
    ['secondary capture class', [{ tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' }], 'secondary-capture', /^secondary capture: /],
    ['multi-frame secondary capture', [{ tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7.4' }], 'secondary-capture', /^secondary capture: /],
    ['screen save', [{ tag: 0x00080008, vr: 'CS', value: 'DERIVED\\SECONDARY\\SCREEN SAVE' }], 'screen-save', /screen save/],
    ['encapsulated PDF', [{ tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.104.1' }], 'document', /encapsulated or scanned document/],
  ] as Array<[string, TElem[], string, RegExp]>)('%s', (_name, extra, code, reason) => {
    const res = deid(ctInstance(extra));
    expect(res.quarantine?.codes).toEqual([code]);
    expect(res.quarantine?.reason).toMatch(reason);
    expect(res.output.length).toBeGreaterThan(0);
    expect(deid(ctInstance(extra), rules({ quarantineBurnedIn: false })).quarantine).toBeUndefined();
  });

  it('does not quarantine an ordinary CT, a CT reformat, nor BurnedInAnnotation NO', () => {
    expect(deid(ctInstance()).quarantine).toBeUndefined();
    expect(deid(ctInstance([{ tag: 0x00080008, vr: 'CS', value: 'DERIVED\\SECONDARY\\MPR' }])).quarantine).toBeUndefined();
    expect(deid(ctInstance([{ tag: 0x00280301, vr: 'CS', value: 'NO' }])).quarantine).toBeUndefined();
  });
});

describe('refusals', () => {
  const run = (buf: Buffer, identity: DeidIdentity = IDENTITY, secret = SECRET) => () => deidentify(buf, compileRules(DEFAULT_RULES), { uidSecret: secret }, identity);
  const expectAppError = (fn: () => unknown, code: string, message: RegExp) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe(code);
      expect((e as AppError).message).toMatch(message);
      expect((e as AppError).message).not.toMatch(/Doe|MRN998877|ACC12345/);
      return;
    }
    throw new Error('expected an error');
  };

  it('refuses non-DICOM, truncated and inconsistent files with errors that name no values', () => {
    expectAppError(run(Buffer.from('hello world')), 'BAD_REQUEST', /not a DICOM Part-10 file/);
    const good = buildPart10(ctInstance());
    expectAppError(run(good.subarray(0, good.length - 100)), 'BAD_REQUEST', /Malformed DICOM/);
    const parsed = parsePart10(good);
    const name = parsed.els.find((e) => e.tag === 0x00100010)!;
    const bad = Buffer.from(good);
    bad.writeUInt16LE(0xfff0, name.start + 6); // PatientName claims 65520 bytes
    expectAppError(run(bad), 'BAD_REQUEST', /Malformed DICOM/);
  });

  it('refuses instances without study, series or SOP UIDs, and DICOMDIRs', () => {
    const noStudy = buildPart10(ctInstance().filter((e) => e.tag !== 0x0020000d));
    expectAppError(run(noStudy), 'BAD_REQUEST', /Study Instance UID/);
    const dicomdir = buildPart10(ctInstance([{ tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.1.3.10' }]));
    expectAppError(run(dicomdir), 'UNSUPPORTED_MEDIA_TYPE', /DICOMDIR/);
  });

  it('refuses bad identities and short secrets', () => {
    const good = buildPart10(ctInstance());
    expectAppError(run(good, { ...IDENTITY, researchName: 'Müller^Research' }), 'VALIDATION', /Research name/);
    expectAppError(run(good, { ...IDENTITY, researchId: '' }), 'VALIDATION', /Research ID/);
    expectAppError(run(good, { ...IDENTITY, dateOffsetDays: 1.5 }), 'VALIDATION', /Date offset/);
    expectAppError(run(good, IDENTITY, 'short'), 'VALIDATION', /secret/);
  });
});

describe('character sets', () => {
  it('replaces a UTF-8 patient name with the ASCII research name under ISO_IR 192', () => {
    const res = deid(ctInstance([
      { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 192' },
      { tag: 0x00100010, vr: 'PN', value: Buffer.from('Müller^Jürgen ', 'utf8').toString('latin1') },
    ]));
    expect(res.output.includes(Buffer.from('Müller', 'utf8'))).toBe(false);
    expect(values(res.output).get('|SpecificCharacterSet')).toBe('ISO_IR 192');
    expect(dcmjsParse(res.output).PatientName).toEqual([{ Alphabetic: 'RESEARCH^0001' }]);
  });
});

describe('preview', () => {
  it('readElementsForPreview flattens sequences with paths and summarises binary values', () => {
    const els = readElementsForPreview(buildPart10(ctInstance([{ tag: 0x00081140, vr: 'SQ', value: [[{ tag: 0x00081155, vr: 'UI', value: '1.2.3' }]] }])));
    expect(els.find((e) => e.keyword === 'PatientName')).toEqual({ tag: '(0010,0010)', keyword: 'PatientName', vr: 'PN', value: 'Doe^John' });
    expect(els.find((e) => e.keyword === 'ReferencedSOPInstanceUID')?.path).toBe('ReferencedImageSequence[0]');
    expect(els.find((e) => e.keyword === 'PixelData')?.value).toBe('<OW 128 bytes>');
    expect(els.find((e) => e.keyword === 'Rows')?.value).toBe('8');
  });

  it('previewDiff pairs before and after values with the action', () => {
    const rows = previewDiff(buildPart10(ctInstance([{ tag: 0x00081140, vr: 'SQ', value: [[{ tag: 0x00081155, vr: 'UI', value: '1.2.3' }]] }])), DEFAULT_RULES, { uidSecret: SECRET }, IDENTITY);
    const row = (k: string) => rows.find((r) => r.keyword === k);
    expect(row('PatientName')).toMatchObject({ before: 'Doe^John', after: 'RESEARCH^0001', action: 'changed' });
    expect(row('StudyDescription')).toMatchObject({ before: 'CT CHEST for DOE JOHN', action: 'removed' });
    expect(row('Rows')).toMatchObject({ before: '8', after: '8', action: 'kept' });
    expect(row('PatientIdentityRemoved')).toMatchObject({ after: 'YES', action: 'added' });
    expect(row('ReferencedSOPInstanceUID')).toMatchObject({ path: 'ReferencedImageSequence[0]', before: '1.2.3', after: remapUid('1.2.3', SECRET), action: 'changed' });
    expect(row('PixelData')?.action).toBe('kept');
  });
});
