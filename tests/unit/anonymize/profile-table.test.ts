/**
 * Table E.1-1, row by row: for every row with a concrete tag, an instance carries the attribute
 * with a recognisable value of its VR; after de-identification with a given option set the
 * outcome must be what the row's code requires. The expected code is computed here from the JSON
 * with the documented precedence (docs/deidentification.md), independently of profile.ts.
 */
import { describe, expect, it } from 'vitest';
import rows from '../../../lib/anonymize/data/confidentiality_profile_attributes.json';
import { lookupTag } from '../../../lib/anonymize/dictionary';
import { deidentify, remapUid } from '../../../lib/anonymize/engine';
import { type El, parsePart10, valueString } from '../../../lib/anonymize/parse';
import { X_Z_RESOLVED_TO_X, compileRules } from '../../../lib/anonymize/profile';
import { DEFAULT_RULES, type OptionKey, PROFILE_OPTIONS, ruleSetSchema } from '../../../lib/anonymize/rules';
import { IDENTITY, SECRET, type TElem, buildPart10 } from './helpers';

type Row = Record<string, string>;
const COLUMN: Record<OptionKey, string> = {
  retainSafePrivate: 'rtnSafePrivOpt',
  retainUids: 'rtnUIDsOpt',
  retainDeviceIdentity: 'rtnDevIdOpt',
  retainInstitutionIdentity: 'rtnInstIdOpt',
  retainPatientCharacteristics: 'rtnPatCharsOpt',
  retainLongitudinalFullDates: 'rtnLongFullDatesOpt',
  retainLongitudinalModifiedDates: 'rtnLongModifDatesOpt',
  cleanDescriptors: 'cleanDescOpt',
  cleanStructuredContent: 'cleanStructContOpt',
  cleanGraphics: 'cleanGraphOpt',
};

/** The documented precedence: date options first (Full > Modified), then K > C, then basic. */
function expectedCode(row: Row, options: OptionKey[]): string {
  const on = (o: OptionKey) => options.includes(o) && row[COLUMN[o]];
  if (on('retainLongitudinalFullDates')) return row[COLUMN.retainLongitudinalFullDates];
  if (on('retainLongitudinalModifiedDates')) return row[COLUMN.retainLongitudinalModifiedDates];
  const codes = options.filter((o) => !o.startsWith('retainLongitudinal') && on(o)).map((o) => row[COLUMN[o]]);
  if (codes.includes('K')) return 'K';
  if (codes.includes('C')) return 'C';
  return row.basicProfile;
}

interface Case {
  row: Row;
  tag: number;
  vr: string;
  original: TElem;
}

const TEXT = new Set(['LO', 'SH', 'CS', 'LT', 'ST', 'UT', 'UC', 'AE']);
const BINARY_SIZE: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, AT: 4, FD: 8, SV: 8, UV: 8 };
const DATE = '20200115';
const SHIFTED = '20200105'; // IDENTITY.dateOffsetDays = -10

function valueFor(vr: string, i: number): TElem['value'] {
  if (vr === 'PN') return `ROW${i}^PN`;
  if (TEXT.has(vr)) return `R${i}X`;
  switch (vr) {
    case 'DA': return DATE;
    case 'DT': return `${DATE}103000`;
    case 'TM': return '103000';
    case 'AS': return '045Y';
    case 'UI': return `1.2.999.${i}`;
    case 'UR': return `http://example.org/r${i}`;
    case 'IS': return '12';
    case 'DS': return '1.5';
    case 'SQ': return [[
      { tag: 0x00080100, vr: 'SH', value: `SQ${i}` },
      { tag: 0x00081155, vr: 'UI', value: `1.2.999.77.${i}` },
    ]];
    default: return Buffer.alloc(BINARY_SIZE[vr] ?? 8, 0xab);
  }
}

it('resolves X/Z to X only for the Type 3 attributes listed', () => {
  expect([...X_Z_RESOLVED_TO_X.keys()]).toEqual([0x00081110]);
});

const cases: Case[] = [];
(rows as unknown as Row[]).forEach((row, i) => {
  const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/i.exec(row.tag);
  if (!m) return; // masks and the private row: tested below
  const tag = parseInt(m[1] + m[2], 16) >>> 0;
  const group = tag >>> 16;
  if (group === 0x0000 || group === 0x0002) return; // command / meta group: not in a dataset
  const entry = lookupTag(tag);
  if (!entry) return;
  const vr = entry.vr;
  cases.push({ row, tag, vr, original: { tag, vr, value: valueFor(vr, i) } });
});

