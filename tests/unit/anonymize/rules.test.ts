import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, PROFILE_OPTIONS, parseSelector, ruleSetSchema, validateRuleSet } from '../../../lib/anonymize/rules';
import { PROFILE_ROWS, compileRules, resolveRowCode } from '../../../lib/anonymize/profile';
import { KEEP_KEYWORDS } from '../../../lib/anonymize/keep-list';
import { tagForKeyword } from '../../../lib/anonymize/dictionary';

describe('rule set schema', () => {
  it('DEFAULT_RULES is the Basic Profile with modified (shifted) dates', () => {
    expect(validateRuleSet(DEFAULT_RULES)).toEqual({ ok: true, rules: DEFAULT_RULES });
    expect(DEFAULT_RULES.profile).toBe('basic');
    expect(DEFAULT_RULES.options).toEqual(['retainLongitudinalModifiedDates']);
    expect(DEFAULT_RULES.quarantineBurnedIn).toBe(true);
  });

  it('fills defaults', () => {
    expect(ruleSetSchema.parse({ profile: 'basic' })).toEqual({
      profile: 'basic',
      options: [],
      overrides: [],
      quarantineBurnedIn: true,
      patientIdentitySource: 'lookup-or-pseudonym',
    });
  });

  it('accepts every selector form', () => {
    const res = validateRuleSet({
      profile: 'basic',
      options: [...PROFILE_OPTIONS],
      overrides: [
        { selector: 'PatientName', action: 'keep' },
        { selector: '(0008,1030)', action: 'keep' },
        { selector: '0008103E', action: 'hash' },
        { selector: '(50xx,xxxx)', action: 'keep' },
        { selector: '(60XX,4000)', action: 'remove' },
        { selector: '(0009,[ACME 1.1],10)', action: 'keep' },
        { selector: 'RequestAttributesSequence/RequestedProcedureID', action: 'hash' },
        { selector: '/ReferencedStudySequence', action: 'keep' },
        { selector: 'StudyDate', action: 'shiftDate' },
        { selector: 'FrameOfReferenceUID', action: 'uid' },
        { selector: 'InstitutionName', action: 'lookup', value: 'sites' },
        { selector: 'BodyPartExamined', action: 'set', value: 'CHEST' },
        { selector: 'Rows', action: 'set', value: '512' },
      ],
    });
    expect(res.ok).toBe(true);
  });

  it.each([
    [{ selector: 'PatientNmae', action: 'keep' }, 'unknown keyword "PatientNmae"'],
    [{ selector: '(0010,001G)', action: 'keep' }, 'cannot read selector'],
    [{ selector: '(0010,0010', action: 'keep' }, 'cannot read selector'],
    [{ selector: 'PatientName', action: 'set' }, '"set" needs a value'],
    [{ selector: 'InstitutionName', action: 'lookup' }, '"lookup" needs a value'],
    [{ selector: 'PatientName', action: 'shiftDate' }, '"shiftDate" needs a DA, DT or TM attribute'],
    [{ selector: 'PatientName', action: 'uid' }, '"uid" needs a UI attribute'],
    [{ selector: 'Rows', action: 'hash' }, '"hash" needs a text or UI attribute'],
    [{ selector: 'ReferencedStudySequence', action: 'set', value: 'x' }, 'does not apply to the sequence'],
    [{ selector: 'StudyDate', action: 'set', value: '2020-01-01' }, 'DA value must be YYYYMMDD'],
    [{ selector: 'Rows', action: 'set', value: 'many' }, 'value must be numbers'],
    [{ selector: 'StationName', action: 'set', value: 'X'.repeat(17) }, 'longer than 16'],
    [{ selector: '(0008,[ACME],10)', action: 'keep' }, 'needs an odd group'],
    [{ selector: 'PatientName/PatientID', action: 'keep' }, 'is not a sequence'],
    [{ selector: '(0002,0013)', action: 'keep' }, 'cannot be overridden'],
    [{ selector: 'A//B', action: 'keep' }, 'empty path segment'],
  ])('rejects %j', (override, message) => {
    const res = validateRuleSet({ profile: 'basic', overrides: [override] });
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.errors.join('\n')).toContain(message);
      expect(res.errors[0]).toMatch(/^overrides\.0: /);
    }
  });

  it('rejects unknown options, profiles and duplicated options', () => {
    expect(validateRuleSet({ profile: 'basic', options: ['retainEverything'] }).ok).toBe(false);
    expect(validateRuleSet({ profile: 'full' }).ok).toBe(false);
    const dup = validateRuleSet({ profile: 'basic', options: ['retainUids', 'retainUids'] });
    expect(dup.ok).toBe(false);
  });

  it('parses selectors into matchers', () => {
    const mask = parseSelector('(60xx,4000)');
    expect(mask.ok && mask.selector.target).toEqual({ kind: 'mask', mask: 0xff00ffff, value: 0x60004000 });
    const priv = parseSelector('(0019,[SIEMENS MR HEADER],0C)');
    expect(priv.ok && priv.selector.target).toEqual({ kind: 'private', group: 0x19, creator: 'SIEMENS MR HEADER', offset: 0x0c });
    const path = parseSelector('/RequestAttributesSequence/RequestedProcedureID');
    expect(path.ok && path.selector.anchored).toBe(true);
    expect(path.ok && path.selector.ancestors).toEqual([{ kind: 'tag', tag: 0x00400275 }]);
    const retired = parseSelector('OverlayComments');
    expect(retired.ok && retired.selector.target).toEqual({ kind: 'tag', tag: 0x60004000 });
  });

  it('compileRules throws on invalid rules and fingerprints the rule set', () => {
    expect(() => compileRules({ profile: 'basic', options: [], overrides: [{ selector: 'Nope', action: 'keep' }], quarantineBurnedIn: true, patientIdentitySource: 'lookup-or-pseudonym' })).toThrow(/unknown keyword/);
    const a = compileRules(DEFAULT_RULES);
    const b = compileRules({ ...DEFAULT_RULES, options: [] });
    expect(a.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(compileRules(DEFAULT_RULES).fingerprint).toBe(a.fingerprint);
  });
});

