/**
 * Precise quarantine: the table in burned-in.ts checked against literal UIDs and Image Type values
 * (written out here on purpose, not read from the code under test), every entry driven through the
 * engine with its reason code; derived CT/MR/PET/XA reformats, MIPs, projections and subtractions
 * pass unless Burned In Annotation is YES; the pool's narrowing and widening.
 */
import { describe, expect, it } from 'vitest';
import { QUARANTINE_REASON_CODES, QUARANTINE_RULES, describeQuarantineReason, quarantineCodes, quarantineSummary } from '../../../lib/anonymize/burned-in';
import { deidentify } from '../../../lib/anonymize/engine';
import { compileRules } from '../../../lib/anonymize/profile';
import { DEFAULT_RULES, ruleSetSchema } from '../../../lib/anonymize/rules';
import { sopClassName } from '../../../lib/anonymize/sop-classes';
import { IDENTITY, SECRET, TS, type TElem, buildPart10, ctInstance } from './helpers';

const held = compileRules(DEFAULT_RULES);
const off = compileRules(ruleSetSchema.parse({ ...DEFAULT_RULES, quarantineBurnedIn: false }));
const withOptions = (quarantine: unknown) => compileRules(ruleSetSchema.parse({ ...DEFAULT_RULES, quarantine }));
const run = (extra: TElem[], rules = held, syntax?: string) =>
  deidentify(buildPart10(ctInstance(extra), syntax ? { ts: syntax } : undefined), rules, { uidSecret: SECRET }, IDENTITY);
const sop = (uid: string): TElem => ({ tag: 0x00080016, vr: 'UI', value: uid });
const modality = (m: string): TElem => ({ tag: 0x00080060, vr: 'CS', value: m });
const imageType = (v: string): TElem => ({ tag: 0x00080008, vr: 'CS', value: v });
const bia = (v: string): TElem => ({ tag: 0x00280301, vr: 'CS', value: v });
const codes = (extra: TElem[], rules = held, syntax?: string) => run(extra, rules, syntax).quarantine?.codes;

const P = '1.2.840.10008.5.1.4.1.1.';
const ULTRASOUND = [`${P}6`, `${P}6.1`, `${P}6.2`, `${P}3`, `${P}3.1`];
const SECONDARY_CAPTURE = [`${P}7`, `${P}7.1`, `${P}7.2`, `${P}7.3`, `${P}7.4`];
const VIDEO = [`${P}77.1.1.1`, `${P}77.1.2.1`, `${P}77.1.4.1`];
const VISIBLE_LIGHT = [
  `${P}77.1`, `${P}77.2`, `${P}77.1.1`, `${P}77.1.2`, `${P}77.1.3`, `${P}77.1.4`, `${P}77.1.5.1`, `${P}77.1.5.2`,
  `${P}77.1.5.5`, `${P}77.1.5.6`, `${P}77.1.6`, `${P}77.1.7`,
  // by family: ophthalmic tomography and later VL classes
  `${P}77.1.5.4`, `${P}77.1.5.7`, `${P}77.1.5.8`, `${P}77.1.8`,
];
const DOCUMENTS = [`${P}104.1`, `${P}104.2`, `${P}104.3`, `${P}104.4`, `${P}104.5`];
/** CR, DX, MG, IO (presentation and processing), XA, Enhanced XA, RF, Enhanced XRF. */
const ANNOTATION_EXPECTED = [`${P}1`, `${P}1.1`, `${P}1.1.1`, `${P}1.2`, `${P}1.2.1`, `${P}1.3`, `${P}1.3.1`, `${P}12.1`, `${P}12.1.1`, `${P}12.2`, `${P}12.2.1`];
const CT = `${P}2`;

