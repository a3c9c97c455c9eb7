/**
 * The generated rule list: every action a rule set resolves to, one row per attribute (or mask,
 * private element, group), with why. It is what the pool owner reads to know what the engine will
 * do, so it follows the engine's own decision order (engine.ts `decide`): path overrides, private
 * overrides, exact overrides, mask overrides, research identity, Table E.1-1 (options applied),
 * then the keep-list and the defaults for attributes the table does not name.
 *
 * Server-side (it compiles the rules against the dictionary). No values of any instance here.
 */
import { formatTag, keywordOf, lookupTag, parseTag, tagForKeyword } from './dictionary';
import { KEEP_KEYWORDS, KEEP_TECHNICAL } from './keep-list';
import { type CompiledRules, PROFILE_ROWS, type Resolved, compileRules } from './profile';
import { type RuleSet, parseSelector } from './rules';
import { SAFE_PRIVATE } from './safe-private';

export type RuleWhy = 'basic' | 'option' | 'override' | 'identity' | 'keep-list' | 'safe-private' | 'default';

export interface RuleListRow {
  /** Stable key for diffs: the table tag, the override selector or a synthetic name. */
  key: string;
  /** "(0010,0010)", "(50XX,XXXX)", "(0019,[SIEMENS MR HEADER],0C)", a path selector... */
  tag: string;
  keyword?: string;
  name: string;
  /** Human-readable action, e.g. "X remove", "C clean", "set \"TRIAL-042\"". */
  action: string;
  /** The Table E.1-1 code that decided, when the table decided ("X/Z", "K"...). */
  code?: string;
  why: RuleWhy;
  /** The option that decided (why = option), or "override #n" (why = override). */
  via?: string;
}

const OP_LABEL: Record<string, string> = {
  keep: 'K keep',
  remove: 'X remove',
  empty: 'Z empty',
  dummy: 'D dummy value',
  uid: 'U remap UID',
  uidStar: 'U* remap UIDs (sequence kept, UIDs inside remapped)',
  clean: 'C clean',
  shiftDate: 'shift date by the patient offset',
  hash: 'hash (stable pseudonym)',
};

export function actionLabel(r: Pick<Resolved, 'op' | 'value' | 'graphics'>): string {
  if (r.op === 'set') return `set "${r.value ?? ''}"`;
  if (r.op === 'lookup') return `look up in table "${r.value ?? ''}" (empty when missing)`;
  if (r.op === 'clean' && r.graphics) return 'C clean (graphics kept)';
  return OP_LABEL[r.op] ?? r.op;
}

function fromTable(resolved: Resolved): Pick<RuleListRow, 'code' | 'why' | 'via'> {
  const m = /^(\S+) \((\w+)\)$/.exec(resolved.reason);
  if (m) return { code: m[1], why: 'option', via: m[2] };
  return { code: resolved.reason, why: 'basic' };
}

