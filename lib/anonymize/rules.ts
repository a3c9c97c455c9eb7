/**
 * A pool's de-identification rules: the one zod schema shared by the UI form, the REST API and the
 * CLI (`tributary anonymize --rules <file>`). Rules are data; `compileRules` (profile.ts) turns them
 * into lookup tables and `deidentify` (engine.ts) applies them.
 *
 * The schema itself lives in rules-schema.ts (dependency-free, for browser code); this module adds
 * selector parsing and validateRuleSet, which check keywords and VRs against the dictionary.
 * See docs/deidentification.md for what each option and override action does.
 */
import { formatTag, lookupTag, parseTag, tagForKeyword } from './dictionary';
import { type Override, type RuleSet, ruleSetSchema } from './rules-schema';

export {
  DEFAULT_RULES,
  OVERRIDE_ACTIONS,
  PROFILE_OPTIONS,
  overrideSchema,
  ruleSetSchema,
  type OptionKey,
  type Override,
  type OverrideAction,
  type RuleSet,
} from './rules-schema';

// ---------------------------------------------------------------------------------------------
// Selectors

export type ElementMatcher =
  | { kind: 'tag'; tag: number }
  /** Bits of the 32-bit tag selected by `mask` must equal `value` ("x" nibbles are free). */
  | { kind: 'mask'; mask: number; value: number }
  | { kind: 'private'; group: number; creator: string; offset: number };

export interface ParsedSelector {
  /** The enclosing sequences, outermost first; empty for a plain selector. */
  ancestors: ElementMatcher[];
  /** With a leading "/", the first ancestor must be at the top level. */
  anchored: boolean;
  target: ElementMatcher;
}

const PRIVATE_RE = /^\(([0-9a-f]{4}),\[([^\]]+)\],([0-9a-f]{2})\)$/i;
const MASK_RE = /^\(([0-9a-fx]{4}),([0-9a-fx]{4})\)$/i;
const KEYWORD_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

function parseSegment(text: string): ElementMatcher | string {
  const s = text.trim();
  const priv = PRIVATE_RE.exec(s);
  if (priv) {
    const group = parseInt(priv[1], 16);
    if ((group & 1) === 0) return `private selector "${s}" needs an odd group`;
    return { kind: 'private', group, creator: priv[2].trim(), offset: parseInt(priv[3], 16) };
  }
  const masked = MASK_RE.exec(s);
  if (masked && /x/i.test(s)) {
    const hex = masked[1] + masked[2];
    let mask = 0;
    let value = 0;
    for (const ch of hex) {
      mask = mask * 16 + (/x/i.test(ch) ? 0 : 15);
      value = value * 16 + (/x/i.test(ch) ? 0 : parseInt(ch, 16));
    }
    return { kind: 'mask', mask: mask >>> 0, value: value >>> 0 };
  }
  const tag = parseTag(s);
  if (tag !== undefined) return { kind: 'tag', tag };
  if (KEYWORD_RE.test(s)) {
    const byKeyword = tagForKeyword(s);
    if (byKeyword === undefined) return `unknown keyword "${s}"`;
    return { kind: 'tag', tag: byKeyword };
  }
  return `cannot read selector "${s}" (use a keyword, (gggg,eeee), gggg eeee, a mask like (60xx,4000) or (gggg,[creator],ee))`;
}