const BASE: TElem[] = [
  { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
  { tag: 0x00080060, vr: 'CS', value: 'CT' },
];

function run(options: OptionKey[]) {
  const els = [...BASE, ...cases.map((c) => c.original)];
  const input = buildPart10(els);
  const rules = compileRules(ruleSetSchema.parse({ profile: 'basic', options, quarantineBurnedIn: false }));
  const res = deidentify(input, rules, { uidSecret: SECRET }, IDENTITY);
  const parsed = parsePart10(res.output);
  return { parsed, byTag: new Map(parsed.els.map((e) => [e.tag, e])) };
}

function check(c: Case, code: string, out: El | undefined, buf: Buffer): string | null {
  const { tag, vr, original } = c;
  if (tag === 0x00100010) return out && valueString(buf, out) === IDENTITY.researchName ? null : 'research name expected';
  if (tag === 0x00100020) return out && valueString(buf, out) === IDENTITY.researchId ? null : 'research id expected';
  const text = () => valueString(buf, out!);
  const bytes = () => buf.subarray(out!.vstart, out!.vstart + out!.len);
  const origText = typeof original.value === 'string' ? original.value : '';
  const item0 = () => out!.items?.[0]?.els ?? [];
  const itemValue = (t: number) => {
    const e = item0().find((x) => x.tag === t);
    return e ? valueString(buf, e) : undefined;
  };
  const remapped = (v: string) => remapUid(v, SECRET);
  switch (code) {
    case 'X':
      return out ? 'expected removed' : null;
    case 'Z':
    case 'X/Z':
      // Referenced Study Sequence is Type 3 wherever used: X is the conformant side of X/Z.
      if (code === 'X/Z' && tag === 0x00081110) return out ? 'expected removed (Type 3)' : null;
      if (!out) return 'expected present (zero length)';
      if (vr === 'SQ') return out.items!.length === 0 ? null : 'expected an empty sequence';
      return out.len === 0 ? null : 'expected zero length';
    case 'D':
    case 'X/D':
    case 'X/Z/D':
    case 'Z/D': {
      if (!out) return 'expected present (dummy)';
      if (vr === 'SQ') return out.items!.length === 1 && itemValue(0x00080100) === 'ANONYMIZED' ? null : 'expected dummy items';
      if (vr === 'UI') return text() === remapped(origText) ? null : 'expected remapped UID as dummy';
      const dummy: Record<string, string> = { PN: 'ANONYMIZED', DA: '19000101', DT: '19000101000000', TM: '000000', AS: '000Y', IS: '0', DS: '0', UR: 'urn:x-anonymized' };
      if (dummy[vr] !== undefined || TEXT.has(vr)) return text() === (dummy[vr] ?? 'ANONYMIZED') ? null : `expected dummy, got ${text()}`;
      return out.len > 0 && bytes().every((b) => b === 0) ? null : 'expected zero bytes';
    }
    case 'U':
      if (!out) return 'expected present (UID)';
      return text() === remapped(origText) ? null : 'expected remapped UID';
    case 'X/Z/U*':
      if (!out || vr !== 'SQ') return 'expected kept sequence';
      return itemValue(0x00080100) === `SQ${origTextOfSq(c)}` && itemValue(0x00081155) === remapped(sqUid(c))
        ? null
        : 'expected items kept with UIDs remapped';
    case 'K':
      if (!out) return 'expected kept';
      if (vr === 'SQ') return itemValue(0x00080100) === `SQ${origTextOfSq(c)}` ? null : 'expected sequence kept';
      if (typeof original.value === 'string') return text() === origText ? null : 'expected value kept';
      return bytes().equals(original.value as Buffer) ? null : 'expected bytes kept';
    case 'C':
      if (!out) return 'expected present (cleaned)';
      if (vr === 'SQ') return itemValue(0x00080100) === `SQ${origTextOfSq(c)}` && itemValue(0x00081155) === remapped(sqUid(c)) ? null : 'expected cleaned sequence';
      if (vr === 'DA') return text() === SHIFTED ? null : `expected shifted date, got ${text()}`;
      if (vr === 'DT') return text() === `${SHIFTED}103000` ? null : `expected shifted datetime, got ${text()}`;
      if (vr === 'TM') return text() === origText ? null : 'expected time kept';
      if (vr === 'AE') return /^AE[0-9A-F]{12}$/.test(text()) && text() !== origText ? null : 'expected AE pseudonym';
      if (TEXT.has(vr)) return text() === origText ? null : 'expected text kept (nothing to scrub)';
      return out.len > 0 && bytes().every((b) => b === 0) ? null : 'expected dummy bytes for an uncleanable VR';
    default:
      return `unknown code ${code}`;
  }
}

function origTextOfSq(c: Case): string {
  const items = c.original.value as TElem[][];
  return String(items[0][0].value).slice(2);
}
function sqUid(c: Case): string {
  const items = c.original.value as TElem[][];
  return String(items[0][1].value);
}

const OPTION_SETS: Array<[string, OptionKey[]]> = [
  ['basic profile', []],
  ...PROFILE_OPTIONS.map((o): [string, OptionKey[]] => [o, [o]]),
  ['DEFAULT_RULES', [...DEFAULT_RULES.options]],
  ['device identity + modified dates', ['retainDeviceIdentity', 'retainLongitudinalModifiedDates']],
  ['full + modified dates', ['retainLongitudinalFullDates', 'retainLongitudinalModifiedDates']],
  ['patient characteristics + clean descriptors', ['retainPatientCharacteristics', 'cleanDescriptors']],
  ['uids + device identity', ['retainUids', 'retainDeviceIdentity']],
];

describe('Table E.1-1 row by row', () => {
  it('covers the table', () => {
    expect(cases.length).toBeGreaterThan(600);
  });

  it.each(OPTION_SETS)('%s', (_name, options) => {
    const { parsed, byTag } = run(options);
    const failures: string[] = [];
    const seenCodes = new Set<string>();
    for (const c of cases) {
      const code = expectedCode(c.row, options);
      seenCodes.add(code);
      const problem = check(c, code, byTag.get(c.tag), parsed.buf);
      if (problem) failures.push(`${c.row.tag} ${c.row.name} (${c.vr}, ${code}): ${problem}`);
    }
    expect(failures).toEqual([]);
    expect(seenCodes.size).toBeGreaterThan(3);
  });
});

describe('masked rows', () => {
  const curveAndOverlay: TElem[] = [
    ...BASE,
    { tag: 0x0020000d, vr: 'UI', value: '1.2.3.1' },
    { tag: 0x0020000e, vr: 'UI', value: '1.2.3.2' },
    { tag: 0x00080018, vr: 'UI', value: '1.2.3.3' },
    { tag: 0x50000005, vr: 'US', value: Buffer.from([2, 0]) },
    { tag: 0x50000022, vr: 'LO', value: 'CURVE OF DOE' },
    { tag: 0x50023000, vr: 'OW', value: Buffer.alloc(16, 7) },
    { tag: 0x60000010, vr: 'US', value: Buffer.from([4, 0]) },
    { tag: 0x60000011, vr: 'US', value: Buffer.from([4, 0]) },
    { tag: 0x60003000, vr: 'OW', value: Buffer.alloc(4, 0xff) },
    { tag: 0x60004000, vr: 'LT', value: 'OVERLAY NOTE' },
    { tag: 0x60023000, vr: 'OW', value: Buffer.alloc(4, 0x0f) },
  ];
  const deid = (options: OptionKey[]) => {
    const rules = compileRules(ruleSetSchema.parse({ profile: 'basic', options }));
    const out = deidentify(buildPart10(curveAndOverlay), rules, { uidSecret: SECRET }, IDENTITY).output;
    const parsed = parsePart10(out);
    // Raw value bytes (as latin1, nothing trimmed but the space padding of text values).
    return new Map(parsed.els.map((e) => [e.tag, parsed.buf.toString('latin1', e.vstart, e.vstart + e.len).replace(/ +$/, '')]));
  };

  it('(50xx,xxxx) curve data, (60xx,3000) overlay data and (60xx,4000) overlay comments are removed by the Basic Profile', () => {
    const out = deid([]);
    for (const t of [0x50000005, 0x50000022, 0x50023000, 0x60000010, 0x60000011, 0x60003000, 0x60004000, 0x60023000]) {
      expect(out.has(t), t.toString(16)).toBe(false);
    }
  });

  it('Clean Graphics keeps curves and overlays (with the overlay plane attributes)', () => {
    const out = deid(['cleanGraphics']);
    for (const t of [0x50000005, 0x50000022, 0x50023000, 0x60000010, 0x60000011, 0x60003000, 0x60004000, 0x60023000]) {
      expect(out.has(t), t.toString(16)).toBe(true);
    }
    expect(out.get(0x60004000)).toBe('OVERLAY NOTE');
    expect(out.get(0x50000022)).toBe('CURVE OF DOE');
    // Binary graphics cannot be inspected: kept as they are (not zeroed).
    expect(out.get(0x60003000)).toBe(Buffer.alloc(4, 0xff).toString('latin1'));
    expect(out.get(0x60000010)).toBe(Buffer.from([4, 0]).toString('latin1'));
    expect(out.get(0x50023000)).toBe(Buffer.alloc(16, 7).toString('latin1'));
  });

  it('Clean Graphics cleans text in overlays of this patient\'s identifiers', () => {
    const rules = compileRules(ruleSetSchema.parse({ profile: 'basic', options: ['cleanGraphics'] }));
    const els = [...curveAndOverlay, { tag: 0x00100010, vr: 'PN', value: 'Doe^John' }, { tag: 0x60004000, vr: 'LT', value: 'Marked by DOE' }];
    const byTag = new Map<number, TElem>(els.map((e) => [e.tag, e]));
    const parsed = parsePart10(deidentify(buildPart10([...byTag.values()]), rules, { uidSecret: SECRET }, IDENTITY).output);
    const el = parsed.els.find((e) => e.tag === 0x60004000)!;
    expect(valueString(parsed.buf, el)).toBe('Marked by [removed]');
    expect(valueString(parsed.buf, parsed.els.find((e) => e.tag === 0x50000022)!)).toBe('CURVE OF [removed]');
  });
});
