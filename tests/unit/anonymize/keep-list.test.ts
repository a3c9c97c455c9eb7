/**
 * Attributes Table E.1-1 does not name: kept only when on the explicit keep-list (keep-list.ts),
 * everything else removed: tags the dictionary does not know (whatever their group and VR), free
 * text, names. And the list still keeps what an image needs to display and validate.
 */
import { describe, expect, it } from 'vitest';
import { deidentify, readElementsForPreview, remapUid } from '../../../lib/anonymize/engine';
import { dictionaryEntries, formatTag, lookupTag, tagForKeyword } from '../../../lib/anonymize/dictionary';
import { FREE_TEXT_VRS, KEEP_KEYWORDS, KEEP_TECHNICAL, TECHNICAL_GROUPS, TECHNICAL_VRS } from '../../../lib/anonymize/keep-list';
import { technicalKeepCandidates } from '../../../lib/anonymize/keep-list-generate';
import { PROFILE_ROWS, compileRules } from '../../../lib/anonymize/profile';
import { DEFAULT_RULES, type RuleSet, ruleSetSchema } from '../../../lib/anonymize/rules';
import { IDENTITY, SECRET, TS, type TElem, buildPart10, ctInstance, us } from './helpers';

const tableTags = new Set(PROFILE_ROWS.map((r) => r.tag));

function deid(els: TElem[], rules: RuleSet = DEFAULT_RULES, ts?: string) {
  return deidentify(buildPart10(els, { ts }), compileRules(rules), { uidSecret: SECRET }, IDENTITY);
}

function values(output: Buffer): Map<string, string> {
  return new Map(readElementsForPreview(output).map((e) => [`${e.path ?? ''}|${e.keyword ?? e.tag}`, e.value]));
}

/** Every output element's tag, with its path ("" at the top level). */
function tags(output: Buffer): Set<string> {
  return new Set(readElementsForPreview(output).map((e) => `${e.path ?? ''}|${e.tag}`));
}

describe('the committed keep-list', () => {
  it('is what the documented rule gives with the current dictionary (regenerate with keep-list-generate.ts and review)', () => {
    expect(KEEP_TECHNICAL).toEqual(technicalKeepCandidates());
    expect(KEEP_TECHNICAL.length).toBeGreaterThan(2000);
  });

  it('holds only dictionary attributes of technical groups and VRs, none of them a Table E.1-1 row', () => {
    for (const entry of KEEP_TECHNICAL) {
      const [tagText, vr, keyword] = entry.split(' ');
      const tag = parseInt(tagText.slice(1, 5) + tagText.slice(6, 10), 16) >>> 0;
      expect(lookupTag(tag), entry).toEqual({ vr, keyword });
      expect(TECHNICAL_VRS.has(vr), entry).toBe(true);
      expect(FREE_TEXT_VRS.has(vr), entry).toBe(false);
      expect(TECHNICAL_GROUPS.includes(tag >>> 16), entry).toBe(true);
      expect(tableTags.has(tagText), entry).toBe(false);
    }
    for (const keyword of KEEP_KEYWORDS) expect(tableTags.has(formatTag(tagForKeyword(keyword)!)), keyword).toBe(false);
  });
});