/** Every resolved action of a rule set (validated; throws on invalid rules like compileRules). */
export function generatedRuleList(rules: RuleSet | CompiledRules): RuleListRow[] {
  const c = 'table' in rules ? rules : compileRules(rules);
  const overrideIndex = new Map<string, number>();
  c.rules.overrides.forEach((o, i) => overrideIndex.set(o.selector.trim(), i + 1));
  const overrideOf = (selector: string) => `override #${overrideIndex.get(selector) ?? '?'}`;

  // Exact-tag overrides by tag -> their selector (the last one wins, as in compileRules).
  const exactSelectors = new Map<number, string>();
  const rows: RuleListRow[] = [];
  c.rules.overrides.forEach((o) => {
    const parsed = parseSelector(o.selector);
    if (!parsed.ok) return;
    const s = parsed.selector;
    if (!s.ancestors.length && !s.anchored && s.target.kind === 'tag') exactSelectors.set(s.target.tag, o.selector.trim());
  });

  const maskOverrideFor = (tag: number) => c.maskOverrides.find((m) => ((tag & m.mask) >>> 0) === m.value);

  // 1. Overrides that are not a plain tag (paths, private elements, masks): one row each.
  c.rules.overrides.forEach((o, i) => {
    const parsed = parseSelector(o.selector);
    if (!parsed.ok) return;
    const s = parsed.selector;
    if (!s.ancestors.length && !s.anchored && s.target.kind === 'tag') return;
    const kind = s.ancestors.length || s.anchored ? 'inside the named sequences' : s.target.kind === 'mask' ? 'every tag matching the mask' : 'private element';
    rows.push({
      key: `override:${i}`,
      tag: o.selector.trim(),
      name: `Override (${kind})`,
      action: actionLabel({ op: o.action === 'keep' ? 'keep' : o.action === 'remove' ? 'remove' : o.action === 'empty' ? 'empty' : o.action, value: o.value }),
      why: 'override',
      via: `override #${i + 1}`,
    });
  });

  // 2. Research identity (unless overridden) and Table E.1-1, row by row.
  const seen = new Set<number>();
  for (const row of PROFILE_ROWS) {
    const m = /^\(([0-9A-FX]{4}),([0-9A-FX]{4})\)$/.exec(row.tag);
    if (!m) {
      // The private attributes row.
      rows.push({ key: `table:${row.tag}`, tag: '(gggg,eeee), gggg odd', name: 'Private attributes (and their creators)', action: actionLabel(c.privateDefault), ...fromTable(c.privateDefault) });
      continue;
    }
    const hex = m[1] + m[2];
    if (hex.includes('X')) {
      const mask = c.tableMasks.find((t) => formatMask(t.mask, t.value) === row.tag);
      const resolved = mask?.resolved ?? { op: 'remove' as const, reason: row.basicProfile };
      rows.push({ key: `table:${row.tag}`, tag: row.tag, name: row.name, action: actionLabel(resolved), ...fromTable(resolved) });
      continue;
    }
    const tag = parseInt(hex, 16) >>> 0;
    seen.add(tag);
    const keyword = keywordOf(tag);
    const base = { key: `table:${row.tag}`, tag: formatTag(tag), keyword, name: row.name };
    const exact = c.exactOverrides.get(tag);
    if (exact) {
      rows.push({ ...base, action: actionLabel(exact), why: 'override', via: overrideOf(exactSelectors.get(tag) ?? '') });
      continue;
    }
    const masked = maskOverrideFor(tag);
    if (masked) {
      rows.push({ ...base, action: actionLabel(masked.resolved), why: 'override', via: 'mask override' });
      continue;
    }
    if (tag === 0x00100010 || tag === 0x00100020) {
      rows.push({ ...base, action: tag === 0x00100010 ? 'set to the research name' : 'set to the research ID', why: 'identity' });
      continue;
    }
    const resolved = c.table.get(tag)!;
    rows.push({ ...base, action: actionLabel(resolved), ...fromTable(resolved) });
  }

  // 3. Exact overrides of attributes the table does not name.
  for (const [tag, resolved] of c.exactOverrides) {
    if (seen.has(tag)) continue;
    seen.add(tag);
    rows.push({
      key: `override-tag:${formatTag(tag)}`,
      tag: formatTag(tag),
      keyword: keywordOf(tag),
      name: humanize(keywordOf(tag)) ?? 'Attribute',
      action: actionLabel(resolved),
      why: 'override',
      via: overrideOf(exactSelectors.get(tag) ?? ''),
    });
  }

  // 4. Safe private attributes (Retain Safe Private).
  if (c.safePrivate.size) {
    for (const e of SAFE_PRIVATE) {
      const tag = `(${hex4(e.group)},[${e.creator}],${e.offset.toString(16).toUpperCase().padStart(2, '0')})`;
      rows.push({ key: `safe:${tag}`, tag, name: e.meaning, action: 'K keep', why: 'safe-private', via: 'retainSafePrivate' });
    }
  }

  // 5. The keep-list: the reviewed attributes, then the technical ones (keep-list.ts).
  const keepRow = (tag: number, tagText: string, keyword: string, vr: string | undefined, technical: boolean) => {
    const masked = maskOverrideFor(tag);
    rows.push({
      key: `keep:${keyword}`,
      tag: tagText,
      keyword,
      name: humanize(keyword) ?? keyword,
      action: masked ? actionLabel(masked.resolved) : vr === 'SQ' ? 'K keep (contents processed)' : 'K keep',
      why: masked ? 'override' : 'keep-list',
      via: masked ? 'mask override' : technical ? 'technical (kept unless sent with a free-text VR)' : undefined,
    });
  };
  for (const keyword of KEEP_KEYWORDS) {
    const tag = tagForKeyword(keyword);
    if (tag === undefined || seen.has(tag)) continue;
    seen.add(tag);
    keepRow(tag, formatTag(tag), keyword, lookupTag(tag)?.vr, false);
  }
  for (const entry of KEEP_TECHNICAL) {
    const [tagText, vr, keyword] = entry.split(' ');
    const tag = parseTag(tagText)!;
    if (seen.has(tag)) continue;
    const overlay = tag >>> 16 === 0x6000;
    if (overlay && !c.options.has('cleanGraphics')) continue;
    seen.add(tag);
    keepRow(tag, overlay ? tagText.replace('(6000', '(60XX') : tagText, keyword, vr, true);
  }

  // 6. Defaults for what nothing above names.
  rows.push({
    key: 'default:uid',
    tag: 'any UI',
    name: 'UIDs the table does not name (class and coding UIDs on the keep-list stay)',
    action: c.retainUids ? 'K keep' : 'U remap UID',
    why: c.retainUids ? 'option' : 'default',
    via: c.retainUids ? 'retainUids' : undefined,
  });
  rows.push({
    key: 'default:date',
    tag: 'any DA, DT',
    name: 'Dates the table does not name',
    action: c.dates === 'full' ? 'K keep' : c.dates === 'modified' ? 'shift date by the patient offset' : 'X remove',
    why: c.dates === 'removed' ? 'default' : 'option',
    via: c.dates === 'full' ? 'retainLongitudinalFullDates' : c.dates === 'modified' ? 'retainLongitudinalModifiedDates' : undefined,
  });
  rows.push({ key: 'default:other', tag: '(gggg,eeee)', name: 'Every other attribute: standard ones not listed above, and any tag the dictionary does not know', action: 'X remove', why: 'default' });
  rows.push({ key: 'default:group-length', tag: '(gggg,0000)', name: 'Group lengths', action: 'X remove', why: 'default' });
  return rows;
}

