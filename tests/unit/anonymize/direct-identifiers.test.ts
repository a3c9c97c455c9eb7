import { describe, expect, it } from 'vitest';
import { DIRECT_IDENTIFIER_KEYWORDS, keptDirectIdentifiers } from '@/lib/anonymize/direct-identifiers';
import { DEFAULT_RULES, type RuleSet } from '@/lib/anonymize/rules';

const rules = (over: Partial<RuleSet>): RuleSet => ({ ...DEFAULT_RULES, ...over }) as RuleSet;
const keep = (selector: string) => ({ selector, action: 'keep' as const });

describe('keptDirectIdentifiers: which direct identifiers a rule set keeps', () => {
  it('finds none in the default rules, nor with every option that keeps no direct identifier', () => {
    expect(keptDirectIdentifiers(DEFAULT_RULES)).toEqual([]);
    expect(keptDirectIdentifiers(rules({ options: ['retainPatientCharacteristics', 'retainLongitudinalFullDates', 'retainUids', 'retainDeviceIdentity', 'cleanDescriptors'] }))).toEqual([]);
  });

  it('names what a keep override keeps, by keyword or by tag, at any depth', () => {
    expect(keptDirectIdentifiers(rules({ overrides: [keep('PatientID')] }))).toEqual(['PatientID']);
    expect(keptDirectIdentifiers(rules({ overrides: [keep('(0010,0010)'), keep('00080050')] }))).toEqual(['PatientName', 'AccessionNumber']);
    expect(keptDirectIdentifiers(rules({ overrides: [keep('RequestAttributesSequence/AccessionNumber')] }))).toEqual(['AccessionNumber']);
    expect(keptDirectIdentifiers(rules({ overrides: [keep('PatientBirthDate'), keep('PatientAddress'), keep('PatientTelephoneNumbers'), keep('OtherPatientIDsSequence')] }))).toEqual(
      ['PatientBirthDate', 'OtherPatientIDsSequence', 'PatientAddress', 'PatientTelephoneNumbers'],
    );
  });

  it('sees a mask override that covers a direct identifier, and the option that keeps the institution address', () => {
    expect(keptDirectIdentifiers(rules({ overrides: [{ selector: '(0010,xxxx)', action: 'keep' }] }))).toEqual(
      expect.arrayContaining(['PatientID', 'PatientName', 'PatientBirthDate', 'PatientAddress']),
    );
    expect(keptDirectIdentifiers(rules({ options: ['retainInstitutionIdentity'] }))).toEqual(['InstitutionAddress']);
  });

  it('does not flag actions that replace the value (hash, set, lookup, remove), and a later override wins', () => {
    expect(
      keptDirectIdentifiers(
        rules({
          overrides: [
            { selector: 'PatientID', action: 'hash' },
            { selector: 'PatientName', action: 'set', value: 'X' },
            { selector: 'AccessionNumber', action: 'lookup', value: 'acc' },
            keep('PatientAddress'),
            { selector: 'PatientAddress', action: 'remove' },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it('keeps its list as data: every keyword is in the dictionary (a typo fails at import)', () => {
    expect(DIRECT_IDENTIFIER_KEYWORDS.length).toBeGreaterThan(15);
    expect(DIRECT_IDENTIFIER_KEYWORDS).toEqual(expect.arrayContaining(['PatientID', 'PatientName', 'PatientBirthDate', 'AccessionNumber', 'PatientAddress', 'PatientTelephoneNumbers', 'OtherPatientIDs']));
  });
});
