/**
 * The de-identification engine: PS3.15 Annex E applied to a Part-10 file at byte level.
 *
 * `deidentify` is a pure function of (bytes, compiled rules, keys, identity): no clock, no random,
 * no I/O. It walks the element tree found by parse.ts and writes the output as a list of slices of
 * the input (untouched runs of elements, pixel data, unchanged sequences) interleaved with the few
 * small buffers it re-encodes, then concatenates once. Values are decoded only for the elements an
 * action needs, so the cost stays close to copying the file.
 *
 * Errors name tags and offsets, never values: they end up in job records and logs.
 */
import { createHash, createHmac } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { AppError } from '../errors';
import { quarantineVerdict, type QuarantineVerdict } from './burned-in';
import { type IdentifierKind, IDENTIFIER_KEYWORDS, REMOVED_TOKEN, cleanText, compileIdentifiers, identifierTokens } from './clean-text';
import { shiftDA, shiftDT } from './dates';
import { formatTag, keywordOf, lookupTag, tagForKeyword } from './dictionary';
import { FREE_TEXT_VRS } from './keep-list';
import {
  type El,
  type Item,
  type ParsedFile,
  type Syntax,
  EXPLICIT_LE,
  ITEM,
  ITEM_DELIM,
  LONG_VRS,
  SEQ_DELIM,
  UNDEFINED,
  malformed,
  parsePart10,
  valueString,
} from './parse';
import { type CompiledRules, type Resolved, compileRules } from './profile';
import type { ElementMatcher, OptionKey, ParsedSelector, RuleSet } from './rules';
import { MAX_LENGTH } from './rules';
import { type MethodCode, methodCodesFor } from './method-codes';
import { stampElements } from './stamps';
import { privateKey } from './safe-private';

export interface DeidKeys {
  /** Per-pool HMAC key: UIDs, AE pseudonyms and `hash` overrides are derived with it. */
  uidSecret: Buffer | string;
}

export interface DeidIdentity {
  researchId: string;
  researchName: string;
  dateOffsetDays: number;
  /** Lookup tables for `lookup` overrides: table name -> original value -> replacement. */
  lookups?: Record<string, Record<string, string>>;
}

export interface DeidChange {
  tag: string;
  keyword?: string;
  action: string;
  /** Enclosing sequences, outermost first, e.g. "ReferencedImageSequence"; absent at top level. */
  path?: string;
  /** How many elements with the same tag, path and action (a per-frame sequence repeats them). */
  count?: number;
}

/** Options of one run besides the rules: the rule version (named in (0012,0063)). */
export interface DeidOptions {
  ruleVersion?: number;
  /**
   * The pixel data was redacted (a redacted instance written from a de-identified one): 113101
   * Clean Pixel Data joins the method codes.
   */
  cleanedPixels?: boolean;
}

/** What the report counts per instance (lib/reports): elements per kind of action, never values. */
export const SUMMARY_ACTIONS = ['removed', 'emptied', 'replaced', 'kept', 'shifted', 'uidRemapped', 'cleaned', 'added'] as const;
export type SummaryAction = (typeof SUMMARY_ACTIONS)[number];
export type DeidSummary = Record<SummaryAction, number> & {
  /** The CID 7050 codes written into (0012,0064). */
  methodCodes: string[];
};

/** The report's kind of action for one of the engine's change actions. */
export function summaryAction(action: string): Exclude<SummaryAction, 'kept'> {
  if (action.startsWith('remove')) return 'removed';
  if (action.startsWith('empty')) return 'emptied';
  if (action === 'shiftDate') return 'shifted';
  if (action === 'uid') return 'uidRemapped';
  if (action === 'clean') return 'cleaned';
  if (action === 'added' || action === 'stamp') return 'added';
  // dummy, set, researchIdentity, hash, lookup
  return 'replaced';
}

export interface DeidResult {
  output: Buffer;
  /** Counts per kind of action and the method codes written (for the de-identification report). */
  summary: DeidSummary;
  /** For preview and summaries. Never values. */
  changed: DeidChange[];
  /**
   * Set when the instance may carry identifying pixels (burned-in text, faces); not an error.
   * codes: the reason codes of burned-in.ts (what a pool stores); reason: the owner's text for them.
   */
  quarantine?: { reason: string; codes: string[] };
  sourceUids: { study: string; series: string; sop: string; patientId: string };
  targetUids: { study: string; series: string; sop: string };
  sopClassUid: string;
  transferSyntaxUid: string;
}

// ---------------------------------------------------------------------------------------------
// Constants

const T = {
  SpecificCharacterSet: 0x00080005,
  ImageType: 0x00080008,
  SOPClassUID: 0x00080016,
  SOPInstanceUID: 0x00080018,
  Modality: 0x00080060,
  AccessionNumber: 0x00080050,
  StudyDate: 0x00080020,
  PatientName: 0x00100010,
  PatientID: 0x00100020,
  PatientIdentityRemoved: 0x00120062,
  DeidentificationMethod: 0x00120063,
  DeidentificationMethodCodeSequence: 0x00120064,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  BurnedInAnnotation: 0x00280301,
  RecognizableVisualFeatures: 0x00280302,
  LongitudinalTemporalInformationModified: 0x00280303,
  CodeValue: 0x00080100,
  CodingSchemeDesignator: 0x00080102,
  CodeMeaning: 0x00080104,
} as const;

/** Written as (0002,0012) Implementation Class UID of every file Tributary writes. */
export const IMPLEMENTATION_CLASS_UID = uidFromDigest(createHash('sha256').update('tributary:implementation-class:1').digest());
export const IMPLEMENTATION_VERSION_NAME = 'TRIBUTARY_1';

const TEXT_VRS: ReadonlySet<string> = new Set(['LO', 'SH', 'LT', 'ST', 'UT', 'UC', 'CS', 'PN']);
const STRING_VRS: ReadonlySet<string> = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const DUMMY_TEXT = 'ANONYMIZED';
const DUMMY_BY_VR: Record<string, string> = {
  AE: DUMMY_TEXT, AS: '000Y', CS: DUMMY_TEXT, DA: '19000101', DS: '0', DT: '19000101000000', IS: '0', LO: DUMMY_TEXT,
  LT: DUMMY_TEXT, PN: DUMMY_TEXT, SH: DUMMY_TEXT, ST: DUMMY_TEXT, TM: '000000', UC: DUMMY_TEXT, UR: 'urn:x-anonymized',
  UT: DUMMY_TEXT,
};
const NUMERIC_SIZE: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, SV: 8, UV: 8, AT: 4 };
const WELL_KNOWN_UID_ROOT = '1.2.840.10008.';

// ---------------------------------------------------------------------------------------------
// UIDs

