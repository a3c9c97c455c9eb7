/**
 * Burned-in text quarantine by SOP class, modality and the instance's own flags: the lists in
 * burned-in.ts checked against literal UIDs, and every entry driven through the engine.
 */
import { describe, expect, it } from 'vitest';
import { HELD_MODALITIES, HELD_SOP_CLASSES, HELD_SOP_CLASS_PREFIXES, burnedInReason } from '../../../lib/anonymize/burned-in';
import { deidentify } from '../../../lib/anonymize/engine';
import { compileRules } from '../../../lib/anonymize/profile';
import { DEFAULT_RULES, ruleSetSchema } from '../../../lib/anonymize/rules';
import { sopClassName } from '../../../lib/anonymize/sop-classes';
import { IDENTITY, SECRET, type TElem, buildPart10, ctInstance } from './helpers';

const held = compileRules(DEFAULT_RULES);
const off = compileRules(ruleSetSchema.parse({ ...DEFAULT_RULES, quarantineBurnedIn: false }));
const run = (extra: TElem[], rules = held) => deidentify(buildPart10(ctInstance(extra)), rules, { uidSecret: SECRET }, IDENTITY);
const sop = (uid: string): TElem => ({ tag: 0x00080016, vr: 'UI', value: uid });
const modality = (m: string): TElem => ({ tag: 0x00080060, vr: 'CS', value: m });

// Literal UIDs from PS3.4 / PS3.6, written out here on purpose (not read from the code under test).
const ULTRASOUND = ['1.2.840.10008.5.1.4.1.1.6', '1.2.840.10008.5.1.4.1.1.6.1', '1.2.840.10008.5.1.4.1.1.6.2', '1.2.840.10008.5.1.4.1.1.3', '1.2.840.10008.5.1.4.1.1.3.1'];
const SECONDARY_CAPTURE = ['1.2.840.10008.5.1.4.1.1.7', '1.2.840.10008.5.1.4.1.1.7.1', '1.2.840.10008.5.1.4.1.1.7.2', '1.2.840.10008.5.1.4.1.1.7.3', '1.2.840.10008.5.1.4.1.1.7.4'];
const VISIBLE_LIGHT = [
  '1.2.840.10008.5.1.4.1.1.77.1', '1.2.840.10008.5.1.4.1.1.77.2',
  '1.2.840.10008.5.1.4.1.1.77.1.1', '1.2.840.10008.5.1.4.1.1.77.1.1.1', // endoscopic, video endoscopic
  '1.2.840.10008.5.1.4.1.1.77.1.2', '1.2.840.10008.5.1.4.1.1.77.1.2.1', // microscopic, video microscopic
  '1.2.840.10008.5.1.4.1.1.77.1.3', // slide-coordinates microscopic
  '1.2.840.10008.5.1.4.1.1.77.1.4', '1.2.840.10008.5.1.4.1.1.77.1.4.1', // photographic, video photographic
  '1.2.840.10008.5.1.4.1.1.77.1.5.1', '1.2.840.10008.5.1.4.1.1.77.1.5.2', // ophthalmic photography 8 / 16 bit
  '1.2.840.10008.5.1.4.1.1.77.1.5.5', '1.2.840.10008.5.1.4.1.1.77.1.5.6', // wide field ophthalmic photography
  '1.2.840.10008.5.1.4.1.1.77.1.6', // whole slide microscopy
  '1.2.840.10008.5.1.4.1.1.77.1.7', // dermoscopic photography
];
const BY_FAMILY = ['1.2.840.10008.5.1.4.1.1.77.1.5.4', '1.2.840.10008.5.1.4.1.1.77.1.5.7', '1.2.840.10008.5.1.4.1.1.77.1.5.8', '1.2.840.10008.5.1.4.1.1.77.1.8', '1.2.840.10008.5.1.4.1.1.104.1', '1.2.840.10008.5.1.4.1.1.104.3'];
const MODALITIES = ['US', 'IVUS', 'ES', 'XC', 'OP', 'SC', 'OT', 'DOC'];
const NOT_HELD = [
  ['1.2.840.10008.5.1.4.1.1.2', 'CT'], ['1.2.840.10008.5.1.4.1.1.2.1', 'CT'], ['1.2.840.10008.5.1.4.1.1.4', 'MR'],
  ['1.2.840.10008.5.1.4.1.1.4.1', 'MR'], ['1.2.840.10008.5.1.4.1.1.1', 'CR'], ['1.2.840.10008.5.1.4.1.1.1.1', 'DX'],
  ['1.2.840.10008.5.1.4.1.1.1.2', 'MG'], ['1.2.840.10008.5.1.4.1.1.12.1', 'XA'], ['1.2.840.10008.5.1.4.1.1.20', 'NM'],
  ['1.2.840.10008.5.1.4.1.1.128', 'PT'], ['1.2.840.10008.5.1.4.1.1.481.2', 'RTDOSE'], ['1.2.840.10008.5.1.4.1.1.66.4', 'SEG'],
  ['1.2.840.10008.5.1.4.1.1.77', 'CT'], ['1.2.840.10008.5.1.4.1.1.6.20', 'CT'], ['1.2.840.10008.5.1.4.1.1.7.5', 'CT'],
];

