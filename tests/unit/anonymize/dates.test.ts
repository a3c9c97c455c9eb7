import { describe, expect, it } from 'vitest';
import { shiftDA, shiftDT } from '../../../lib/anonymize/dates';

describe('date shifting', () => {
  it('shifts DA across months, years and leap days', () => {
    expect(shiftDA('20200115', -10)).toBe('20200105');
    expect(shiftDA('20200301', -1)).toBe('20200229');
    expect(shiftDA('20210301', -1)).toBe('20210228');
    expect(shiftDA('20191231', 1)).toBe('20200101');
    expect(shiftDA('20200115', 0)).toBe('20200115');
  });
  it('shifts multiple values and ranges, keeps empty values', () => {
    expect(shiftDA('20200115\\20200120', 5)).toBe('20200120\\20200125');
    expect(shiftDA('20200115-20200120', 5)).toBe('20200120-20200125');
    expect(shiftDA('-20200120', 5)).toBe('-20200125');
    expect(shiftDA('', 5)).toBe('');
  });
  it('reads the old ACR-NEMA form', () => {
    expect(shiftDA('2020.01.15', -10)).toBe('20200105');
  });
  it('refuses what is not a date', () => {
    expect(shiftDA('2020011', 1)).toBeNull();
    expect(shiftDA('20200231', 1)).toBeNull();
    expect(shiftDA('yesterday', 1)).toBeNull();
  });
  it('shifts DT keeping time, fraction and timezone, at the value\'s precision', () => {
    expect(shiftDT('20200115103000.123456', -10)).toBe('20200105103000.123456');
    expect(shiftDT('20200115103000+0100', -10)).toBe('20200105103000+0100');
    expect(shiftDT('20200115103000-0500', -10)).toBe('20200105103000-0500');
    expect(shiftDT('202001', -10)).toBe('201912');
    expect(shiftDT('2020', 400)).toBe('2021');
    expect(shiftDT('20200115-20200116', 1)).toBe('20200116-20200117');
    expect(shiftDT('2020011510:30', 1)).toBeNull();
  });
});
