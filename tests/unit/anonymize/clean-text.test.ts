/**
 * The C ("clean") action on text (clean-text.ts): what it removes, what it must leave alone, and the
 * engine applying it with Clean Descriptors using identifiers found anywhere in the instance.
 */
import { describe, expect, it } from 'vitest';
import { REMOVED_TOKEN, cleanText, compileIdentifiers, identifierTokens } from '../../../lib/anonymize/clean-text';
import { deidentify, readElementsForPreview } from '../../../lib/anonymize/engine';
import { compileRules } from '../../../lib/anonymize/profile';
import { ruleSetSchema } from '../../../lib/anonymize/rules';
import { IDENTITY, SECRET, buildPart10, ctInstance } from './helpers';

const ids = compileIdentifiers([
  ...identifierTokens('name', 'Doe^John^Quincy'),
  ...identifierTokens('name', 'Ng^Li'),
  ...identifierTokens('name', 'Chest^Anne'),
  ...identifierTokens('name', 'Brown^Robert^^Mr^Jr'),
  ...identifierTokens('id', 'ACC12345'),
  ...identifierTokens('id', 'MRI'),
  ...identifierTokens('place', 'St Elsewhere Hospital'),
  ...identifierTokens('place', '1 Main St, Springfield'),
]);
const clean = (s: string) => cleanText(s, ids);

describe('cleaning removes', () => {
  it.each([
    // dates, with times next to them
    ['CT 20200115 and 2020-01-15 follow-up', 'CT [removed] and [removed] follow-up'],
    ['prior 15/01/2020', 'prior [removed]'],
    ['prior 01/15/2020', 'prior [removed]'],
    ['prior 15.01.2020', 'prior [removed]'],
    ['prior 15-01-2020', 'prior [removed]'],
    ['prior 2020/01/15', 'prior [removed]'],
    ['prior 2020.1.5', 'prior [removed]'],
    ['prior 1/2/20', 'prior [removed]'],
    ['prior 15 Jan 2020', 'prior [removed]'],
    ['prior 15-JAN-2020', 'prior [removed]'],
    ['prior 15th of January 2020', 'prior [removed]'],
    ['prior January 15, 2020', 'prior [removed]'],
    ['prior Jan 15 2020', 'prior [removed]'],
    ['prior Sept. 3, 2019', 'prior [removed]'],
    ['prior January 2020', 'prior [removed]'],
    ['prior 15 January', 'prior [removed]'],
    ['prior 3rd March', 'prior [removed]'],
    ['prior March 3rd', 'prior [removed]'],
    ['prior 5th May', 'prior [removed]'],
    ['prior Oct 3rd', 'prior [removed]'],
    ['at 2020-01-15T10:30:00', 'at [removed]'],
    ['at 2020-01-15 10:30:15.123+0100', 'at [removed]'],
    ['at 15/01/2020 10:30', 'at [removed]'],
    ['at 15/01/2020, 9:05 pm', 'at [removed]'],
    ['at 10:30 15/01/2020', 'at [removed]'],
    ['at 20200115103000', 'at [removed]'],
    // phones and e-mail
    ['Dr Smith 555-0101', '[removed]'],
    ['call (555) 123-4567', 'call [removed]'],
    ['call +44 20 7946 0958', 'call [removed]'],
    ['call 020 7946 0958', 'call [removed]'],
    ['call 555.123.4567', 'call [removed]'],
    ['call 555 123 4567', 'call [removed]'],
    ['call +1-555-123-4567 ext', 'call [removed] ext'],
    ['mail john.doe@example.org', 'mail [removed]'],
    ['mail dr_smith+rad@hospital.nhs.uk now', 'mail [removed] now'],
    // identifier-like digit runs
    ['MRN998877 scan', '[removed] scan'],
    ['ID 1234567', 'ID [removed]'],
    ['ref 123456', 'ref [removed]'],
    // titles with names
    ['seen by Dr. J. Smith', 'seen by [removed]'],
    ['seen by Mrs Jones', 'seen by [removed]'],
    ['seen by DR. SMITH', 'seen by [removed]'],
    ['seen by Prof Anne Smithers', 'seen by [removed]'],
    // this instance's identifiers, in any case and order
    ['CT CHEST for DOE JOHN', 'CT CHEST for [removed]'],
    ['for John Q. Doe', 'for [removed]'],
    ['for doe, john quincy', 'for [removed]'],
    ['Seen by Li Ng', 'Seen by [removed]'],
    ['Anne to review', '[removed] to review'],
    ['Robert Brown Jr', '[removed] Jr'],
    ['acc ACC12345', 'acc [removed]'],
    ['St Elsewhere Hospital CT', '[removed] CT'],
    ['from Springfield', 'from [removed]'],
    ['at 1 Main St', 'at [removed]'],
  ])('%s', (input, expected) => {
    expect(clean(input)).toBe(expected);
  });

  it('drops instead of marking when asked (CS, or a value that would grow too long)', () => {
    expect(cleanText('CT 20200115 DOE', ids, '')).toBe('CT');
    expect(cleanText('20200115', ids, '')).toBe('');
  });
});