export function parseSelector(text: string): { ok: true; selector: ParsedSelector } | { ok: false; error: string } {
  let rest = text.trim();
  const anchored = rest.startsWith('/');
  if (anchored) rest = rest.slice(1);
  // A private creator may contain "/", so split only outside brackets.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of rest) {
    if (ch === '[') depth++;
    if (ch === ']') depth = Math.max(0, depth - 1);
    if (ch === '/' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  if (parts.some((p) => p.trim() === '')) return { ok: false, error: `empty path segment in selector "${text}"` };
  const matchers: ElementMatcher[] = [];
  for (const part of parts) {
    const m = parseSegment(part);
    if (typeof m === 'string') return { ok: false, error: m };
    matchers.push(m);
  }
  for (const ancestor of matchers.slice(0, -1)) {
    if (ancestor.kind === 'tag') {
      const vr = lookupTag(ancestor.tag)?.vr;
      if (vr && vr !== 'SQ') return { ok: false, error: `path segment ${formatTag(ancestor.tag)} is not a sequence` };
    }
  }
  return {
    ok: true,
    selector: { ancestors: matchers.slice(0, -1), anchored, target: matchers[matchers.length - 1] },
  };
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Maximum value lengths (bytes) of the string VRs, PS3.5 Table 6.2-1. */
export const MAX_LENGTH: Record<string, number> = {
  AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, DT: 26, IS: 12, LO: 64, LT: 10240, PN: 64 * 5, SH: 16, ST: 1024, TM: 14, UI: 64,
};
const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const NUMERIC_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV']);
const HASHABLE_VRS = new Set(['AE', 'CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UI', 'UT']);

function checkSetValue(vr: string, value: string): string | undefined {
  if (/[\0-\x08\x0b\x0c\x0e-\x1f]/.test(value)) return 'value contains control characters';
  if (NUMERIC_VRS.has(vr)) {
    return value.split('\\').every((v) => v.trim() !== '' && Number.isFinite(Number(v)))
      ? undefined
      : `value must be numbers separated by "\\" for VR ${vr}`;
  }
  if (!STRING_VRS.has(vr)) return `"set" is not supported for VR ${vr}`;
  for (const v of value.split('\\')) {
    if (vr === 'DA' && v !== '' && !/^\d{8}$/.test(v)) return 'DA value must be YYYYMMDD';
    if (vr === 'TM' && v !== '' && !/^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/.test(v)) return 'TM value must be HHMMSS.FFFFFF';
    if (vr === 'UI' && v !== '' && !/^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(v)) return 'UI value must be a dotted-decimal UID';
    const max = MAX_LENGTH[vr];
    if (max !== undefined && Buffer.byteLength(v, 'latin1') > max) return `value longer than ${max} characters allowed for VR ${vr}`;
  }
  return undefined;
}

/** Checks one override against the dictionary; returns the problems found (no values echoed). */
function checkOverride(o: Override): string[] {
  const problems: string[] = [];
  const parsed = parseSelector(o.selector);
  if (!parsed.ok) return [parsed.error];
  if ((o.action === 'set' || o.action === 'lookup') && (o.value === undefined || (o.action === 'lookup' && o.value.trim() === ''))) {
    problems.push(`"${o.action}" needs a value${o.action === 'lookup' ? ' (the lookup table name)' : ''}`);
  }
  const t = parsed.selector.target;
  if (t.kind === 'tag') {
    const group = t.tag >>> 16;
    if (group === 0x0002 || group === 0x0000 || group === 0xfffe) {
      problems.push(`${formatTag(t.tag)} cannot be overridden (file meta, command or delimiter group)`);
    }
    const vr = lookupTag(t.tag)?.vr;
    if (vr) {
      if (vr === 'SQ' && !['keep', 'remove', 'empty'].includes(o.action)) {
        problems.push(`"${o.action}" does not apply to the sequence ${formatTag(t.tag)}; use keep, remove or empty`);
      }
      if (o.action === 'shiftDate' && !['DA', 'DT', 'TM'].includes(vr)) problems.push(`"shiftDate" needs a DA, DT or TM attribute, ${formatTag(t.tag)} is ${vr}`);
      if (o.action === 'uid' && vr !== 'UI') problems.push(`"uid" needs a UI attribute, ${formatTag(t.tag)} is ${vr}`);
      if (o.action === 'hash' && !HASHABLE_VRS.has(vr)) problems.push(`"hash" needs a text or UI attribute, ${formatTag(t.tag)} is ${vr}`);
      if (o.action === 'set' && o.value !== undefined && vr !== 'SQ') {
        const bad = checkSetValue(vr, o.value);
        if (bad) problems.push(`${formatTag(t.tag)}: ${bad}`);
      }
    }
  }
  return problems;
}

export function validateRuleSet(input: unknown): { ok: true; rules: RuleSet } | { ok: false; errors: string[] } {
  const parsed = ruleSetSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'rules'}: ${i.message}`),
    };
  }
  const errors: string[] = [];
  parsed.data.overrides.forEach((o, i) => {
    for (const p of checkOverride(o)) errors.push(`overrides.${i}: ${p}`);
  });
  const options = parsed.data.options;
  if (new Set(options).size !== options.length) errors.push('options: an option is listed twice');
  return errors.length ? { ok: false, errors } : { ok: true, rules: parsed.data };
}
