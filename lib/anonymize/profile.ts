/**
 * PS3.15 Annex E Table E.1-1 as data, and the compiler that turns a pool's RuleSet into the lookup
 * tables the engine uses for every element.
 *
 * Resolution for one table row (docs/deidentification.md, "Action codes" and "Option precedence"):
 * 1. If the row has a date column (Retain Longitudinal ... Dates) and a date option is on, the date
 *    options decide: Full Dates (K) beats Modified Dates (C). They win over Retain Device Identity
 *    on the device calibration dates, because keeping a real date beside shifted ones would let
 *    anyone compute the patient's offset.
 * 2. Otherwise, among the options that are on and have a code in the row, K beats C (every option is
 *    a request to retain more; C is "retain, cleaned").
 * 3. Otherwise the Basic Profile code.
 * Combined codes are resolved conformance-safe without knowing the IOD (as Kitware's
 * dicom-anonymizer does): X/Z -> Z, X/D -> D, X/Z/D -> D, Z/D -> D; X/Z/U* -> "U*" which the
 * engine applies as U for a UI element, keep-and-clean for a sequence (its UIDs get remapped by
 * their own rows), Z otherwise.
 * Overrides are applied on top of the table.
 */
import { createHash } from 'node:crypto';
import rawRows from './data/confidentiality_profile_attributes.json';
import { lookupTag, tagForKeyword } from './dictionary';
import { KEEP_KEYWORDS, KEEP_TECHNICAL } from './keep-list';
import { type OptionKey, type Override, type ParsedSelector, type RuleSet, parseSelector, validateRuleSet } from './rules';
import { SAFE_PRIVATE, privateKey } from './safe-private';

export type { OptionKey } from './rules';

export interface ProfileRow {
  /** As in the standard: "(0010,0010)", "(50XX,XXXX)", or the private attributes row. */
  tag: string;
  name: string;
  basicProfile: string;
  options: Partial<Record<OptionKey, string>>;
}

/** Column names of the innolitics JSON -> our option keys. */
export const OPTION_COLUMNS: Record<string, OptionKey> = {
  rtnSafePrivOpt: 'retainSafePrivate',
  rtnUIDsOpt: 'retainUids',
  rtnDevIdOpt: 'retainDeviceIdentity',
  rtnInstIdOpt: 'retainInstitutionIdentity',
  rtnPatCharsOpt: 'retainPatientCharacteristics',
  rtnLongFullDatesOpt: 'retainLongitudinalFullDates',
  rtnLongModifDatesOpt: 'retainLongitudinalModifiedDates',
  cleanDescOpt: 'cleanDescriptors',
  cleanStructContOpt: 'cleanStructuredContent',
  cleanGraphOpt: 'cleanGraphics',
};

interface RawRow {
  tag: string;
  name: string;
  basicProfile: string;
  [column: string]: string;
}

export const PROFILE_ROWS: readonly ProfileRow[] = (rawRows as unknown as RawRow[]).map((r) => {
  const options: Partial<Record<OptionKey, string>> = {};
  for (const [column, key] of Object.entries(OPTION_COLUMNS)) if (r[column]) options[key] = r[column].trim();
  return { tag: r.tag.toUpperCase(), name: r.name.trim(), basicProfile: r.basicProfile.trim(), options };
});

/** The engine's operations. */
export type Op =
  | 'keep' // K: keep; a sequence is kept and its items are cleaned
  | 'remove' // X
  | 'empty' // Z: zero length; a sequence loses its items
  | 'dummy' // D: dummy value of the VR; a sequence keeps its shape with every leaf replaced
  | 'uid' // U: HMAC remap
  | 'uidStar' // X/Z/U*: U for UI, keep-and-clean for SQ, Z otherwise
  | 'clean' // C: shift dates, pseudonymise AE titles, scrub known identifiers from text, clean sequences
  | 'shiftDate'
  | 'set'
  | 'hash'
  | 'lookup';

export interface Resolved {
  op: Op;
  /** For set (the value) and lookup (the table name). */
  value?: string;
  /** For summaries: the code that decided, e.g. "X", "X/Z", "C (retainLongitudinalModifiedDates)", "override". */
  reason: string;
  /**
   * C chosen by Clean Graphics: binary graphics (overlay and curve data, their plane attributes)
   * cannot be inspected, so "clean" keeps them; the option is the broker's statement that this
   * pool's graphics are acceptable. Text in them is still cleaned.
   */
  graphics?: boolean;
}

const DATE_OPTIONS: readonly OptionKey[] = ['retainLongitudinalFullDates', 'retainLongitudinalModifiedDates'];