describe('cleaning keeps clinical text intact', () => {
  it.each([
    'CT CHEST W CONTRAST', 'AX T2 FLAIR', 'MR BRAIN W/WO', 'DWI b1000', 'DWI b 500 1000', '3.0T', 'W/L 400/40',
    '5mm 1.25mm 0.625mm', 'CTA HEAD NECK', 'PET/CT FDG', 'T1 MPRAGE SAG 1mm', 'DR CHEST PA/LAT', 'MRS SVS TE 30',
    'MS LESIONS FLAIR', 'MR LIVER', 'C-SPINE 3-VIEW', 'US ABDOMEN', 'kVp 120 mAs 250', 'CTDIvol 12.5 mGy', 'ECG gated 70%',
    'OCT 6x6 MACULA', 'OCT 12 LINE', 'Lesion may be 5 mm', 'SERIES 2 DECAY CORR', 'AXIAL 5mm', 'CHEST ROUTINE',
    'LUNG 1.0 B70f', 'POST 120 150 180 SEC', 'T2 TSE 2.5-5.0', 'SLICE 10-20', 'FOV 350 x 350', 'Phase 1 of 3',
    'Version 1.2.3', 'SAG 3 MARKERS', '2 SEPTAL VIEWS', 'TI 2500', 'b=2000 s/mm2', 'CT HEAD 2 x 0.625', 'MRI BRAIN',
    'Delay 10:30 min', 'JR SPINE',
  ])('%s', (text) => {
    expect(clean(text)).toBe(text);
  });

  it('never uses honorifics, name suffixes or short clinical words as tokens', () => {
    const tokens = [...identifierTokens('name', 'Brown^Robert^^Mr^Jr'), ...identifierTokens('name', 'Chest^Anne')];
    expect(tokens).toEqual(expect.arrayContaining(['Brown', 'Robert', 'Anne']));
    expect(tokens).not.toContain('Mr');
    expect(tokens).not.toContain('Jr');
    expect(clean('MR CHEST')).toBe('MR CHEST');
  });

  it('returns the very same string when nothing is found', () => {
    const text = 'CT ABDOMEN PELVIS';
    expect(cleanText(text, null)).toBe(text);
    expect(REMOVED_TOKEN).toBe('[removed]');
  });
});

describe('Clean Descriptors in the engine', () => {
  const rules = ruleSetSchema.parse({ profile: 'basic', options: ['retainLongitudinalModifiedDates', 'cleanDescriptors'], overrides: [] });
  const input = buildPart10(ctInstance([
    { tag: 0x00081030, vr: 'LO', value: 'CT 20200115 and 2020-01-15 follow-up' },
    { tag: 0x0008103e, vr: 'LO', value: 'AX T2 FLAIR for Dr Smith 555-0101' },
    { tag: 0x00204000, vr: 'LT', value: 'Ask Anne Quist (anne.quist@example.org) about MRN998877, ACC12345, Referrer' },
    // Names only found inside sequences (removed themselves, but their values are still searched).
    { tag: 0x00400275, vr: 'SQ', value: [[{ tag: 0x00321032, vr: 'PN', value: 'Quist^Anne' }]] },
    { tag: 0x0040100a, vr: 'SQ', value: [[{ tag: 0x00080100, vr: 'SH', value: 'F-01' }, { tag: 0x00080102, vr: 'SH', value: '99X' }, { tag: 0x00080104, vr: 'LO', value: 'Follow-up' }, { tag: 0x00400254, vr: 'LO', value: 'per Quist on 15 Jan 2020' }]] },
  ]));
  const res = deidentify(input, compileRules(rules), { uidSecret: SECRET }, IDENTITY);
  const v = new Map(readElementsForPreview(res.output).map((e) => [`${e.path ?? ''}|${e.keyword ?? e.tag}`, e.value]));

  it('removes dates from descriptions while the study date is shifted (no offset leak)', () => {
    expect(v.get('|StudyDate')).toBe('20200105');
    expect(v.get('|StudyDescription')).toBe('CT [removed] and [removed] follow-up');
  });

  it('removes titled names, phones, e-mails, digit runs and identifiers from anywhere in the instance', () => {
    expect(v.get('|SeriesDescription')).toBe('AX T2 FLAIR for [removed]');
    expect(v.get('|ImageComments')).toBe('Ask [removed] about [removed]');
    for (const s of ['Anne', 'Quist', 'example.org', '998877', 'ACC12345', 'Smith', '0101', '2020-01-15']) {
      expect(res.output.includes(Buffer.from(s, 'latin1')), s).toBe(false);
    }
  });

  it('cleans text inside sequences the table cleans', () => {
    expect(v.get('ReasonForRequestedProcedureCodeSequence[0]|PerformedProcedureStepDescription')).toBe('per [removed] on [removed]');
    expect(v.get('ReasonForRequestedProcedureCodeSequence[0]|CodeMeaning')).toBe('Follow-up');
  });
});