/** [what, SOP class, extra attributes, expected code]: every class or marker the docs list, with its reason. */
const HOLD: [string, string, TElem[], string][] = [
  ...ULTRASOUND.map((u): [string, string, TElem[], string] => [`ultrasound class ${u}`, u, [modality('CT')], 'ultrasound']),
  ['modality US on a CT class', CT, [modality('US')], 'ultrasound'],
  ['modality IVUS', CT, [modality('IVUS')], 'ultrasound'],
  ...SECONDARY_CAPTURE.map((u): [string, string, TElem[], string] => [`SC class ${u}`, u, [modality('CT')], 'secondary-capture']),
  ['modality SC', CT, [modality('SC')], 'secondary-capture'],
  ['modality OT', CT, [modality('OT')], 'secondary-capture'],
  ['ImageType SCREEN SAVE on a CT class', CT, [imageType('DERIVED\\SECONDARY\\SCREEN SAVE')], 'screen-save'],
  ['ImageType SCREENSHOT', CT, [imageType('ORIGINAL\\PRIMARY\\SCREENSHOT')], 'screen-save'],
  ['Philips CT dose info', CT, [imageType('DERIVED\\SECONDARY\\DOSE_INFO')], 'dose-screen'],
  ['Siemens CT patient protocol', CT, [imageType('ORIGINAL\\PRIMARY\\OTHER\\CSA REPORT')], 'dose-screen'],
  ...VISIBLE_LIGHT.map((u): [string, string, TElem[], string] => [`VL class ${u}`, u, [modality('CT')], 'visible-light']),
  ['modality ES', CT, [modality('ES')], 'visible-light'],
  ['modality XC', CT, [modality('XC')], 'visible-light'],
  ['modality OP', CT, [modality('OP')], 'visible-light'],
  ...VIDEO.map((u): [string, string, TElem[], string] => [`video class ${u}`, u, [modality('ES')], 'video']),
  ...DOCUMENTS.map((u): [string, string, TElem[], string] => [`document class ${u}`, u, [modality('CT')], 'document']),
  [`document family ${P}104.9`, `${P}104.9`, [], 'document'],
  ['modality DOC', CT, [modality('DOC')], 'document'],
  ...ANNOTATION_EXPECTED.map((u): [string, string, TElem[], string] => [`no Burned In Annotation on ${u}`, u, [modality('DX')], 'burned-in-annotation-absent']),
  ['Burned In Annotation YES on a CT class', CT, [bia('YES')], 'burned-in-annotation'],
  ['Burned In Annotation YES on a CT MPR', CT, [bia('YES'), imageType('DERIVED\\SECONDARY\\REFORMATTED')], 'burned-in-annotation'],
  ['Burned In Annotation YES on an XA subtraction', `${P}12.1`, [bia('YES'), imageType('DERIVED\\PRIMARY\\SINGLE PLANE\\SUBTRACTION')], 'burned-in-annotation'],
  ['Recognizable Visual Features YES', CT, [{ tag: 0x00280302, vr: 'CS', value: 'YES' }], 'recognizable-features'],
];

/** [what, SOP class, modality, Image Type]: pixels computed by the modality; no Burned In Annotation unless said. */
const PASS: [string, string, string, string][] = [
  ['CT coronal MPR', CT, 'CT', 'DERIVED\\SECONDARY\\REFORMATTED'],
  ['CT MPR', CT, 'CT', 'DERIVED\\SECONDARY\\MPR'],
  ['CT curved MPR', CT, 'CT', 'DERIVED\\SECONDARY\\CURVED MPR'],
  ['CT MIP', CT, 'CT', 'DERIVED\\SECONDARY\\MIP'],
  ['CT projection (topogram reformat)', CT, 'CT', 'DERIVED\\SECONDARY\\PROJECTION IMAGE'],
  ['Enhanced CT reformat', `${P}2.1`, 'CT', 'DERIVED\\SECONDARY\\REFORMATTED'],
  ['MR MIP', `${P}4`, 'MR', 'DERIVED\\SECONDARY\\MIP'],
  ['MR subtraction', `${P}4`, 'MR', 'DERIVED\\PRIMARY\\SUBTRACTION'],
  ['MR MPR', `${P}4`, 'MR', 'DERIVED\\SECONDARY\\MPR'],
  ['Enhanced MR projection', `${P}4.1`, 'MR', 'DERIVED\\SECONDARY\\PROJECTION IMAGE'],
  ['PET MIP', `${P}128`, 'PT', 'DERIVED\\SECONDARY\\MIP'],
  ['Enhanced PET reformat', `${P}130`, 'PT', 'DERIVED\\SECONDARY\\REFORMATTED'],
  ['XA subtraction (no Burned In Annotation)', `${P}12.1`, 'XA', 'DERIVED\\PRIMARY\\SINGLE PLANE\\SUBTRACTION'],
  ['Enhanced XA projection (no Burned In Annotation)', `${P}12.1.1`, 'XA', 'DERIVED\\SECONDARY\\PROJECTION IMAGE'],
  ['RF subtraction', `${P}12.2`, 'RF', 'DERIVED\\PRIMARY\\SUBTRACTION'],
  ['CT axial original', CT, 'CT', 'ORIGINAL\\PRIMARY\\AXIAL'],
  ['MR original', `${P}4`, 'MR', 'ORIGINAL\\PRIMARY\\M\\ND'],
  ['NM', `${P}20`, 'NM', 'ORIGINAL\\PRIMARY\\STATIC'],
  ['RT Dose', `${P}481.2`, 'RTDOSE', ''],
  ['Segmentation', `${P}66.4`, 'SEG', 'DERIVED\\PRIMARY'],
];