describe('tags the dictionary does not know are removed, in every group', () => {
  const unknown: TElem[] = [
    { tag: 0x0008fff0, vr: 'DA', value: '19600302' },
    { tag: 0x0018fff0, vr: 'LO', value: 'UNKNOWN TAG DOE JOHN' },
    { tag: 0x0018fffa, vr: 'US', value: us(4242) },
    { tag: 0x0018fff8, vr: 'SQ', value: [[{ tag: 0x00180050, vr: 'DS', value: '5' }, { tag: 0x0018fff0, vr: 'LO', value: 'NESTED DOE' }]] },
    { tag: 0x0020fff2, vr: 'SH', value: 'MRN998877X' },
    { tag: 0x0020fff4, vr: 'UI', value: '1.2.3.4.5.6.7.8' },
    { tag: 0x0028fff4, vr: 'ST', value: 'Patient Doe, John' },
    { tag: 0x0054fff6, vr: 'LT', value: 'Home: 1 Main St' },
    { tag: 0x3002fff0, vr: 'LO', value: 'DOE JOHN RT' },
    { tag: 0x300afff8, vr: 'UT', value: 'Plan for John Doe' },
    { tag: 0x5200fff0, vr: 'LO', value: 'FG DOE' },
    { tag: 0x7fe0fff0, vr: 'OB', value: Buffer.from('DOE JOHN', 'latin1') },
    // Inside a kept sequence, two levels down.
    { tag: 0x52009229, vr: 'SQ', value: [[
      { tag: 0x00289110, vr: 'SQ', value: [[
        { tag: 0x00280030, vr: 'DS', value: '0.5\\0.5' },
        { tag: 0x0028fff0, vr: 'LO', value: 'DEEP DOE' },
      ]] },
    ]] },
  ];
  const unknownTags = [0x0008fff0, 0x0018fff0, 0x0018fffa, 0x0018fff8, 0x0020fff2, 0x0020fff4, 0x0028fff4, 0x0054fff6, 0x3002fff0, 0x300afff8, 0x5200fff0, 0x7fe0fff0];

  it('uses tags the dictionary really does not know', () => {
    for (const t of [...unknownTags, 0x0028fff0]) expect(lookupTag(t), formatTag(t)).toBeUndefined();
  });

  it.each([
    ['Explicit VR Little Endian', TS.explicit],
    ['Explicit VR Big Endian', TS.bigEndian],
    ['Implicit VR Little Endian', TS.implicit],
  ])('%s', (_name, ts) => {
    const res = deid(ctInstance(unknown), DEFAULT_RULES, ts);
    const out = tags(res.output);
    for (const t of unknownTags) expect(out.has(`|${formatTag(t)}`), formatTag(t)).toBe(false);
    expect(out.has('SharedFunctionalGroupsSequence[0]/PixelMeasuresSequence[0]|(0028,FFF0)')).toBe(false);
    expect(values(res.output).get('SharedFunctionalGroupsSequence[0]/PixelMeasuresSequence[0]|PixelSpacing')).toBe('0.5\\0.5');
    for (const s of ['DOE', 'MRN998877', 'Main St']) expect(res.output.includes(Buffer.from(s, 'latin1')), s).toBe(false);
    const removed = res.changed.filter((c) => c.action === 'remove').map((c) => c.tag);
    expect(removed).toEqual(expect.arrayContaining(unknownTags.map(formatTag)));
  });

  it('a keep override (tag or mask) keeps an unknown tag on purpose', () => {
    const r = ruleSetSchema.parse({ ...DEFAULT_RULES, overrides: [{ selector: '(0018,FFF0)', action: 'keep' }, { selector: '(0020,FFFx)', action: 'keep' }] });
    const v = values(deid(ctInstance(unknown), r).output);
    expect(v.get('|(0018,FFF0)')).toBe('UNKNOWN TAG DOE JOHN');
    expect(v.get('|(0020,FFF2)')).toBe('MRN998877X');
    expect(v.has('|(0028,FFF4)')).toBe(false);
  });
});