/** Resolves one row's code for the options that are on (steps 1-3 above); returns the raw code. */
export function resolveRowCode(row: ProfileRow, options: ReadonlySet<OptionKey>): { code: string; via?: OptionKey } {
  const dateCols = DATE_OPTIONS.filter((o) => row.options[o] !== undefined);
  if (dateCols.length) {
    for (const o of DATE_OPTIONS) if (options.has(o) && row.options[o]) return { code: row.options[o]!, via: o };
  }
  let best: { code: string; via?: OptionKey } | undefined;
  for (const [key, code] of Object.entries(row.options) as Array<[OptionKey, string]>) {
    if (!options.has(key) || DATE_OPTIONS.includes(key)) continue;
    if (!best || (code === 'K' && best.code !== 'K')) best = { code, via: key };
  }
  return best ?? { code: row.basicProfile };
}

/** Combined codes -> one operation, conformance-safe. */
export function codeToOp(code: string): Op {
  switch (code) {
    case 'K': return 'keep';
    case 'X': return 'remove';
    case 'Z': case 'X/Z': return 'empty';
    case 'D': case 'X/D': case 'X/Z/D': case 'Z/D': return 'dummy';
    case 'U': return 'uid';
    case 'X/Z/U*': case 'X/Z/U': return 'uidStar';
    case 'C': return 'clean';
    default: throw new Error(`Unknown Table E.1-1 action code ${code}`);
  }
}

/**
 * X/Z rows resolved to X because the attribute is Type 3 wherever composite IODs use it, so removing
 * it is the conformant choice (PS3.15 E.1: "X unless Z is required to maintain IOD conformance")
 * and a zero-item sequence would break its "one or more items" rule (dciodvfy reports it).
 */
export const X_Z_RESOLVED_TO_X: ReadonlyMap<number, string> = new Map([
  [0x00081110, 'Referenced Study Sequence: Type 3 in the General Study module, one or more items when present'],
]);

export interface MaskRule {
  mask: number;
  value: number;
  resolved: Resolved;
}

export interface PathRule {
  selector: ParsedSelector;
  resolved: Resolved;
}

export interface CompiledRules {
  readonly rules: RuleSet;
  readonly options: ReadonlySet<OptionKey>;
  /** First 8 hex of SHA-256 over the canonical rules: written into DeidentificationMethod. */
  readonly fingerprint: string;
  /** Table rows with a concrete tag, options applied. */
  readonly table: ReadonlyMap<number, Resolved>;
  /** Table rows with masks ((50xx,xxxx), (60xx,3000), (60xx,4000)). */
  readonly tableMasks: readonly MaskRule[];
  /** Private attributes row ((gggg,eeee) where gggg is odd), options applied. */
  readonly privateDefault: Resolved;
  readonly exactOverrides: ReadonlyMap<number, Resolved>;
  readonly maskOverrides: readonly MaskRule[];
  readonly privateOverrides: ReadonlyMap<string, Resolved>;
  readonly pathOverrides: readonly PathRule[];
  /** Safe private attributes (privateKey form), when Retain Safe Private is on. */
  readonly safePrivate: ReadonlySet<string>;
  /**
   * The keep-list (keep-list.ts) by tag: true for reviewed attributes (kept whatever their VR),
   * false for KEEP_TECHNICAL ones (kept only while the element's VR is not a free-text VR).
   * Overlay attributes are in it for every 60xx group only with Clean Graphics.
   */
  readonly keepTags: ReadonlyMap<number, boolean>;
  /** How dates the table does not name are treated, and what (0028,0303) says. */
  readonly dates: 'full' | 'modified' | 'removed';
  readonly retainUids: boolean;
}

function overrideToResolved(o: Override): Resolved {
  const op: Op = o.action === 'keep' ? 'keep' : o.action === 'remove' ? 'remove' : o.action === 'empty' ? 'empty' : o.action;
  return { op, value: o.value, reason: 'override' };
}