describe('the table', () => {
  it('has one entry per reason code, each with a text', () => {
    expect(QUARANTINE_RULES.map((r) => r.code)).toEqual([...QUARANTINE_REASON_CODES]);
    for (const r of QUARANTINE_RULES) expect(r.text.length, r.code).toBeGreaterThan(20);
  });
  it('names every class it holds in the UI lists', () => {
    for (const uid of [...ULTRASOUND, ...SECONDARY_CAPTURE, ...VISIBLE_LIGHT.slice(0, 12), ...VIDEO, ...DOCUMENTS, ...ANNOTATION_EXPECTED]) expect(sopClassName(uid), uid).not.toBe(uid);
  });
});

describe('the engine holds, with the reason code', () => {
  it.each(HOLD)('%s', (_what, uid, extra, code) => {
    const res = run([sop(uid), ...extra]);
    expect(res.quarantine?.codes).toContain(code);
    expect(res.quarantine?.reason).toContain(QUARANTINE_RULES.find((r) => r.code === code)!.text);
    expect(res.sopClassUid).toBe(uid);
    expect(run([sop(uid), ...extra], off).quarantine).toBeUndefined();
  });

  it('video by its transfer syntax (MPEG-4), whatever the class', () => {
    expect(codes([sop(`${P}12.1`), modality('XA'), bia('NO')], held, '1.2.840.10008.1.2.4.102')).toEqual(['video']);
    expect(codes([sop(`${P}12.1`), modality('XA'), bia('NO')], held, TS.explicit)).toBeUndefined();
  });

  it('every reason that applies, in table order', () => {
    expect(codes([sop(`${P}7`), modality('SC'), bia('YES'), imageType('DERIVED\\SECONDARY\\SCREEN SAVE')])).toEqual(['burned-in-annotation', 'secondary-capture', 'screen-save']);
  });
});

describe('the engine does not hold what the modality computed', () => {
  it.each(PASS)('%s', (_what, uid, m, type) => {
    const extra = [sop(uid), modality(m), ...(type ? [imageType(type)] : [])];
    expect(run(extra).quarantine).toBeUndefined();
    // ...unless the sender says the pixels carry text.
    expect(codes([...extra, bia('YES')])).toEqual(['burned-in-annotation']);
  });

  it('projection X-ray originals pass when Burned In Annotation says NO', () => {
    for (const uid of ANNOTATION_EXPECTED) expect(run([sop(uid), modality('DX'), bia('NO'), imageType('ORIGINAL\\PRIMARY')]).quarantine, uid).toBeUndefined();
  });

  it('a screen save of a reformat is still a screen save', () => {
    expect(codes([sop(CT), imageType('DERIVED\\SECONDARY\\SCREEN SAVE\\MPR')])).toEqual(['screen-save']);
  });

  it('matches code strings whatever their case and padding', () => {
    expect(quarantineCodes({ modality: 'us ', sopClassUid: ` ${CT} ` })).toEqual(['ultrasound']);
    expect(quarantineCodes({ sopClassUid: CT, imageType: 'derived\\secondary\\ screen save ' })).toEqual(['screen-save']);
  });
});