function uidFromDigest(digest: Buffer): string {
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

/**
 * "2.25." + decimal of HMAC-SHA256(secret, uid) truncated to 128 bits. Deterministic: the same
 * source UID maps to the same research UID in every study of a pool, so references between
 * instances (and re-sent studies) stay consistent; a different pool secret gives unrelated UIDs.
 */
export function remapUid(uid: string, secret: Buffer | string): string {
  return uidFromDigest(createHmac('sha256', secret).update(uid, 'latin1').digest());
}

/** Bounded per-secret cache: a study's Study/Series UIDs repeat in every instance. */
const uidCache = new Map<string, Map<string, string>>();
function cachedRemap(uid: string, secret: Buffer | string): string {
  const k = typeof secret === 'string' ? `s:${secret}` : `b:${secret.toString('hex')}`;
  let m = uidCache.get(k);
  if (!m) {
    if (uidCache.size > 16) uidCache.clear();
    m = new Map();
    uidCache.set(k, m);
  }
  let out = m.get(uid);
  if (out === undefined) {
    if (m.size > 50_000) m.clear();
    out = remapUid(uid, secret);
    m.set(uid, out);
  }
  return out;
}

function remapUidValue(value: string, secret: Buffer | string): string {
  return value
    .split('\\')
    .map((v) => {
      const uid = v.trim().replace(/\0+$/, '');
      if (uid === '' || uid.startsWith(WELL_KNOWN_UID_ROOT)) return uid;
      return cachedRemap(uid, secret);
    })
    .join('\\');
}

// ---------------------------------------------------------------------------------------------
// Output

/** Chunks of output; consecutive slices of the same source buffer are merged. */
class Out {
  chunks: Buffer[] = [];
  length = 0;
  private runBuf: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;

  copy(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (this.runBuf === buf && this.runEnd === start) {
      this.runEnd = end;
    } else {
      this.flush();
      this.runBuf = buf;
      this.runStart = start;
      this.runEnd = end;
    }
    this.length += end - start;
  }

  push(b: Buffer): void {
    this.flush();
    this.chunks.push(b);
    this.length += b.length;
  }

  append(other: Out): void {
    other.flush();
    this.flush();
    for (const c of other.chunks) this.chunks.push(c);
    this.length += other.length;
  }

  flush(): void {
    if (this.runBuf) {
      this.chunks.push(this.runBuf.subarray(this.runStart, this.runEnd));
      this.runBuf = null;
    }
  }

  toBuffer(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks, this.length);
  }
}

