/**
 * Direct identifiers: attributes whose original value names or reaches a person (PatientID,
 * names, birth date, accession number, addresses, telephone numbers...). A rule set that keeps one
 * of them in a research pool undoes the point of the pool, so saving such rules is the pool
 * owner's act (lib/auth/access.ts, need 'rules') and every place the rules appear (settings page,
 * editor check, preview, API answers: `keepsDirectIdentifiers`) shows a warning naming them.
 *
 * The list is data: add a keyword here and every check and warning follows.
 * See docs/deidentification.md, "Rules that keep direct identifiers".
 */
import { tagForKeyword } from './dictionary';
import { type CompiledRules, compileRules } from './profile';
import type { RuleSet } from './rules';

export const DIRECT_IDENTIFIER_KEYWORDS = [
  'PatientID',
  'PatientName',
  'PatientBirthDate',
  'PatientBirthTime',
  'PatientBirthName',
  'PatientMotherBirthName',
  'OtherPatientIDs',
  'OtherPatientIDsSequence',
  'OtherPatientNames',
  'IssuerOfPatientID',
  'MedicalRecordLocator',
  'AdmissionID',
  'AccessionNumber',
  'PatientAddress',
  'PatientTelephoneNumbers',
  'PatientTelecomInformation',
  'InstitutionAddress',
  'ReferringPhysicianAddress',
  'ReferringPhysicianTelephoneNumbers',
  'PersonAddress',
  'PersonTelephoneNumbers',
  'PersonTelecomInformation',
  'ResponsiblePerson',
] as const;

const DIRECT_IDENTIFIER_TAGS: ReadonlyMap<number, string> = new Map(
  DIRECT_IDENTIFIER_KEYWORDS.map((k) => {
    const tag = tagForKeyword(k);
    if (tag === undefined) throw new Error(`Direct identifier keyword ${k} is not in the dictionary`);
    return [tag, k];
  }),
);

/** The research identity replaces these two unless an override says otherwise (engine.ts). */
const RESEARCH_IDENTITY_TAGS = new Set([0x00100010, 0x00100020]);

/**
 * The direct identifiers (keywords, in list order) whose original value these rules keep,
 * anywhere: at the top level (override, mask override, option, keep-list) or inside a sequence
 * (path override). Throws on invalid rules, like compileRules.
 */
export function keptDirectIdentifiers(rules: RuleSet | CompiledRules): string[] {
  const c = 'table' in rules ? rules : compileRules(rules);
  const kept = new Set<number>();
  for (const tag of DIRECT_IDENTIFIER_TAGS.keys()) {
    const exact = c.exactOverrides.get(tag);
    const masked = c.maskOverrides.find((m) => ((tag & m.mask) >>> 0) === m.value);
    const op = exact?.op ?? masked?.resolved.op ?? (RESEARCH_IDENTITY_TAGS.has(tag) ? 'identity' : (c.table.get(tag)?.op ?? (c.keepTags.has(tag) ? 'keep' : 'remove')));
    if (op === 'keep') kept.add(tag);
    for (const p of c.pathOverrides) {
      const t = p.selector.target;
      const hit = t.kind === 'tag' ? t.tag === tag : t.kind === 'mask' ? ((tag & t.mask) >>> 0) === t.value : false;
      if (hit && p.resolved.op === 'keep') kept.add(tag);
    }
  }
  return [...DIRECT_IDENTIFIER_TAGS].filter(([tag]) => kept.has(tag)).map(([, k]) => k);
}

/** The same, for rules stored before a dictionary change that may no longer compile: [] then. */
export function keptDirectIdentifiersOrNone(rules: RuleSet): string[] {
  try {
    return keptDirectIdentifiers(rules);
  } catch {
    return [];
  }
}
