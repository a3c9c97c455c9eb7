/**
 * The stamps researchers and archives expect (docs/deidentification.md, "Stamps"): the Clinical
 * Trial Subject / Study / Series attributes and TCIA's longitudinal offset, computed for one
 * instance from the pool's rules, the research identity and the lookup tables. Pure: the engine
 * writes what this returns.
 *
 * What may reach the output: the owner's protocol data (typed into the rules), the research ID,
 * values of the owner's lookup tables, and a number of days between two of the patient's dates.
 * Source identifiers (MRN, accession number, UIDs) are only ever lookup keys, never values.
 */
import type { DeidIdentity } from './engine';
import type { RuleSet } from './rules-schema';

export interface StampElement {
  tag: number;
  vr: 'LO' | 'ST' | 'CS' | 'FD';
  /** Text, or the number for FD. */
  value: string | number;
}

/** The source instance's values the stamps are keyed by (never written). */
export interface StampSource {
  patientId: string;
  accessionNumber: string;
  studyInstanceUid: string;
  studyDate: string;
}

export const STAMP_TAGS = {
  ClinicalTrialSponsorName: 0x00120010,
  ClinicalTrialProtocolID: 0x00120020,
  ClinicalTrialProtocolName: 0x00120021,
  ClinicalTrialSiteID: 0x00120030,
  ClinicalTrialSiteName: 0x00120031,
  ClinicalTrialSubjectID: 0x00120040,
  ClinicalTrialSubjectReadingID: 0x00120042,
  ClinicalTrialTimePointID: 0x00120050,
  ClinicalTrialTimePointDescription: 0x00120051,
  LongitudinalTemporalOffsetFromEvent: 0x00120052,
  LongitudinalTemporalEventType: 0x00120053,
  ClinicalTrialCoordinatingCenterName: 0x00120060,
  ClinicalTrialProtocolEthicsCommitteeName: 0x00120081,
  ClinicalTrialProtocolEthicsCommitteeApprovalNumber: 0x00120082,
} as const;

const PRINTABLE = /^[\x20-\x5b\x5d-\x7e]{1,64}$/;

/** A lookup value usable as an LO: printable ASCII, no backslash (else treated as a miss). */
function lookupValue(identity: DeidIdentity, table: string | undefined, key: string): string | undefined {
  if (!table || !key) return undefined;
  const t = identity.lookups?.[table];
  if (!t || !Object.prototype.hasOwnProperty.call(t, key)) return undefined;
  const v = t[key].trim();
  return PRINTABLE.test(v) ? v : undefined;
}

/** Days since 1970-01-01 of a YYYYMMDD (or YYYY-MM-DD) date, or null when it is not a real date. */
export function dayNumber(text: string): number | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return Math.round(t / 86_400_000);
}

/** The lookup tables the stamps read (loaded with the rules' own). */
export function stampTables(stamps: RuleSet['stamps']): string[] {
  const out: string[] = [];
  if (stamps?.clinicalTrial?.readingIdTable) out.push(stamps.clinicalTrial.readingIdTable);
  if (stamps?.clinicalTrial?.timePoint) out.push(stamps.clinicalTrial.timePoint.table);
  if (stamps?.longitudinal) out.push(stamps.longitudinal.anchorTable);
  return out;
}

/**
 * The stamp elements of one instance, ascending by tag. `dates` is how the rules treat dates: the
 * longitudinal offset is written only while dates are retained (shifted or full): with dates
 * removed (the Basic Profile alone) an interval to the event would put back what was removed.
 */
export function stampElements(
  stamps: RuleSet['stamps'],
  dates: 'full' | 'modified' | 'removed',
  identity: DeidIdentity,
  source: StampSource,
): StampElement[] {
  const out: StampElement[] = [];
  const T = STAMP_TAGS;
  const ct = stamps?.clinicalTrial;
  if (ct) {
    out.push({ tag: T.ClinicalTrialSponsorName, vr: 'LO', value: ct.sponsorName });
    out.push({ tag: T.ClinicalTrialProtocolID, vr: 'LO', value: ct.protocolId });
    out.push({ tag: T.ClinicalTrialProtocolName, vr: 'LO', value: ct.protocolName });
    out.push({ tag: T.ClinicalTrialSiteID, vr: 'LO', value: ct.siteId });
    out.push({ tag: T.ClinicalTrialSiteName, vr: 'LO', value: ct.siteName });
    out.push({ tag: T.ClinicalTrialSubjectID, vr: 'LO', value: identity.researchId });
    const readingId = lookupValue(identity, ct.readingIdTable, identity.researchId);
    if (readingId) out.push({ tag: T.ClinicalTrialSubjectReadingID, vr: 'LO', value: readingId });
    // Time Point ID is Type 2 in the Clinical Trial Study module: present, empty when unknown.
    const tp = ct.timePoint;
    const timePoint = tp ? lookupValue(identity, tp.table, tp.key === 'AccessionNumber' ? source.accessionNumber : source.studyInstanceUid) : undefined;
    out.push({ tag: T.ClinicalTrialTimePointID, vr: 'LO', value: timePoint ?? '' });
    const description = timePoint && tp && Object.prototype.hasOwnProperty.call(tp.descriptions, timePoint) ? tp.descriptions[timePoint] : undefined;
    if (description) out.push({ tag: T.ClinicalTrialTimePointDescription, vr: 'ST', value: description });
    if (ct.coordinatingCenter) out.push({ tag: T.ClinicalTrialCoordinatingCenterName, vr: 'LO', value: ct.coordinatingCenter });
    if (ct.ethicsCommitteeName) out.push({ tag: T.ClinicalTrialProtocolEthicsCommitteeName, vr: 'LO', value: ct.ethicsCommitteeName });
    if (ct.ethicsCommitteeName && ct.ethicsApprovalNumber) {
      out.push({ tag: T.ClinicalTrialProtocolEthicsCommitteeApprovalNumber, vr: 'LO', value: ct.ethicsApprovalNumber });
    }
  }
  const lt = stamps?.longitudinal;
  if (lt && dates !== 'removed') {
    const anchor = lookupValue(identity, lt.anchorTable, source.patientId);
    const anchorDay = anchor ? dayNumber(anchor) : null;
    const studyDay = dayNumber(source.studyDate);
    if (anchorDay !== null && studyDay !== null) {
      out.push({ tag: T.LongitudinalTemporalOffsetFromEvent, vr: 'FD', value: studyDay - anchorDay });
      out.push({ tag: T.LongitudinalTemporalEventType, vr: 'CS', value: lt.eventType });
    }
  }
  return out.sort((a, b) => a.tag - b.tag);
}