function header(tag: number, vr: string | null, len: number, syntax: Syntax): Buffer {
  const little = syntax.little;
  const w16 = (b: Buffer, v: number, o: number) => (little ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const w32 = (b: Buffer, v: number, o: number) => (little ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  let b: Buffer;
  if (syntax.explicit && vr !== null) {
    if (LONG_VRS.has(vr)) {
      b = Buffer.alloc(12);
      b.write(vr, 4, 'latin1');
      w32(b, len, 8);
    } else {
      if (len > 0xffff) throw new AppError('INTERNAL', `Value of ${formatTag(tag)} too long for VR ${vr}`);
      b = Buffer.alloc(8);
      b.write(vr, 4, 'latin1');
      w16(b, len, 6);
    }
  } else {
    b = Buffer.alloc(8);
    w32(b, len, 4);
  }
  w16(b, tag >>> 16, 0);
  w16(b, tag & 0xffff, 2);
  return b;
}

function delimiter(tag: number, syntax: Syntax): Buffer {
  const b = Buffer.alloc(8);
  if (syntax.little) {
    b.writeUInt16LE(tag >>> 16, 0);
    b.writeUInt16LE(tag & 0xffff, 2);
  } else {
    b.writeUInt16BE(tag >>> 16, 0);
    b.writeUInt16BE(tag & 0xffff, 2);
  }
  return b;
}

function itemHeader(len: number, syntax: Syntax): Buffer {
  const b = delimiter(ITEM, syntax);
  if (syntax.little) b.writeUInt32LE(len, 4);
  else b.writeUInt32BE(len, 4);
  return b;
}

/** Encodes a string value padded to even length (UI with NUL, text with space). */
function stringValue(value: string, vr: string): Buffer {
  const raw = Buffer.from(value, 'latin1');
  if (raw.length % 2 === 0) return raw;
  return Buffer.concat([raw, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
}

function numericValue(value: string, vr: string, little: boolean): Buffer {
  const parts = value.split('\\').map((v) => Number(v.trim()));
  const size = NUMERIC_SIZE[vr];
  const b = Buffer.alloc(size * parts.length);
  parts.forEach((n, i) => {
    const o = i * size;
    switch (vr) {
      case 'US': little ? b.writeUInt16LE(n, o) : b.writeUInt16BE(n, o); break;
      case 'SS': little ? b.writeInt16LE(n, o) : b.writeInt16BE(n, o); break;
      case 'UL': little ? b.writeUInt32LE(n, o) : b.writeUInt32BE(n, o); break;
      case 'SL': little ? b.writeInt32LE(n, o) : b.writeInt32BE(n, o); break;
      case 'FL': little ? b.writeFloatLE(n, o) : b.writeFloatBE(n, o); break;
      case 'FD': little ? b.writeDoubleLE(n, o) : b.writeDoubleBE(n, o); break;
      case 'SV': little ? b.writeBigInt64LE(BigInt(Math.trunc(n)), o) : b.writeBigInt64BE(BigInt(Math.trunc(n)), o); break;
      case 'UV': little ? b.writeBigUInt64LE(BigInt(Math.trunc(n)), o) : b.writeBigUInt64BE(BigInt(Math.trunc(n)), o); break;
      default: break;
    }
  });
  return b;
}

// ---------------------------------------------------------------------------------------------
// Processing context

interface Run {
  buf: Buffer;
  rules: CompiledRules;
  secret: Buffer | string;
  identity: DeidIdentity;
  changes: Map<string, DeidChange>;
  /** Top-level elements (quarantine checks; the identifiers that "clean" removes are searched from here down). */
  topEls: El[];
  identifiers?: RegExp | null;
  target: { study: string; series: string; sop: string };
  /** Elements copied unchanged (for the summary). */
  kept: number;
  /** The method codes written into (0012,0064); none when an override of it wins. */
  methodCodes: MethodCode[];
}

type Mode = 'normal' | 'dummy' | 'clean';

interface Level {
  syntax: Syntax;
  mode: Mode;
  /** Tags of the enclosing sequences, outermost first. */
  ancestors: number[];
  /** Private creators of the enclosing items, for private selectors in paths. */
  ancestorCreators: Array<string | undefined>;
  depth: number;
}

function report(run: Run, tag: number, action: string, level: Level): void {
  const path = level.ancestors.length
    ? level.ancestors.map((t) => keywordOf(t) ?? formatTag(t)).join('/')
    : undefined;
  const key = `${path ?? ''}|${tag}|${action}`;
  const hit = run.changes.get(key);
  if (hit) {
    hit.count = (hit.count ?? 1) + 1;
    return;
  }
  const change: DeidChange = { tag: formatTag(tag), action };
  const keyword = keywordOf(tag);
  if (keyword) change.keyword = keyword;
  if (path) change.path = path;
  run.changes.set(key, change);
}

function matches(m: ElementMatcher, tag: number, creator: string | undefined): boolean {
  switch (m.kind) {
    case 'tag':
      return m.tag === tag;
    case 'mask':
      return ((tag & m.mask) >>> 0) === m.value;
    case 'private':
      return (
        tag >>> 16 === m.group &&
        (tag & 0xffff) >= 0x1000 &&
        (tag & 0xff) === m.offset &&
        creator !== undefined &&
        creator.toUpperCase() === m.creator.toUpperCase()
      );
  }
}

function pathMatches(sel: ParsedSelector, tag: number, creator: string | undefined, level: Level): boolean {
  if (!matches(sel.target, tag, creator)) return false;
  const n = sel.ancestors.length;
  if (level.ancestors.length < n) return false;
  if (sel.anchored && level.ancestors.length !== n) return false;
  const offset = level.ancestors.length - n;
  for (let i = 0; i < n; i++) {
    if (!matches(sel.ancestors[i], level.ancestors[offset + i], level.ancestorCreators[offset + i])) return false;
  }
  return true;
}

const KEEP_AS_IS: Resolved = { op: 'keep', reason: 'K' };
const REMOVE_UNLISTED: Resolved = { op: 'remove', reason: 'not on keep-list' };
const REMOVE_UNKNOWN: Resolved = { op: 'remove', reason: 'not in the dictionary' };
const REMOVE_VR_MISMATCH: Resolved = { op: 'remove', reason: 'keep-list attribute sent with a free-text VR' };
const UID_UNNAMED: Resolved = { op: 'uid', reason: 'unnamed UID' };
const REMOVE_PRIVATE: Resolved = { op: 'remove', reason: 'private' };
const REMOVE_SILENT: Resolved = { op: 'remove', reason: 'group length' };

/** Decides what happens to one element; `creator` is its private creator when private. */
function decide(run: Run, el: El, level: Level, creator: string | undefined): Resolved {
  const r = run.rules;
  const tag = el.tag;
  const group = tag >>> 16;
  const elem = tag & 0xffff;
  if (elem === 0) return REMOVE_SILENT; // group lengths are retired and would be wrong after edits
  if (group === 0x0002 || group === 0x0000) return { op: 'remove', reason: 'misplaced group' };

  for (const p of r.pathOverrides) if (pathMatches(p.selector, tag, creator, level)) return p.resolved;

  if (group & 1) {
    if (elem < 0x1000) return REMOVE_PRIVATE; // creators are handled by the caller; 0001-000F are invalid
    if (creator === undefined) return REMOVE_PRIVATE; // no creator: cannot be identified, cannot be safe
    const key = privateKey(group, creator, elem & 0xff);
    const o = r.privateOverrides.get(key) ?? r.exactOverrides.get(tag) ?? r.maskOverrides.find((m) => ((tag & m.mask) >>> 0) === m.value)?.resolved;
    if (o) return o;
    if (r.safePrivate.has(key)) return { op: 'keep', reason: 'safe private' };
    return REMOVE_PRIVATE;
  }

  const exact = r.exactOverrides.get(tag);
  if (exact) return exact;
  for (const m of r.maskOverrides) if (((tag & m.mask) >>> 0) === m.value) return m.resolved;

  if (tag === T.PatientName) return { op: 'set', value: run.identity.researchName, reason: 'research identity' };
  if (tag === T.PatientID) return { op: 'set', value: run.identity.researchId, reason: 'research identity' };

  if (level.mode === 'dummy') return { op: 'dummy', reason: 'D (inside a D sequence)' };

  const row = r.table.get(tag);
  if (row) return row;
  for (const m of r.tableMasks) if (((tag & m.mask) >>> 0) === m.value) return m.resolved;

  // Not named by Table E.1-1: the keep-list (keep-list.ts), else removed.
  const vr = el.vr;
  const listed = r.keepTags.get(tag);
  if (listed !== undefined) {
    // Reviewed entries (true) are kept as they are; technical ones only with a VR that holds no free text.
    if (listed || !FREE_TEXT_VRS.has(vr)) return KEEP_AS_IS;
    return REMOVE_VR_MISMATCH;
  }
  if (lookupTag(tag) === undefined) return REMOVE_UNKNOWN;
  if (vr === 'UI') return r.retainUids ? KEEP_AS_IS : UID_UNNAMED;
  if (vr === 'DA' || vr === 'DT') {
    if (r.dates === 'full') return { op: 'keep', reason: 'unnamed date (full dates)' };
    if (r.dates === 'modified') return { op: 'shiftDate', reason: 'unnamed date (modified dates)' };
    return { op: 'remove', reason: 'unnamed date' };
  }
  if (level.mode === 'clean' && TEXT_VRS.has(vr) && vr !== 'PN') return { op: 'clean', reason: 'text inside a cleaned sequence' };
  return REMOVE_UNLISTED;
}

// ---------------------------------------------------------------------------------------------
// Cleaning text (clean-text.ts): identifiers of this instance, dates, phones, e-mails, long numbers.

const IDENTIFIER_KIND: ReadonlyMap<number, IdentifierKind> = (() => {
  const m = new Map<number, IdentifierKind>();
  for (const kind of ['id', 'place'] as const) {
    for (const keyword of IDENTIFIER_KEYWORDS[kind]) {
      const tag = tagForKeyword(keyword);
      if (tag === undefined) throw new Error(`Identifier keyword ${keyword} is not in the dictionary`);
      m.set(tag, kind);
    }
  }
  return m;
})();

/** Identifying values of the whole instance (every depth), compiled once, when first needed. */
function identifierPattern(run: Run): RegExp | null {
  if (run.identifiers !== undefined) return run.identifiers;
  const tokens: string[] = [];
  const walk = (els: El[]) => {
    for (const el of els) {
      if (el.items) {
        for (const item of el.items) walk(item.els);
        continue;
      }
      const kind = el.vr === 'PN' ? 'name' : IDENTIFIER_KIND.get(el.tag);
      if (!kind || (el.tag >>> 16) & 1) continue;
      const v = valueString(run.buf, el);
      if (v) for (const t of identifierTokens(kind, v)) tokens.push(t);
    }
  };
  walk(run.topEls);
  run.identifiers = compileIdentifiers(tokens);
  return run.identifiers;
}

/** Cleans a text value of VR `vr`, value by value; CS and values that would grow too long drop the token. */
function cleanValue(run: Run, text: string, vr: string): string {
  const ids = identifierPattern(run);
  const values = text.split('\\');
  const token = vr === 'CS' ? '' : REMOVED_TOKEN;
  let out = values.map((v) => cleanText(v, ids, token)).join('\\');
  const max = MAX_LENGTH[vr];
  if (token && max !== undefined && Buffer.byteLength(out, 'latin1') > max) out = values.map((v) => cleanText(v, ids, '')).join('\\');
  if (vr === 'CS') out = out.toUpperCase();
  return out;
}

function pseudonymAe(run: Run, value: string): string {
  if (!value.trim()) return '';
  return `AE${createHmac('sha256', run.secret).update(`ae:${value.trim()}`, 'latin1').digest('hex').slice(0, 12).toUpperCase()}`;
}

function hashText(run: Run, value: string, vr: string): string {
  const h = createHmac('sha256', run.secret).update(`hash:${value.trim()}`, 'latin1').digest('hex').toUpperCase();
  return h.slice(0, Math.min(16, MAX_LENGTH[vr] ?? 16));
}

// ---------------------------------------------------------------------------------------------
// Applying an operation to an element

function emitValue(out: Out, el: El, value: Buffer, syntax: Syntax): void {
  out.push(header(el.tag, syntax.explicit ? (el.encVr ?? el.vr) : null, value.length, syntax));
  if (value.length) out.push(value);
}

function emitString(out: Out, el: El, value: string, syntax: Syntax): void {
  emitValue(out, el, stringValue(value, el.vr), syntax);
}

function dummyValue(run: Run, el: El): Buffer {
  const vr = el.vr;
  if (vr === 'UI') return stringValue(remapUidValue(valueString(run.buf, el), run.secret), 'UI');
  const text = DUMMY_BY_VR[vr];
  if (text !== undefined) return stringValue(text, vr);
  // Binary and numeric VRs: zeros of the original length keep VM and dependent lengths consistent.
  const size = NUMERIC_SIZE[vr] ?? 2;
  const len = el.len === UNDEFINED ? size : Math.max(size, el.len + (el.len % 2));
  return Buffer.alloc(len);
}

/** The top-level values the result reports (target UIDs). */
function noteTarget(run: Run, el: El, level: Level, value: string): void {
  if (level.depth !== 0) return;
  if (el.tag === T.StudyInstanceUID) run.target.study = value;
  else if (el.tag === T.SeriesInstanceUID) run.target.series = value;
  else if (el.tag === T.SOPInstanceUID) run.target.sop = value;
}

// The helpers below are module functions rather than closures inside apply(): apply runs for
// every element and allocating closures there measurably slowed the hot path.

/** Characters a value of these VRs may hold (PS3.5 Table 6.2-1, with the separators and padding). */
const VR_REPERTOIRE: Readonly<Record<string, RegExp>> = {
  AS: /^[0-9DWMY \\]*$/,
  DA: /^[0-9.\- \\]*$/,
  DS: /^[0-9+\-Ee. \\]*$/,
  DT: /^[0-9.+\- \\]*$/,
  IS: /^[0-9+\- \\]*$/,
  TM: /^[0-9.:\- \\]*$/,
  UI: /^[0-9. \\]*$/,
};
// C0 controls other than TAB, LF, FF, CR and ESC (ISO 2022 escapes) occur in no text value.
const CONTROL = /[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]/;

/**
 * Whether a value kept as sent fits its VR. A value that does not is a damaged element (typically
 * a wrong length that swallowed the elements after it, PHI included), or text sent under the tag
 * of a sequence: keeping it would copy bytes the rules never saw.
 */
function fitsVr(run: Run, el: El): boolean {
  if (!STRING_VRS.has(el.vr)) return true;
  // A standard attribute sent with another VR than the dictionary's (a name under a model name's
  // tag, text under a sequence's): a damaged or relabelled element, not what the rule was written for.
  const known = (el.tag >>> 16) & 1 ? undefined : lookupTag(el.tag)?.vr;
  if (known && known !== el.vr && known !== 'UN') return false;
  const v = valueString(run.buf, el);
  const repertoire = VR_REPERTOIRE[el.vr];
  return repertoire ? repertoire.test(v) : !CONTROL.test(v);
}

function keepOriginal(run: Run, el: El, level: Level, out: Out, creator: string | undefined): boolean {
  if (el.items) return emitSequence(run, el, level, level.mode === 'dummy' ? 'normal' : level.mode, out, creator);
  if (!fitsVr(run, el)) {
    report(run, el.tag, 'remove (value does not fit its VR)', level);
    return true;
  }
  out.copy(run.buf, el.start, el.end);
  run.kept++;
  if (el.vr === 'UI' && level.depth === 0) noteTarget(run, el, level, valueString(run.buf, el).trim());
  return false;
}

function emptyElement(run: Run, el: El, level: Level, out: Out, action = 'empty'): true {
  const syntax = level.syntax;
  out.push(header(el.tag, syntax.explicit ? (el.encVr ?? el.vr) : null, 0, syntax));
  if (el.vr === 'UI') noteTarget(run, el, level, '');
  report(run, el.tag, action, level);
  return true;
}

function remapElement(run: Run, el: El, level: Level, out: Out): true {
  const v = remapUidValue(valueString(run.buf, el), run.secret);
  emitString(out, el, v, level.syntax);
  noteTarget(run, el, level, v);
  report(run, el.tag, 'uid', level);
  return true;
}

function shiftElement(run: Run, el: El, level: Level, out: Out, creator: string | undefined): boolean {
  const vr = el.vr;
  if (vr !== 'DA' && vr !== 'DT') return keepOriginal(run, el, level, out, creator);
  const v = valueString(run.buf, el);
  const shifted = vr === 'DA' ? shiftDA(v, run.identity.dateOffsetDays) : shiftDT(v, run.identity.dateOffsetDays);
  if (shifted === null) return emptyElement(run, el, level, out, 'empty (unparseable date)');
  emitString(out, el, shifted, level.syntax);
  report(run, el.tag, 'shiftDate', level);
  return true;
}

function apply(run: Run, el: El, res: Resolved, level: Level, out: Out, creator: string | undefined): boolean {
  const buf = run.buf;
  const syntax = level.syntax;
  const vr = el.vr;
  const isSeq = el.items !== undefined;

  switch (res.op) {
    case 'keep':
      return keepOriginal(run, el, level, out, creator);
    case 'remove':
      if (res !== REMOVE_SILENT) report(run, el.tag, 'remove', level);
      return true;
    case 'empty':
      return emptyElement(run, el, level, out);
    case 'dummy':
      if (isSeq) {
        emitSequence(run, el, level, 'dummy', out, creator);
        report(run, el.tag, 'dummy', level);
        return true;
      }
      if (vr === 'UI') return remapElement(run, el, level, out);
      emitValue(out, el, dummyValue(run, el), syntax);
      report(run, el.tag, 'dummy', level);
      return true;
    case 'uid':
    case 'uidStar':
      if (vr === 'UI') return remapElement(run, el, level, out);
      if (isSeq && res.op === 'uidStar') return emitSequence(run, el, level, level.mode === 'dummy' ? 'normal' : level.mode, out, creator);
      return emptyElement(run, el, level, out);
    case 'clean': {
      if (isSeq) {
        const changed = emitSequence(run, el, level, 'clean', out, creator);
        if (changed) report(run, el.tag, 'clean', level);
        return changed;
      }
      if (vr === 'DA' || vr === 'DT') return shiftElement(run, el, level, out, creator);
      if (vr === 'TM') return keepOriginal(run, el, level, out, creator);
      if (vr === 'UI') return remapElement(run, el, level, out);
      if (vr === 'AE') {
        emitString(out, el, pseudonymAe(run, valueString(buf, el)), syntax);
        report(run, el.tag, 'clean', level);
        return true;
      }
      if (TEXT_VRS.has(vr) && vr !== 'PN') {
        const before = valueString(buf, el);
        const after = cleanValue(run, before, vr);
        if (after === before) return keepOriginal(run, el, level, out, creator);
        emitString(out, el, after, syntax);
        report(run, el.tag, 'clean', level);
        return true;
      }
      if (res.graphics) return keepOriginal(run, el, level, out, creator);
      // No meaningful cleaning for this VR (binary, PN, numbers): fall back to a dummy value.
      emitValue(out, el, dummyValue(run, el), syntax);
      report(run, el.tag, 'dummy', level);
      return true;
    }
    case 'shiftDate':
      return shiftElement(run, el, level, out, creator);
    case 'set': {
      const value = res.value ?? '';
      if (isSeq) return emptyElement(run, el, level, out);
      if (STRING_VRS.has(vr)) emitString(out, el, value, syntax);
      else if (NUMERIC_SIZE[vr] && vr !== 'AT' && value.trim() !== '') emitValue(out, el, numericValue(value, vr, syntax.little), syntax);
      else return emptyElement(run, el, level, out);
      if (vr === 'UI') noteTarget(run, el, level, value);
      report(run, el.tag, res.reason === 'research identity' ? 'researchIdentity' : 'set', level);
      return true;
    }
    case 'hash': {
      if (vr === 'UI') return remapElement(run, el, level, out);
      if (!TEXT_VRS.has(vr) && vr !== 'AE') return emptyElement(run, el, level, out);
      const v = valueString(buf, el);
      emitString(out, el, v.trim() ? hashText(run, v, vr) : '', syntax);
      report(run, el.tag, 'hash', level);
      return true;
    }
    case 'lookup': {
      if (isSeq) return emptyElement(run, el, level, out);
      const table = run.identity.lookups?.[res.value ?? ''];
      const original = valueString(buf, el).trim();
      const replacement = table && Object.prototype.hasOwnProperty.call(table, original) ? table[original] : undefined;
      if (replacement === undefined) return emptyElement(run, el, level, out, 'empty (lookup miss)');
      if (STRING_VRS.has(vr)) emitString(out, el, replacement, syntax);
      else return emptyElement(run, el, level, out, 'empty (lookup miss)');
      if (vr === 'UI') noteTarget(run, el, level, replacement);
      report(run, el.tag, 'lookup', level);
      return true;
    }
  }
}

/**
 * Writes a sequence, cleaning its items in `mode`. Returns whether anything changed; when nothing
 * did, the original bytes are copied (the common case for reference sequences with retained UIDs).
 */
function emitSequence(run: Run, el: El, parent: Level, mode: Mode, out: Out, creator: string | undefined): boolean {
  const syntax = el.itemSyntax ?? parent.syntax;
  const child: Level = {
    syntax,
    mode,
    ancestors: [...parent.ancestors, el.tag],
    ancestorCreators: [...parent.ancestorCreators, creator],
    depth: parent.depth + 1,
  };
  const itemOuts: Array<{ item: Item; out: Out }> = [];
  let changed = false;
  for (const item of el.items!) {
    const io = new Out();
    if (processLevel(run, item.els, child, io, null)) changed = true;
    itemOuts.push({ item, out: io });
  }
  if (!changed) {
    out.copy(run.buf, el.start, el.end);
    return false;
  }
  let contentLen = 0;
  const undefinedSeq = el.len === UNDEFINED;
  for (const { item, out: io } of itemOuts) contentLen += 8 + io.length + (item.len === UNDEFINED ? 8 : 0);
  out.push(header(el.tag, parent.syntax.explicit ? (el.encVr ?? 'SQ') : null, undefinedSeq ? UNDEFINED : contentLen, parent.syntax));
  for (const { item, out: io } of itemOuts) {
    out.push(itemHeader(item.len === UNDEFINED ? UNDEFINED : io.length, syntax));
    out.append(io);
    if (item.len === UNDEFINED) out.push(delimiter(ITEM_DELIM, syntax));
  }
  if (undefinedSeq) out.push(delimiter(SEQ_DELIM, syntax));
  return true;
}

interface Addition {
  tag: number;
  /** replace: the original (if any) is dropped; ifAbsent: only added when the original is missing. */
  mode: 'replace' | 'ifAbsent';
  encode: (syntax: Syntax) => Buffer[];
  action: string;
}

/**
 * Processes one dataset level (the top level or one item). Returns whether the output differs
 * from the input bytes.
 */
function processLevel(run: Run, input: El[], level: Level, out: Out, additions: Addition[] | null): boolean {
  let els = input;
  // Output must be in ascending tag order; sort the rare unsorted input instead of refusing it.
  for (let i = 1; i < els.length; i++) {
    if (els[i].tag <= els[i - 1].tag) {
      els = [...input].sort((a, b) => a.tag - b.tag).filter((e, j, arr) => j === 0 || arr[j - 1].tag !== e.tag);
      break;
    }
  }
  let changed = els !== input;

  // Private blocks: find each block's creator, decide every private element first, then keep a
  // creator only when an element of its block survives.
  let creators: Map<number, string> | null = null;
  let privateDecisions: Map<El, Resolved> | null = null;
  let keptBlocks: Set<number> | null = null;
  for (const el of els) {
    const group = el.tag >>> 16;
    if (!(group & 1)) continue;
    const elem = el.tag & 0xffff;
    if (elem >= 0x10 && elem <= 0xff) {
      creators ??= new Map();
      creators.set(((group << 8) | elem) >>> 0, el.items ? '' : valueString(run.buf, el).trim());
    }
  }
  if (creators) {
    privateDecisions = new Map();
    keptBlocks = new Set();
    for (const el of els) {
      const group = el.tag >>> 16;
      const elem = el.tag & 0xffff;
      if (!(group & 1) || elem < 0x1000) continue;
      const res = decide(run, el, level, creatorFor(creators, el.tag));
      privateDecisions.set(el, res);
      if (res.op !== 'remove') keptBlocks.add(((group << 8) | (elem >>> 8)) >>> 0);
    }
  }

  let ai = 0;
  for (const el of els) {
    const tag = el.tag;
    if (additions) {
      const before = ai;
      ai = flushAdditions(run, additions, ai, tag, level, out);
      if (ai !== before) changed = true;
      if (ai < additions.length && additions[ai].tag === tag) {
        const a = additions[ai++];
        if (a.mode === 'replace') {
          for (const b of a.encode(level.syntax)) out.push(b);
          report(run, a.tag, a.action === 'added' ? 'set' : a.action, level);
          changed = true;
          continue;
        }
      }
    }
    const group = tag >>> 16;
    const elem = tag & 0xffff;
    if (group & 1 && elem >= 0x10 && elem <= 0xff) {
      if (keptBlocks?.has(((group << 8) | elem) >>> 0)) {
        out.copy(run.buf, el.start, el.end);
        run.kept++;
      } else {
        report(run, tag, 'remove', level);
        changed = true;
      }
      continue;
    }
    const creator = creators ? creatorFor(creators, tag) : undefined;
    const res = privateDecisions?.get(el) ?? decide(run, el, level, creator);
    if (apply(run, el, res, level, out, creator)) changed = true;
  }
  if (additions && flushAdditions(run, additions, ai, 0x100000000, level, out) !== ai) changed = true;
  return changed;
}

/** The private creator of a private data element (gggg,xxee): the value of (gggg,00xx). */
function creatorFor(creators: Map<number, string>, tag: number): string | undefined {
  const group = tag >>> 16;
  const elem = tag & 0xffff;
  if (!(group & 1) || elem < 0x1000) return undefined;
  return creators.get(((group << 8) | (elem >>> 8)) >>> 0);
}

/** Writes the additions with tags below `before`; returns the index of the next one. */
function flushAdditions(run: Run, additions: Addition[], ai: number, before: number, level: Level, out: Out): number {
  while (ai < additions.length && additions[ai].tag < before) {
    const a = additions[ai++];
    for (const b of a.encode(level.syntax)) out.push(b);
    report(run, a.tag, a.action, level);
  }
  return ai;
}

// ---------------------------------------------------------------------------------------------
// Burned-in text risk

function topValue(run: Run, tag: number): string {
  const el = run.topEls.find((e) => e.tag === tag);
  return el && !el.items ? valueString(run.buf, el).trim() : '';
}

/** The burned-in text verdict (burned-in.ts, with the pool's narrowing/widening) from the top-level attributes. */
function quarantineReason(run: Run, sopClassUid: string, transferSyntaxUid: string, rules: CompiledRules): QuarantineVerdict | undefined {
  return quarantineVerdict(
    {
      burnedInAnnotation: topValue(run, T.BurnedInAnnotation),
      recognizableVisualFeatures: topValue(run, T.RecognizableVisualFeatures),
      modality: topValue(run, T.Modality),
      sopClassUid,
      imageType: topValue(run, T.ImageType),
      transferSyntaxUid,
    },
    rules.rules.quarantine,
  );
}

// ---------------------------------------------------------------------------------------------
// Entry points

function checkIdentity(identity: DeidIdentity): void {
  const printable = /^[\x20-\x5b\x5d-\x7e]*$/; // printable ASCII without backslash
  if (!identity.researchId || identity.researchId.length > 64 || !printable.test(identity.researchId)) {
    throw new AppError('VALIDATION', 'Research ID must be 1-64 printable ASCII characters without "\\"');
  }
  if (!identity.researchName || identity.researchName.length > 64 || !printable.test(identity.researchName)) {
    throw new AppError('VALIDATION', 'Research name must be 1-64 printable ASCII characters without "\\"');
  }
  if (!Number.isInteger(identity.dateOffsetDays) || Math.abs(identity.dateOffsetDays) > 36_500) {
    throw new AppError('VALIDATION', 'Date offset must be a whole number of days within 100 years');
  }
}

function encodeSimple(tag: number, vr: string, value: string) {
  return (syntax: Syntax): Buffer[] => {
    const v = stringValue(value, vr);
    return [header(tag, syntax.explicit ? vr : null, v.length, syntax), v];
  };
}

function encodeMethodCodes(codes: MethodCode[]) {
  return (syntax: Syntax): Buffer[] => {
    const items: Buffer[][] = [];
    for (const m of codes) {
      const parts = [
        ...encodeSimple(T.CodeValue, 'SH', m.code)(syntax),
        ...encodeSimple(T.CodingSchemeDesignator, 'SH', 'DCM')(syntax),
        ...encodeSimple(T.CodeMeaning, 'LO', m.meaning)(syntax),
      ];
      items.push(parts);
    }
    const body: Buffer[] = [];
    for (const parts of items) {
      const len = parts.reduce((n, b) => n + b.length, 0);
      body.push(itemHeader(len, syntax), ...parts);
    }
    const total = body.reduce((n, b) => n + b.length, 0);
    return [header(T.DeidentificationMethodCodeSequence, syntax.explicit ? 'SQ' : null, total, syntax), ...body];
  };
}

function encodeFD(tag: number, value: number) {
  return (syntax: Syntax): Buffer[] => {
    const v = Buffer.alloc(8);
    if (syntax.little) v.writeDoubleLE(value, 0);
    else v.writeDoubleBE(value, 0);
    return [header(tag, syntax.explicit ? 'FD' : null, 8, syntax), v];
  };
}

function buildAdditions(run: Run, opts: DeidOptions, methodCodes: MethodCode[]): Addition[] {
  const r = run.rules;
  // An explicit override of one of these attributes wins over Tributary's own value for it.
  const overridden = (tag: number) =>
    r.exactOverrides.has(tag) ||
    r.maskOverrides.some((m) => ((tag & m.mask) >>> 0) === m.value) ||
    r.pathOverrides.some((p) => p.selector.ancestors.length === 0 && matches(p.selector.target, tag, undefined));
  const additions: Addition[] = [];
  const add = (tag: number, vr: string, value: string, action = 'added') => {
    if (overridden(tag)) return;
    additions.push({ tag, mode: 'replace', encode: encodeSimple(tag, vr, value), action });
  };
  add(T.PatientName, 'PN', run.identity.researchName, 'researchIdentity');
  add(T.PatientID, 'LO', run.identity.researchId, 'researchIdentity');
  add(T.PatientIdentityRemoved, 'CS', 'YES');
  const version = opts.ruleVersion !== undefined ? ` v${opts.ruleVersion}` : '';
  add(T.DeidentificationMethod, 'LO', `Tributary PS3.15 Basic Profile rules${version} #${r.fingerprint}`.slice(0, 64));
  if (!overridden(T.DeidentificationMethodCodeSequence)) {
    additions.push({ tag: T.DeidentificationMethodCodeSequence, mode: 'replace', encode: encodeMethodCodes(methodCodes), action: 'added' });
    run.methodCodes = methodCodes;
  }
  // The clinical-trial and longitudinal stamps (stamps.ts): they replace whatever the source had.
  const stamps = stampElements(r.rules.stamps, r.dates, run.identity, {
    patientId: topValue(run, T.PatientID),
    accessionNumber: topValue(run, T.AccessionNumber),
    studyInstanceUid: topValue(run, T.StudyInstanceUID),
    studyDate: topValue(run, T.StudyDate),
  });
  for (const st of stamps) {
    if (overridden(st.tag)) continue;
    const encode = st.vr === 'FD' ? encodeFD(st.tag, Number(st.value)) : encodeSimple(st.tag, st.vr, String(st.value));
    additions.push({ tag: st.tag, mode: 'replace', encode, action: 'stamp' });
  }
  // (0028,0303) follows from the rules: Full Dates keep real dates, Modified Dates (or a shiftDate
  // override) shift them, the Basic Profile alone removes or replaces them.
  const shiftOverride = [...r.exactOverrides.values(), ...r.maskOverrides.map((m) => m.resolved), ...r.pathOverrides.map((p) => p.resolved)].some(
    (x) => x.op === 'shiftDate',
  );
  add(T.LongitudinalTemporalInformationModified, 'CS', r.dates === 'full' ? 'UNMODIFIED' : r.dates === 'modified' || shiftOverride ? 'MODIFIED' : 'REMOVED');
  // `set` overrides of absent top-level attributes add them (like CTP's @always).
  for (const [tag, res] of r.exactOverrides) {
    if (res.op !== 'set' || (tag >>> 16) & 1) continue;
    const vr = lookupTag(tag)?.vr;
    if (!vr || !STRING_VRS.has(vr) || additions.some((a) => a.tag === tag)) continue;
    additions.push({ tag, mode: 'ifAbsent', encode: encodeSimple(tag, vr, res.value ?? ''), action: 'added' });
  }
  return additions.sort((a, b) => a.tag - b.tag);
}

function writeMeta(parsed: ParsedFile, sopClassUid: string, sopUid: string): Buffer {
  const metaVal = (tag: number) => {
    const el = parsed.meta.find((e) => e.tag === tag);
    return el ? parsed.metaBuf.subarray(el.vstart, el.vstart + el.len) : undefined;
  };
  const parts: Buffer[] = [];
  const version = metaVal(0x00020001) ?? Buffer.from([0, 1]);
  parts.push(header(0x00020001, 'OB', version.length, EXPLICIT_LE), version);
  for (const [tag, vr, value] of [
    [0x00020002, 'UI', sopClassUid],
    [0x00020003, 'UI', sopUid],
    [0x00020010, 'UI', parsed.transferSyntaxUid],
    [0x00020012, 'UI', IMPLEMENTATION_CLASS_UID],
    [0x00020013, 'SH', IMPLEMENTATION_VERSION_NAME],
  ] as Array<[number, string, string]>) {
    const v = stringValue(value, vr);
    parts.push(header(tag, vr, v.length, EXPLICIT_LE), v);
  }
  const groupLen = parts.reduce((n, b) => n + b.length, 0);
  const gl = Buffer.alloc(4);
  gl.writeUInt32LE(groupLen, 0);
  const preamble = Buffer.alloc(132);
  preamble.write('DICM', 128, 'latin1');
  return Buffer.concat([preamble, header(0x00020000, 'UL', 4, EXPLICIT_LE), gl, ...parts]);
}

/**
 * De-identifies one Part-10 instance. Throws AppError for malformed input (BAD_REQUEST), DICOMDIR
 * (UNSUPPORTED_MEDIA_TYPE) and invalid identity or keys (VALIDATION); burned-in-text risk is not
 * an error but `quarantine` in the result.
 */
export function deidentify(
  input: Buffer,
  rules: CompiledRules,
  keys: DeidKeys,
  identity: DeidIdentity,
  opts: DeidOptions = {},
): DeidResult {
  const { chunks, length, ...rest } = deidentifyToChunks(input, rules, keys, identity, opts);
  return { output: Buffer.concat(chunks, length), ...rest };
}

/**
 * Same as deidentify, but the output stays a list of slices (mostly views of the input) so a file
 * writer can hand them to writev without first copying the whole instance into one buffer.
 */
export function deidentifyToChunks(
  input: Buffer,
  rules: CompiledRules,
  keys: DeidKeys,
  identity: DeidIdentity,
  opts: DeidOptions = {},
): Omit<DeidResult, 'output'> & { chunks: Buffer[]; length: number } {
  checkIdentity(identity);
  if (!keys.uidSecret || keys.uidSecret.length < 16) {
    throw new AppError('VALIDATION', 'The pool UID secret must be at least 16 bytes');
  }
  const parsed = parsePart10(input);
  const run: Run = {
    buf: parsed.buf,
    rules,
    secret: keys.uidSecret,
    identity,
    changes: new Map(),
    topEls: parsed.els,
    target: { study: '', series: '', sop: '' },
    kept: 0,
    methodCodes: [],
  };

  const metaSopClass = (() => {
    const el = parsed.meta.find((e) => e.tag === 0x00020002);
    return el ? valueString(parsed.metaBuf, el).trim() : '';
  })();
  const metaSop = (() => {
    const el = parsed.meta.find((e) => e.tag === 0x00020003);
    return el ? valueString(parsed.metaBuf, el).trim() : '';
  })();
  const sopClassUid = topValue(run, T.SOPClassUID) || metaSopClass;
  if (!sopClassUid) throw malformed('no SOP Class UID (0008,0016)');
  if (sopClassUid === '1.2.840.10008.1.3.10') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'DICOMDIR media directories are not de-identified; send the instances');
  }
  const sourceUids = {
    study: topValue(run, T.StudyInstanceUID),
    series: topValue(run, T.SeriesInstanceUID),
    sop: topValue(run, T.SOPInstanceUID) || metaSop,
    patientId: topValue(run, T.PatientID),
  };
  if (!sourceUids.study) throw malformed('no Study Instance UID (0020,000D)');
  if (!sourceUids.series) throw malformed('no Series Instance UID (0020,000E)');
  if (!sourceUids.sop) throw malformed('no SOP Instance UID (0008,0018)');
  // These go into the meta header and the pool's file paths: a damaged value (a wrong length
  // swallows the elements after it) must not travel there.
  for (const [uid, what] of [[sopClassUid, 'SOP Class UID (0008,0016)'], [sourceUids.study, 'Study Instance UID (0020,000D)'], [sourceUids.series, 'Series Instance UID (0020,000E)'], [sourceUids.sop, 'SOP Instance UID (0008,0018)']] as const) {
    if (uid.length > 64 || !/^[0-9]+(\.[0-9]+)*$/.test(uid)) throw malformed(`${what} is not a valid UID`);
  }

  const level: Level = { syntax: parsed.syntax, mode: 'normal', ancestors: [], ancestorCreators: [], depth: 0 };
  const body = new Out();
  const methodCodes = methodCodesFor({ options: rules.options, dates: rules.dates, cleanedPixels: opts.cleanedPixels });
  processLevel(run, parsed.els, level, body, buildAdditions(run, opts, methodCodes));

  // A SOP Instance UID missing from the dataset (taken from the meta group) is remapped the same way.
  if (!run.target.sop) run.target.sop = rules.retainUids ? sourceUids.sop : remapUidValue(sourceUids.sop, run.secret);
  const metaBytes = writeMeta(parsed, sopClassUid, run.target.sop);
  body.flush();
  let chunks = [metaBytes, ...body.chunks];
  let length = metaBytes.length + body.length;
  if (parsed.deflated) {
    const deflated = deflateRawSync(body.toBuffer());
    chunks = [metaBytes, deflated];
    length = metaBytes.length + deflated.length;
  }

  const verdict = rules.rules.quarantineBurnedIn ? quarantineReason(run, sopClassUid, parsed.transferSyntaxUid, rules) : undefined;
  const changed = [...run.changes.values()];
  const summary: DeidSummary = { removed: 0, emptied: 0, replaced: 0, kept: run.kept, shifted: 0, uidRemapped: 0, cleaned: 0, added: 0, methodCodes: run.methodCodes.map((m) => m.code) };
  for (const c of changed) summary[summaryAction(c.action)] += c.count ?? 1;
  const result: Omit<DeidResult, 'output'> & { chunks: Buffer[]; length: number } = {
    chunks,
    length,
    summary,
    changed,
    sourceUids,
    targetUids: { ...run.target },
    sopClassUid,
    transferSyntaxUid: parsed.transferSyntaxUid,
  };
  if (verdict) result.quarantine = { reason: verdict.text, codes: verdict.codes };
  return result;
}

// ---------------------------------------------------------------------------------------------
// Preview

export interface PreviewElement {
  tag: string;
  keyword?: string;
  vr: string;
  value: string;
  /** Enclosing sequences with item indexes, e.g. "ReferencedImageSequence[0]". */
  path?: string;
}

const BINARY_PREVIEW_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

function previewValue(buf: Buffer, el: El, little: boolean): string {
  if (el.items) return `<sequence, ${el.items.length} item${el.items.length === 1 ? '' : 's'}>`;
  if (el.len === UNDEFINED) return `<${el.encVr ?? el.vr} encapsulated>`;
  if (BINARY_PREVIEW_VRS.has(el.vr)) return `<${el.vr} ${el.len} bytes>`;
  const size = NUMERIC_SIZE[el.vr];
  if (size) {
    const vals: string[] = [];
    for (let o = el.vstart; o + size <= el.vstart + el.len && vals.length < 16; o += size) {
      switch (el.vr) {
        case 'US': vals.push(String(little ? buf.readUInt16LE(o) : buf.readUInt16BE(o))); break;
        case 'SS': vals.push(String(little ? buf.readInt16LE(o) : buf.readInt16BE(o))); break;
        case 'UL': vals.push(String(little ? buf.readUInt32LE(o) : buf.readUInt32BE(o))); break;
        case 'SL': vals.push(String(little ? buf.readInt32LE(o) : buf.readInt32BE(o))); break;
        case 'FL': vals.push(String(little ? buf.readFloatLE(o) : buf.readFloatBE(o))); break;
        case 'FD': vals.push(String(little ? buf.readDoubleLE(o) : buf.readDoubleBE(o))); break;
        case 'SV': vals.push(String(little ? buf.readBigInt64LE(o) : buf.readBigInt64BE(o))); break;
        case 'UV': vals.push(String(little ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o))); break;
        case 'AT': {
          const g = little ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
          const e = little ? buf.readUInt16LE(o + 2) : buf.readUInt16BE(o + 2);
          vals.push(formatTag(((g << 16) | e) >>> 0));
          break;
        }
        default: break;
      }
    }
    return vals.join('\\') + (el.len / size > 16 ? '\\...' : '');
  }
  const text = valueString(buf, el);
  return text.length > 256 ? `${text.slice(0, 256)}...` : text;
}

/** Every element with its decoded value, sequences flattened with paths, for the preview table. */
export function readElementsForPreview(input: Buffer): PreviewElement[] {
  const parsed = parsePart10(input);
  const out: PreviewElement[] = [];
  for (const el of parsed.meta) {
    out.push({ tag: formatTag(el.tag), keyword: keywordOf(el.tag), vr: el.vr, value: previewValue(parsed.metaBuf, el, true) });
  }
  const walk = (els: El[], syntax: Syntax, path: string | undefined) => {
    for (const el of els) {
      const entry: PreviewElement = { tag: formatTag(el.tag), vr: el.vr, value: previewValue(parsed.buf, el, syntax.little) };
      const keyword = keywordOf(el.tag);
      if (keyword) entry.keyword = keyword;
      if (path) entry.path = path;
      out.push(entry);
      if (el.items) {
        const name = keyword ?? formatTag(el.tag);
        el.items.forEach((item, i) => walk(item.els, el.itemSyntax ?? syntax, `${path ? `${path}/` : ''}${name}[${i}]`));
      }
    }
  };
  walk(parsed.els, parsed.syntax, undefined);
  return out;
}

export interface PreviewRow {
  tag: string;
  keyword?: string;
  path?: string;
  before?: string;
  after?: string;
  action: 'removed' | 'changed' | 'kept' | 'added';
}

/** Before/after table for the honest broker's preview (values shown: this is the PHI-side UI). */
export function previewDiff(
  input: Buffer,
  rules: CompiledRules | RuleSet,
  keys: DeidKeys,
  identity: DeidIdentity,
): PreviewRow[] {
  return previewInstance(input, rules, keys, identity).rows;
}

export interface PreviewResult {
  rows: PreviewRow[];
  /** What the engine would do with the instance: held for the owner, with the reason. */
  quarantine?: { reason: string; codes: string[] };
  sopClassUid: string;
  transferSyntaxUid: string;
  /** Counts of rows by action. */
  counts: Record<PreviewRow['action'], number>;
}

/** previewDiff plus the quarantine verdict and counts, from one run of the engine. */
export function previewInstance(
  input: Buffer,
  rules: CompiledRules | RuleSet,
  keys: DeidKeys,
  identity: DeidIdentity,
  opts: DeidOptions = {},
): PreviewResult {
  const compiled = 'table' in rules ? rules : compileRules(rules);
  const before = readElementsForPreview(input);
  const res = deidentify(input, compiled, keys, identity, opts);
  const after = readElementsForPreview(res.output);
  // Sequence item paths differ only when a sequence is emptied; key by path + tag.
  const key = (e: PreviewElement) => `${e.path ?? ''}|${e.tag}`;
  const afterMap = new Map(after.map((e) => [key(e), e]));
  const rows: PreviewRow[] = [];
  const seen = new Set<string>();
  for (const b of before) {
    const k = key(b);
    seen.add(k);
    const a = afterMap.get(k);
    const row: PreviewRow = { tag: b.tag, action: 'kept', before: b.value };
    if (b.keyword) row.keyword = b.keyword;
    if (b.path) row.path = b.path;
    if (!a) row.action = 'removed';
    else {
      row.after = a.value;
      if (a.value !== b.value) row.action = 'changed';
    }
    rows.push(row);
  }
  for (const a of after) {
    if (seen.has(key(a))) continue;
    const row: PreviewRow = { tag: a.tag, action: 'added', after: a.value };
    if (a.keyword) row.keyword = a.keyword;
    if (a.path) row.path = a.path;
    rows.push(row);
  }
  const counts: PreviewResult['counts'] = { removed: 0, changed: 0, kept: 0, added: 0 };
  for (const r of rows) counts[r.action]++;
  const result: PreviewResult = { rows, sopClassUid: res.sopClassUid, transferSyntaxUid: res.transferSyntaxUid, counts };
  if (res.quarantine) result.quarantine = res.quarantine;
  return result;
}