describe('free text the table does not name is removed', () => {
  const reviewed = new Set(KEEP_KEYWORDS);
  const textVrs = ['AE', 'AS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UR', 'UT'];
  // Every such attribute of the technical groups (the groups the old rule kept wholesale).
  const candidates = dictionaryEntries()
    .filter(([tag, e]) => TECHNICAL_GROUPS.includes(tag >>> 16) && textVrs.includes(e.vr) && !tableTags.has(formatTag(tag)) && !reviewed.has(e.keyword))
    .filter(([tag]) => tag >>> 16 !== 0x6000)
    .sort((a, b) => a[0] - b[0]);
  const valueFor = (tag: number, vr: string) => {
    const id = `FT${formatTag(tag).replace(/[(),]/g, '')}`; // e.g. FT3002020, unique per attribute
    if (vr === 'AS') return '042Y';
    if (vr === 'PN') return `Doe^${id}`;
    if (vr === 'UR') return `http://example.org/${id}`;
    return id;
  };
  const els: TElem[] = candidates.map(([tag, e]) => ({ tag, vr: e.vr, value: valueFor(tag, e.vr) }));

  it('covers the attributes the audit found and hundreds more', () => {
    const keywords = candidates.map(([, e]) => e.keyword);
    for (const k of ['PatientSetupLabel', 'RadiationMachineName', 'BeamName', 'ImageID', 'SegmentLabel', 'SegmentDescription', 'DoseComment', 'DetectorDescription', 'DeviceID', 'ContentDescription', 'TreatmentProtocols', 'FrameLabel']) {
      expect(keywords, k).toContain(k);
    }
    expect(candidates.length).toBeGreaterThan(200);
  });

  it('removes every one of them at the top level and inside a kept sequence', () => {
    const nested: TElem = { tag: 0x52009229, vr: 'SQ', value: [els.filter((e) => e.vr !== 'AS')] };
    const res = deid(ctInstance([...els, nested]));
    const out = tags(res.output);
    for (const e of els) {
      expect(out.has(`|${formatTag(e.tag)}`), `${formatTag(e.tag)} ${lookupTag(e.tag)?.keyword}`).toBe(false);
      expect(out.has(`SharedFunctionalGroupsSequence[0]|${formatTag(e.tag)}`), formatTag(e.tag)).toBe(false);
    }
    expect(res.output.includes(Buffer.from('FT', 'latin1'))).toBe(false);
    expect(out.has('|(5200,9229)')).toBe(true);
  });

  it('keeps the reviewed technical names (kernel, coils, sequence, software)', () => {
    const v = values(deid(ctInstance([
      { tag: 0x00181210, vr: 'SH', value: 'B30f' },
      { tag: 0x00181250, vr: 'SH', value: 'Head_32' },
      { tag: 0x00180024, vr: 'SH', value: '*tse2d1_15' },
      { tag: 0x00181020, vr: 'LO', value: 'syngo MR E11' },
      { tag: 0x00281054, vr: 'LO', value: 'HU' },
    ])).output);
    expect(v.get('|ConvolutionKernel')).toBe('B30f');
    expect(v.get('|ReceiveCoilName')).toBe('Head_32');
    expect(v.get('|SequenceName')).toBe('*tse2d1_15');
    expect(v.get('|SoftwareVersions')).toBe('syngo MR E11');
    expect(v.get('|RescaleType')).toBe('HU');
  });

  it('removes a technical attribute sent with a free-text VR', () => {
    const res = deid(ctInstance([
      { tag: 0x00280030, vr: 'LO', value: 'DOE JOHN' }, // PixelSpacing is DS
      { tag: 0x00180060, vr: 'SH', value: 'MRN998877' }, // KVP is DS
      { tag: 0x00180088, vr: 'DS', value: '5' }, // SpacingBetweenSlices, proper VR
    ]));
    const v = values(res.output);
    expect(v.has('|PixelSpacing')).toBe(false);
    expect(v.has('|KVP')).toBe(false);
    expect(v.get('|SpacingBetweenSlices')).toBe('5');
  });
});