describe('profile table', () => {
  it('holds every row of Table E.1-1 including the masks and the private row', () => {
    expect(PROFILE_ROWS.length).toBeGreaterThan(600);
    const tags = PROFILE_ROWS.map((r) => r.tag);
    expect(tags).toContain('(50XX,XXXX)');
    expect(tags).toContain('(60XX,3000)');
    expect(tags).toContain('(60XX,4000)');
    expect(tags.some((t) => t.startsWith('(GGGG'))).toBe(true);
  });

  it('keep-list keywords all exist in the dictionary', () => {
    for (const k of KEEP_KEYWORDS) expect(tagForKeyword(k), k).toBeDefined();
  });

  const row = (name: string) => PROFILE_ROWS.find((r) => r.name === name)!;
  it('date options beat other options; full dates beat modified dates', () => {
    const cal = row('Calibration Date');
    expect(resolveRowCode(cal, new Set(['retainDeviceIdentity']))).toEqual({ code: 'K', via: 'retainDeviceIdentity' });
    expect(resolveRowCode(cal, new Set(['retainDeviceIdentity', 'retainLongitudinalModifiedDates'])).code).toBe('C');
    expect(resolveRowCode(cal, new Set(['retainLongitudinalFullDates', 'retainLongitudinalModifiedDates'])).code).toBe('K');
    expect(resolveRowCode(cal, new Set()).code).toBe('X');
  });

  it('K beats C among other options', () => {
    const uid = row('Device UID');
    expect(resolveRowCode(uid, new Set(['retainUids', 'retainDeviceIdentity'])).code).toBe('K');
    const allergies = row('Allergies');
    expect(resolveRowCode(allergies, new Set(['retainPatientCharacteristics', 'cleanDescriptors'])).code).toBe('C');
  });
});
