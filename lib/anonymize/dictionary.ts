/**
 * Tag dictionary for the de-identification engine: tag -> { VR, keyword } and keyword -> tag.
 *
 * Built once, at first use, from dcmjs' standard dictionary (dcmjs is only touched here and only at
 * load time; the byte-level hot path looks tags up in a plain Map). Implicit VR files carry no VR,
 * so the engine needs this to know which elements are sequences, UIDs, dates or person names.
 */
// @ts-ignore -- dcmjs ships no type declarations; only DicomMetaDictionary.nameMap is read here.
import dcmjs from 'dcmjs';

export interface DictEntry {
  /** Two-letter VR. dcmjs' ambiguous codes are resolved to the form used in Implicit VR LE files. */
  vr: string;
  keyword: string;
}

interface RawEntry {
  tag: string;
  vr: string;
  name: string;
}

let byTag: Map<number, DictEntry> | null = null;
let byKeyword: Map<string, number> | null = null;

/** dcmjs' pseudo VRs ("ox" = OB or OW, "xs" = US or SS, ...) mapped to the Implicit VR LE choice. */
const AMBIGUOUS_VR: Record<string, string> = { ox: 'OW', xs: 'US', lt: 'OW', up: 'UL', na: 'NA' };

function load(): void {
  if (byTag) return;
  byTag = new Map();
  byKeyword = new Map();
  const nameMap = (dcmjs as { data: { DicomMetaDictionary: { nameMap: Record<string, RawEntry> } } }).data
    .DicomMetaDictionary.nameMap;
  for (const raw of Object.values(nameMap)) {
    if (!/^\([0-9A-F]{4},[0-9A-F]{4}\)$/i.test(raw.tag)) continue;
    const tag = parseInt(raw.tag.slice(1, 5) + raw.tag.slice(6, 10), 16) >>> 0;
    const vr = AMBIGUOUS_VR[raw.vr] ?? raw.vr;
    const entry: DictEntry = { vr, keyword: raw.name };
    byTag.set(tag, entry);
    byKeyword.set(raw.name, tag);
    // The table and users name retired attributes without dcmjs' RETIRED_ prefix.
    if (raw.name.startsWith('RETIRED_')) {
      const bare = raw.name.slice('RETIRED_'.length);
      if (!byKeyword.has(bare)) byKeyword.set(bare, tag);
    }
  }
}

/**
 * Repeating groups (curves 50xx, overlays 60xx, 7Fxx) are stored once under their first group;
 * PS3.5 7.6 allows the even groups 0x..00-0x..1E.
 */
export function repeatingGroupBase(group: number): number {
  const hi = group & 0xff00;
  if ((hi === 0x5000 || hi === 0x6000 || hi === 0x7f00) && (group & 1) === 0 && (group & 0xff) <= 0x1e) return hi;
  return group;
}

export function lookupTag(tag: number): DictEntry | undefined {
  load();
  const hit = byTag!.get(tag);
  if (hit) return hit;
  const group = tag >>> 16;
  const base = repeatingGroupBase(group);
  if (base !== group) return byTag!.get(((base << 16) | (tag & 0xffff)) >>> 0);
  return undefined;
}

/** Every dictionary entry (repeating groups under their first group), for the keep-list generator. */
export function dictionaryEntries(): Array<[number, DictEntry]> {
  load();
  return [...byTag!.entries()];
}

export function tagForKeyword(keyword: string): number | undefined {
  load();
  return byKeyword!.get(keyword);
}

/** "(0010,0010)" */
export function formatTag(tag: number): string {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

export function keywordOf(tag: number): string | undefined {
  if ((tag >>> 16) & 1) return undefined;
  return lookupTag(tag)?.keyword;
}

/** Parses "(0010,0010)" or "00100010" (case-insensitive); undefined when it is neither. */
export function parseTag(text: string): number | undefined {
  const m = /^\(?([0-9a-f]{4}),?([0-9a-f]{4})\)?$/i.exec(text.trim());
  if (!m) return undefined;
  if (text.includes('(') !== text.includes(')')) return undefined;
  return parseInt(m[1] + m[2], 16) >>> 0;
}