/**
 * JSON with object keys sorted: equal rule sets give equal text (the fingerprint is hashed from it).
 * Keys whose value is undefined are left out, as JSON (and so the stored rule set) leaves them out.
 */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).filter((k) => obj[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function compileRules(input: RuleSet): CompiledRules {
  const checked = validateRuleSet(input);
  if (!checked.ok) throw new Error(`Invalid de-identification rules: ${checked.errors.join('; ')}`);
  const rules = checked.rules;
  const options = new Set<OptionKey>(rules.options);

  const table = new Map<number, Resolved>();
  const tableMasks: MaskRule[] = [];
  let privateDefault: Resolved = { op: 'remove', reason: 'X' };
  for (const row of PROFILE_ROWS) {
    const { code, via } = resolveRowCode(row, options);
    const resolved: Resolved = { op: codeToOp(code), reason: via ? `${code} (${via})` : code };
    if (code === 'X/Z' && X_Z_RESOLVED_TO_X.has(parseTagText(row.tag))) {
      resolved.op = 'remove';
      resolved.reason = `${resolved.reason}, X: Type 3`;
    }
    if (via === 'cleanGraphics') resolved.graphics = true;
    if (row.tag.startsWith('(GGGG')) {
      privateDefault = resolved;
      continue;
    }
    const m = /^\(([0-9A-FX]{4}),([0-9A-FX]{4})\)$/.exec(row.tag);
    if (!m) throw new Error(`Unreadable Table E.1-1 tag ${row.tag}`);
    const hex = m[1] + m[2];
    if (!hex.includes('X')) {
      table.set(parseInt(hex, 16) >>> 0, resolved);
      continue;
    }
    let mask = 0;
    let value = 0;
    for (const ch of hex) {
      mask = mask * 16 + (ch === 'X' ? 0 : 15);
      value = value * 16 + (ch === 'X' ? 0 : parseInt(ch, 16));
    }
    // Repeating groups are the even groups only; odd ones are private and handled as such.
    tableMasks.push({ mask: (mask | 0x00010000) >>> 0, value: value >>> 0, resolved });
  }

  const exactOverrides = new Map<number, Resolved>();
  const maskOverrides: MaskRule[] = [];
  const privateOverrides = new Map<string, Resolved>();
  const pathOverrides: PathRule[] = [];
  // Later overrides win over earlier ones of the same kind: Map.set replaces, masks are searched last-first.
  for (const o of rules.overrides) {
    const parsed = parseSelector(o.selector);
    if (!parsed.ok) throw new Error(parsed.error);
    const resolved = overrideToResolved(o);
    const { selector } = parsed;
    if (selector.ancestors.length || selector.anchored) {
      pathOverrides.push({ selector, resolved });
      continue;
    }
    const t = selector.target;
    if (t.kind === 'tag') exactOverrides.set(t.tag, resolved);
    else if (t.kind === 'mask') maskOverrides.push({ mask: t.mask, value: t.value, resolved });
    else privateOverrides.set(privateKey(t.group, t.creator, t.offset), resolved);
  }
  maskOverrides.reverse();
  pathOverrides.reverse();

  const safePrivate = new Set<string>();
  if (privateDefault.op === 'clean') {
    for (const e of SAFE_PRIVATE) safePrivate.add(privateKey(e.group, e.creator, e.offset));
  }

  const keepTags = new Map<number, boolean>();
  for (const entry of KEEP_TECHNICAL) {
    const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\) /.exec(entry);
    if (!m) throw new Error(`Unreadable keep-list entry ${entry}`);
    const group = parseInt(m[1], 16);
    const elem = parseInt(m[2], 16);
    if (group === 0x6000) {
      // Overlay planes travel with their Overlay Data, which only Clean Graphics keeps.
      if (!options.has('cleanGraphics')) continue;
      for (let g = 0x6000; g <= 0x601e; g += 2) keepTags.set(((g << 16) | elem) >>> 0, false);
      continue;
    }
    keepTags.set(((group << 16) | elem) >>> 0, false);
  }
  for (const keyword of KEEP_KEYWORDS) {
    const tag = tagForKeyword(keyword);
    if (tag === undefined) throw new Error(`Keep-list keyword ${keyword} is not in the dictionary`);
    keepTags.set(tag, true);
  }

  const dates = options.has('retainLongitudinalFullDates')
    ? 'full'
    : options.has('retainLongitudinalModifiedDates')
      ? 'modified'
      : 'removed';

  const fingerprint = createHash('sha256').update(canonical(rules)).digest('hex').slice(0, 8);

  return {
    rules,
    options,
    fingerprint,
    table,
    tableMasks,
    privateDefault,
    exactOverrides,
    maskOverrides,
    privateOverrides,
    pathOverrides,
    safePrivate,
    keepTags,
    dates,
    retainUids: options.has('retainUids'),
  };
}

function parseTagText(text: string): number {
  const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/.exec(text);
  return m ? parseInt(m[1] + m[2], 16) >>> 0 : -1;
}

/** Table rows by tag, for UIs that show what the profile does to an attribute. */
export function profileRowForTag(tag: number): ProfileRow | undefined {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  const key = `(${hex.slice(0, 4)},${hex.slice(4)})`;
  return PROFILE_ROWS.find((r) => r.tag === key);
}

/** The VR the dictionary gives a table row, if any (used by tests and the rules UI). */
export function vrOfRow(row: ProfileRow): string | undefined {
  const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/.exec(row.tag);
  return m ? lookupTag(parseInt(m[1] + m[2], 16) >>> 0)?.vr : undefined;
}