/** "PatientBirthDate" -> "Patient Birth Date" (the dictionary has keywords, not names). */
function humanize(keyword: string | undefined): string | undefined {
  return keyword?.replace(/^RETIRED_/, '').replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

function formatMask(mask: number, value: number): string {
  // Inverse of compileRules' mask building (it adds bit 0x00010000 to keep repeating groups even).
  let out = '';
  const m = (mask & ~0x00010000) >>> 0;
  for (let i = 7; i >= 0; i--) {
    const nibbleMask = (m >>> (i * 4)) & 0xf;
    out += nibbleMask ? ((value >>> (i * 4)) & 0xf).toString(16).toUpperCase() : 'X';
    if (i === 4) out += ',';
  }
  return `(${out})`;
}

export interface RuleListChange {
  key: string;
  tag: string;
  keyword?: string;
  name: string;
  before?: string;
  after?: string;
  why?: RuleWhy;
  via?: string;
}

/** Rows whose action differs between two rule lists (added and removed rows included). */
export function diffRuleLists(before: RuleListRow[], after: RuleListRow[]): RuleListChange[] {
  const b = new Map(before.map((r) => [r.key, r]));
  const a = new Map(after.map((r) => [r.key, r]));
  const out: RuleListChange[] = [];
  for (const r of after) {
    const old = b.get(r.key);
    if (old && old.action === r.action) continue;
    out.push({ key: r.key, tag: r.tag, keyword: r.keyword, name: r.name, before: old?.action, after: r.action, why: r.why, via: r.via });
  }
  for (const r of before) {
    if (a.has(r.key)) continue;
    out.push({ key: r.key, tag: r.tag, keyword: r.keyword, name: r.name, before: r.action });
  }
  return out;
}