describe("the pool's rules narrow and widen", () => {
  it('ignore: the listed reasons no longer hold; the others still do', () => {
    const rules = withOptions({ ignore: ['ultrasound', 'burned-in-annotation-absent'] });
    expect(run([sop(`${P}6.1`), modality('US')], rules).quarantine).toBeUndefined();
    expect(run([sop(`${P}1.1`), modality('DX')], rules).quarantine).toBeUndefined();
    expect(codes([sop(`${P}6.1`), modality('US'), bia('YES')], rules)).toEqual(['burned-in-annotation']);
    expect(codes([sop(`${P}7`)], rules)).toEqual(['secondary-capture']);
  });

  it('hold: extra SOP classes, modalities and Image Type values, reason pool-rule', () => {
    const rules = withOptions({ holdSopClasses: [`${P}20`], holdModalities: ['pt'], holdImageTypes: ['localizer'] });
    expect(codes([sop(`${P}20`), modality('NM')], rules)).toEqual(['pool-rule']);
    expect(codes([sop(`${P}128`), modality('PT')], rules)).toEqual(['pool-rule']);
    expect(codes([sop(CT), modality('CT'), imageType('ORIGINAL\\PRIMARY\\LOCALIZER')], rules)).toEqual(['pool-rule']);
    expect(run([sop(CT), modality('CT'), imageType('ORIGINAL\\PRIMARY\\AXIAL')], rules).quarantine).toBeUndefined();
    expect(run([sop(CT), modality('CT'), imageType('DERIVED\\SECONDARY\\REFORMATTED')], held).quarantine).toBeUndefined();
    // Quarantine switched off wins over the additions.
    const offWithHold = compileRules(ruleSetSchema.parse({ ...DEFAULT_RULES, quarantineBurnedIn: false, quarantine: { holdModalities: ['PT'] } }));
    expect(run([sop(`${P}128`), modality('PT')], offWithHold).quarantine).toBeUndefined();
  });

  it('validates the option and keeps older rule sets as they were', () => {
    expect(ruleSetSchema.safeParse({ ...DEFAULT_RULES, quarantine: { ignore: ['no-such-reason'] } }).success).toBe(false);
    expect(ruleSetSchema.safeParse({ ...DEFAULT_RULES, quarantine: { holdSopClasses: ['not a uid'] } }).success).toBe(false);
    expect(ruleSetSchema.safeParse({ ...DEFAULT_RULES, quarantine: { holdModalities: ['C;T'] } }).success).toBe(false);
    expect(ruleSetSchema.safeParse({ ...DEFAULT_RULES, quarantine: { unknown: true } }).success).toBe(false);
    // Missing, or present but empty: the defaults, and the same fingerprint as a rule set saved before the option existed.
    const stored = { profile: 'basic', options: ['retainLongitudinalModifiedDates'], overrides: [], quarantineBurnedIn: true };
    expect(ruleSetSchema.parse(stored).quarantine).toBeUndefined();
    expect(ruleSetSchema.parse({ ...stored, quarantine: { ignore: [] } }).quarantine).toBeUndefined();
    const fp = compileRules(ruleSetSchema.parse(stored)).fingerprint;
    expect(compileRules(ruleSetSchema.parse({ ...stored, quarantine: {} })).fingerprint).toBe(fp);
    expect(withOptions({ ignore: ['ultrasound'] }).fingerprint).not.toBe(fp);
    expect(ruleSetSchema.parse({ ...stored, quarantine: { holdModalities: [' pt '] } }).quarantine).toEqual({ holdModalities: ['PT'] });
  });

  it('the summary lists what is held, ignored and added', () => {
    const s = quarantineSummary(ruleSetSchema.parse({ ...DEFAULT_RULES, quarantine: { ignore: ['ultrasound'], holdModalities: ['NM'], holdImageTypes: ['LOCALIZER'], holdSopClasses: [`${P}20`] } }));
    expect(s.on).toBe(true);
    expect(s.ignored.map((r) => r.code)).toEqual(['ultrasound']);
    expect(s.held.map((r) => r.code)).not.toContain('ultrasound');
    expect(s.held).toHaveLength(QUARANTINE_REASON_CODES.length - 1);
    expect(s.added).toEqual([`SOP class ${P}20`, 'Modality NM', 'Image Type LOCALIZER']);
    expect(quarantineSummary(DEFAULT_RULES)).toMatchObject({ on: true, ignored: [], added: [] });
  });
});

describe('the stored reason', () => {
  it('is the codes; the owner reads their text; an older free-text reason stays as it was', () => {
    expect(describeQuarantineReason('ultrasound pool-rule')).toEqual({ codes: ['ultrasound', 'pool-rule'], text: expect.stringMatching(/^ultrasound: .*; held by this pool's own rules/) });
    expect(describeQuarantineReason('Modality US: ultrasound carries burned-in patient details')).toEqual({ codes: [], text: 'Modality US: ultrasound carries burned-in patient details' });
  });
});