describe('the held lists are exactly the classes and modalities named in the docs', () => {
  it('SOP classes', () => {
    expect(HELD_SOP_CLASSES.map((c) => c.uid).sort()).toEqual([...ULTRASOUND, ...SECONDARY_CAPTURE, ...VISIBLE_LIGHT].sort());
    expect(HELD_SOP_CLASS_PREFIXES.map((p) => p.prefix)).toEqual(['1.2.840.10008.5.1.4.1.1.77.1.', '1.2.840.10008.5.1.4.1.1.104.']);
  });
  it('modalities', () => {
    expect(Object.keys(HELD_MODALITIES).sort()).toEqual([...MODALITIES].sort());
  });
  it('every held class has a name in the UI lists', () => {
    for (const uid of [...ULTRASOUND, ...SECONDARY_CAPTURE, ...VISIBLE_LIGHT]) expect(sopClassName(uid), uid).not.toBe(uid);
  });
});

describe('the engine holds', () => {
  it.each([...ULTRASOUND, ...SECONDARY_CAPTURE, ...VISIBLE_LIGHT])('SOP class %s, even with Modality CT', (uid) => {
    const res = run([sop(uid), modality('CT')]);
    expect(res.quarantine?.reason).toMatch(/^SOP class /);
    expect(res.quarantine?.reason).toContain(sopClassName(uid));
    expect(res.sopClassUid).toBe(uid);
    expect(run([sop(uid), modality('CT')], off).quarantine).toBeUndefined();
  });

  it.each(BY_FAMILY)('SOP class %s, by its family', (uid) => {
    expect(run([sop(uid), modality('CT')]).quarantine?.reason).toMatch(/^SOP class (Visible Light image|Encapsulated document) \(/);
  });

  it.each(MODALITIES)('Modality %s, even with the CT Image class', (m) => {
    const res = run([modality(m)]);
    expect(res.quarantine?.reason).toMatch(new RegExp(`^Modality ${m}: `));
    expect(run([modality(m)], off).quarantine).toBeUndefined();
  });

  it('Burned In Annotation YES on any class; screen saves and SECONDARY image types', () => {
    expect(run([{ tag: 0x00280301, vr: 'CS', value: 'YES' }]).quarantine?.reason).toMatch(/BurnedInAnnotation/);
    expect(run([{ tag: 0x00280302, vr: 'CS', value: 'YES' }]).quarantine?.reason).toMatch(/RecognizableVisualFeatures/);
    expect(run([{ tag: 0x00080008, vr: 'CS', value: 'DERIVED\\SECONDARY\\SCREEN SAVE' }]).quarantine?.reason).toMatch(/screen save/);
    expect(run([{ tag: 0x00080008, vr: 'CS', value: 'DERIVED\\SECONDARY\\MPR' }]).quarantine?.reason).toMatch(/SECONDARY/);
  });
});

describe('the engine does not hold', () => {
  it.each(NOT_HELD)('SOP class %s with Modality %s', (uid, m) => {
    expect(run([sop(uid), modality(m)]).quarantine).toBeUndefined();
  });

  it('Burned In Annotation NO, lower-case modality codes are still matched', () => {
    expect(run([{ tag: 0x00280301, vr: 'CS', value: 'NO' }]).quarantine).toBeUndefined();
    expect(burnedInReason({ modality: 'us ', sopClassUid: '1.2.840.10008.5.1.4.1.1.2' })).toMatch(/Modality US/);
  });
});