describe('the keep-list keeps what images need', () => {
  const extra: TElem[] = [
    { tag: 0x00180060, vr: 'DS', value: '120' },
    { tag: 0x00180080, vr: 'DS', value: '2000' },
    { tag: 0x00180081, vr: 'DS', value: '90' },
    { tag: 0x00180087, vr: 'DS', value: '3' },
    { tag: 0x00181210, vr: 'SH', value: 'B30f' },
    { tag: 0x00185100, vr: 'CS', value: 'HFS' },
    { tag: 0x00201040, vr: 'LO', value: '' },
    { tag: 0x00201041, vr: 'DS', value: '50' },
    { tag: 0x00280006, vr: 'US', value: us(0) },
    { tag: 0x00280008, vr: 'IS', value: '1' },
    { tag: 0x00280030, vr: 'DS', value: '0.7\\0.7' },
    { tag: 0x00281052, vr: 'DS', value: '-1024' },
    { tag: 0x00281053, vr: 'DS', value: '1' },
    { tag: 0x00281054, vr: 'LO', value: 'HU' },
    { tag: 0x00282110, vr: 'CS', value: '00' },
    { tag: 0x00280301, vr: 'CS', value: 'NO' },
    { tag: 0x20500020, vr: 'CS', value: 'IDENTITY' },
    { tag: 0x52009229, vr: 'SQ', value: [[
      { tag: 0x00209116, vr: 'SQ', value: [[{ tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' }]] },
      { tag: 0x00289110, vr: 'SQ', value: [[{ tag: 0x00180050, vr: 'DS', value: '1' }, { tag: 0x00280030, vr: 'DS', value: '0.5\\0.5' }]] },
    ]] },
    { tag: 0x52009230, vr: 'SQ', value: [[
      { tag: 0x00209113, vr: 'SQ', value: [[{ tag: 0x00200032, vr: 'DS', value: '0\\0\\1' }]] },
      { tag: 0x00289145, vr: 'SQ', value: [[{ tag: 0x00281052, vr: 'DS', value: '0' }, { tag: 0x00281053, vr: 'DS', value: '2' }, { tag: 0x00281054, vr: 'LO', value: 'US' }]] },
    ]] },
  ];
  const input = buildPart10(ctInstance(extra));
  const before = values(input);
  const res = deidentify(input, compileRules(DEFAULT_RULES), { uidSecret: SECRET }, IDENTITY);
  const after = values(res.output);

  it.each([
    'SamplesPerPixel', 'PhotometricInterpretation', 'Rows', 'Columns', 'BitsAllocated', 'BitsStored', 'HighBit',
    'PixelRepresentation', 'PlanarConfiguration', 'NumberOfFrames', 'PixelSpacing', 'ImagePositionPatient',
    'ImageOrientationPatient', 'SliceThickness', 'SliceLocation', 'WindowCenter', 'WindowWidth', 'RescaleIntercept',
    'RescaleSlope', 'RescaleType', 'LossyImageCompression', 'BurnedInAnnotation', 'PresentationLUTShape', 'KVP',
    'RepetitionTime', 'EchoTime', 'MagneticFieldStrength', 'ConvolutionKernel', 'PatientPosition',
    'PositionReferenceIndicator', 'SeriesNumber', 'InstanceNumber', 'ImageType', 'Modality', 'SOPClassUID',
    'Manufacturer', 'PixelData',
  ])('%s', (keyword) => {
    expect(before.has(`|${keyword}`), `${keyword} in the input`).toBe(true);
    expect(after.get(`|${keyword}`)).toBe(before.get(`|${keyword}`));
  });

  it('keeps functional group geometry at depth and remaps the Frame of Reference UID', () => {
    for (const k of [
      'SharedFunctionalGroupsSequence[0]/PlaneOrientationSequence[0]|ImageOrientationPatient',
      'SharedFunctionalGroupsSequence[0]/PixelMeasuresSequence[0]|PixelSpacing',
      'SharedFunctionalGroupsSequence[0]/PixelMeasuresSequence[0]|SliceThickness',
      'PerFrameFunctionalGroupsSequence[0]/PlanePositionSequence[0]|ImagePositionPatient',
      'PerFrameFunctionalGroupsSequence[0]/PixelValueTransformationSequence[0]|RescaleSlope',
      'PerFrameFunctionalGroupsSequence[0]/PixelValueTransformationSequence[0]|RescaleType',
    ]) {
      expect(after.get(k), k).toBe(before.get(k));
    }
    expect(after.get('|FrameOfReferenceUID')).toBe(remapUid('1.2.826.0.1.3680043.2.1125.4', SECRET));
  });

  it('keeps overlay planes only with Clean Graphics', () => {
    const overlay: TElem[] = [
      { tag: 0x60000010, vr: 'US', value: us(8) },
      { tag: 0x60000011, vr: 'US', value: us(8) },
      { tag: 0x60000040, vr: 'CS', value: 'G' },
      { tag: 0x60000050, vr: 'SS', value: Buffer.from([1, 0, 1, 0]) },
      { tag: 0x60000100, vr: 'US', value: us(1) },
      { tag: 0x60000102, vr: 'US', value: us(0) },
      { tag: 0x60001500, vr: 'LO', value: 'DOE JOHN' }, // OverlayLabel: free text, never kept
      { tag: 0x60023000, vr: 'OW', value: Buffer.alloc(8) },
      { tag: 0x60020010, vr: 'US', value: us(8) },
    ];
    const basic = values(deid(ctInstance(overlay)).output);
    expect([...basic.keys()].some((k) => k.startsWith('|OverlayRows') || k.includes('(6000') || k.includes('(6002'))).toBe(false);
    const graphics = deid(ctInstance(overlay), ruleSetSchema.parse({ ...DEFAULT_RULES, options: ['retainLongitudinalModifiedDates', 'cleanGraphics'] }));
    const g = tags(graphics.output);
    for (const t of ['(6000,0010)', '(6000,0011)', '(6000,0040)', '(6000,0050)', '(6000,0100)', '(6000,0102)', '(6002,0010)', '(6002,3000)']) expect(g.has(`|${t}`), t).toBe(true);
    expect(g.has('|(6000,1500)')).toBe(false);
  });
});
