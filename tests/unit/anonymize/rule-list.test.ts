/**
 * The generated rule list the rules editor shows: one row per Table E.1-1 row with the resolved
 * action and why (Basic Profile, option, override, research identity), the overrides that are not
 * plain tags, the keep-list and the defaults; and the diff used by "Check".
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_ROWS } from '../../../lib/anonymize/profile';
import { diffRuleLists, generatedRuleList } from '../../../lib/anonymize/rule-list';
import { DEFAULT_RULES, type RuleSet } from '../../../lib/anonymize/rules';
import { previewInstance } from '../../../lib/anonymize/engine';
import { IDENTITY, SECRET, buildPart10, ctInstance } from './helpers';

const rules = (over: Partial<RuleSet>): RuleSet => ({ ...DEFAULT_RULES, ...over });
const byKeyword = (list: ReturnType<typeof generatedRuleList>, k: string) => list.find((r) => r.keyword === k)!;

describe('generated rule list', () => {
  it('has a row for every row of Table E.1-1', () => {
    const list = generatedRuleList(DEFAULT_RULES);
    const tableKeys = new Set(list.filter((r) => r.key.startsWith('table:')).map((r) => r.key.slice('table:'.length)));
    expect(tableKeys.size).toBe(new Set(PROFILE_ROWS.map((r) => r.tag)).size);
    for (const row of PROFILE_ROWS) expect(tableKeys.has(row.tag), row.tag).toBe(true);
    expect(list.find((r) => r.tag === '(50XX,XXXX)')?.action).toBe('X remove');
  });

  it('says why: the Basic Profile, an option, an override, the research identity', () => {
    const plain = generatedRuleList(DEFAULT_RULES);
    expect(byKeyword(plain, 'PatientSex')).toMatchObject({ action: 'Z empty', why: 'basic', code: 'Z' });
    expect(byKeyword(plain, 'StudyDate')).toMatchObject({ action: 'C clean', why: 'option', via: 'retainLongitudinalModifiedDates' });
    expect(byKeyword(plain, 'PatientName')).toMatchObject({ action: 'set to the research name', why: 'identity' });
    expect(byKeyword(plain, 'StudyInstanceUID')).toMatchObject({ action: 'U remap UID', why: 'basic' });

    const chars = generatedRuleList(rules({ options: ['retainPatientCharacteristics'] }));
    expect(byKeyword(chars, 'PatientSex')).toMatchObject({ action: 'K keep', why: 'option', via: 'retainPatientCharacteristics' });
    expect(byKeyword(chars, 'StudyDate')).toMatchObject({ action: 'Z empty', why: 'basic', code: 'Z' });
    expect(chars.find((r) => r.key === 'default:date')?.action).toBe('X remove');

    const over = generatedRuleList(
      rules({
        overrides: [
          { selector: 'PatientSex', action: 'keep' },
          { selector: '(0019,[SIEMENS MR HEADER],0C)', action: 'keep' },
          { selector: 'ClinicalTrialProtocolID', action: 'set', value: 'TRIAL-42' },
          { selector: 'PatientName', action: 'hash' },
          { selector: 'InstitutionName', action: 'lookup', value: 'sites' },
        ],
      }),
    );
    expect(byKeyword(over, 'PatientSex')).toMatchObject({ action: 'K keep', why: 'override', via: 'override #1' });
    expect(over.find((r) => r.tag === '(0019,[SIEMENS MR HEADER],0C)')).toMatchObject({ action: 'K keep', why: 'override', via: 'override #2' });
    expect(byKeyword(over, 'ClinicalTrialProtocolID')).toMatchObject({ action: 'set "TRIAL-42"', why: 'override' });
    expect(byKeyword(over, 'PatientName')).toMatchObject({ action: 'hash (stable pseudonym)', why: 'override' });
    expect(byKeyword(over, 'InstitutionName').action).toMatch(/look up in table "sites"/);
  });

  it('lists the safe private attributes only with Retain Safe Private', () => {
    expect(generatedRuleList(DEFAULT_RULES).some((r) => r.why === 'safe-private')).toBe(false);
    const safe = generatedRuleList(rules({ options: ['retainSafePrivate'] }));
    expect(safe.find((r) => r.tag === '(0019,[SIEMENS MR HEADER],0C)')).toMatchObject({ why: 'safe-private', action: 'K keep' });
  });

  it('diffs two rule sets by resolved action', () => {
    const changes = diffRuleLists(generatedRuleList(DEFAULT_RULES), generatedRuleList(rules({ overrides: [{ selector: 'PatientSex', action: 'keep' }] })));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ keyword: 'PatientSex', before: 'Z empty', after: 'K keep' });
    expect(diffRuleLists(generatedRuleList(DEFAULT_RULES), generatedRuleList(DEFAULT_RULES))).toEqual([]);
  });
});

describe('previewInstance', () => {
  it('returns the rows, counts and the quarantine verdict of one engine run', () => {
    const us = buildPart10(ctInstance([{ tag: 0x00080060, vr: 'CS', value: 'US' }, { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.6.1' }]));
    const p = previewInstance(us, DEFAULT_RULES, { uidSecret: SECRET }, IDENTITY);
    expect(p.quarantine?.codes).toEqual(['ultrasound']);
    expect(p.quarantine?.reason).toMatch(/^ultrasound: /);
    expect(p.counts.removed + p.counts.changed + p.counts.kept + p.counts.added).toBe(p.rows.length);
    expect(p.rows.find((r) => r.keyword === 'PatientID')).toMatchObject({ before: 'MRN998877', after: IDENTITY.researchId, action: 'changed' });
    expect(previewInstance(us, rules({ quarantineBurnedIn: false }), { uidSecret: SECRET }, IDENTITY).quarantine).toBeUndefined();
  });
});
