/**
 * The rule-set schema alone: zod and nothing else, so browser code (the rules form) can import it
 * without pulling in the DICOM dictionary. Server code imports lib/anonymize/rules.ts, which
 * re-exports all of this and adds validateRuleSet (which needs the dictionary).
 */
import { z } from 'zod';
import { QUARANTINE_REASON_CODES, compactQuarantineOptions } from './burned-in';

/** PS3.15 Annex E options, one per column of Table E.1-1 (E.3.1 - E.3.10). */
export const PROFILE_OPTIONS = [
  'retainSafePrivate',
  'retainUids',
  'retainDeviceIdentity',
  'retainInstitutionIdentity',
  'retainPatientCharacteristics',
  'retainLongitudinalFullDates',
  'retainLongitudinalModifiedDates',
  'cleanDescriptors',
  'cleanStructuredContent',
  'cleanGraphics',
] as const;
export type OptionKey = (typeof PROFILE_OPTIONS)[number];

export const OVERRIDE_ACTIONS = ['keep', 'remove', 'empty', 'set', 'hash', 'shiftDate', 'lookup', 'uid'] as const;
export type OverrideAction = (typeof OVERRIDE_ACTIONS)[number];

export const overrideSchema = z.object({
  /**
   * keyword ("PatientName"), tag "(0010,0010)" / "00100010", mask "(50xx,xxxx)", private
   * "(0009,[ACME 1.1],10)" (group, private creator, element offset); optionally a path of enclosing
   * sequences "RequestAttributesSequence/RequestedProcedureID" (a leading "/" anchors it at the top
   * level). Plain selectors apply at any depth.
   */
  selector: z.string().min(1).max(512),
  action: z.enum(OVERRIDE_ACTIONS),
  /** The value for `set`, or the lookup table's name for `lookup`. */
  value: z.string().max(10240).optional(),
});
export type Override = z.infer<typeof overrideSchema>;

/** A code string value (Modality, Image Type): upper-case letters, digits, space, underscore. */
const codeString = z
  .string()
  .trim()
  .max(16)
  .transform((s) => s.toUpperCase())
  .pipe(z.string().regex(/^[A-Z0-9 _]+$/, 'Use letters, digits, spaces or underscores (a DICOM code string, at most 16)'));

/**
 * The pool's narrowing and widening of the quarantine table (lib/anonymize/burned-in.ts). Missing
 * (every rule set saved before it existed) = the table as it is.
 */
export const quarantineOptionsSchema = z
  .object({
    /** Reason codes of the table this pool does not hold for. */
    ignore: z.array(z.enum(QUARANTINE_REASON_CODES)).max(QUARANTINE_REASON_CODES.length).default([]),
    /** Also held: these SOP classes, modalities, Image Type values. */
    holdSopClasses: z.array(z.string().trim().regex(/^[0-9]+(\.[0-9]+)+$/, 'A SOP Class UID (digits and dots)').max(64)).max(100).default([]),
    holdModalities: z.array(codeString).max(100).default([]),
    holdImageTypes: z.array(codeString).max(100).default([]),
    /** Every image of these SOP classes / modalities is held and read by OCR first. */
    ocrSopClasses: z.array(z.string().trim().regex(/^[0-9]+(\.[0-9]+)+$/, 'A SOP Class UID (digits and dots)').max(64)).max(100).default([]),
    ocrModalities: z.array(codeString).max(100).default([]),
    /** Release an instance in which OCR found no text without waiting for the owner (off by default). */
    releaseIfNoText: z.boolean().default(false),
    /** Redaction may decode and re-encode JPEG baseline (lossy); off = such a redaction is refused with the reason. */
    allowLossyRedaction: z.boolean().default(false),
  })
  .strict();
export type QuarantineRuleOptions = z.infer<typeof quarantineOptionsSchema>;

/**
 * A value written into a DICOM text attribute: printable ASCII without "\\" (the value separator),
 * so it reads the same whatever the instance's Specific Character Set says.
 */
const stampText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `At most ${max} characters`)
    .regex(/^[\x20-\x5b\x5d-\x7e]*$/, 'Use printable ASCII characters without "\\"');
/** A lookup table's name (lib/pools/lookups.ts TABLE_NAME). */
const stampTable = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'A lookup table name');

/**
 * The Clinical Trial Subject, Study and Series modules (PS3.3 C.7.1.3, C.7.2.3, C.7.3.2) written
 * into every instance of the pool. The Subject ID is always the research ID; every other value
 * is the owner's (protocol data, not patient data), or comes from the pool's lookup tables.
 */
export const clinicalTrialStampSchema = z
  .object({
    /** (0012,0010) Type 1. */
    sponsorName: stampText(64).pipe(z.string().min(1, 'The sponsor name is required')),
    /** (0012,0020) Type 1. */
    protocolId: stampText(64).pipe(z.string().min(1, 'The protocol ID is required')),
    /** (0012,0021) Type 2: written empty when not given. */
    protocolName: stampText(64).default(''),
    /** (0012,0030) / (0012,0031) Type 2. */
    siteId: stampText(64).default(''),
    siteName: stampText(64).default(''),
    /** (0012,0081) Ethics committee (IRB) name; (0012,0082) approval number (needs the name). */
    ethicsCommitteeName: stampText(64).optional(),
    ethicsApprovalNumber: stampText(64).optional(),
    /** (0012,0060) Clinical Trial Coordinating Center Name (Clinical Trial Series module), when given. */
    coordinatingCenter: stampText(64).optional(),
    /** (0012,0042) Subject Reading ID from this lookup table, keyed by research ID (blinded reads). */
    readingIdTable: stampTable.optional(),
    /**
     * (0012,0050) Time Point ID per study from this lookup table, keyed by the source study's
     * Accession Number or Study Instance UID; (0012,0051) its description from `descriptions`.
     */
    timePoint: z
      .object({
        table: stampTable,
        key: z.enum(['AccessionNumber', 'StudyInstanceUID']).default('AccessionNumber'),
        descriptions: z.record(stampText(64).pipe(z.string().min(1)), stampText(1024)).default({}),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => !c.ethicsApprovalNumber || !!c.ethicsCommitteeName, {
    message: 'An ethics approval number needs the ethics committee name',
    path: ['ethicsCommitteeName'],
  });
export type ClinicalTrialStamp = z.infer<typeof clinicalTrialStampSchema>;

/** (0012,0053) Longitudinal Temporal Event Type: PS3.3's defined terms and the two TCIA uses. */
export const LONGITUDINAL_EVENT_TYPES = ['ENROLLMENT', 'BASELINE', 'REGISTRATION', 'DIAGNOSIS'] as const;

/**
 * TCIA's longitudinal offset: (0012,0052) days from the patient's event (the anchor date, per MRN
 * in `anchorTable`, YYYYMMDD) to the study, and (0012,0053) the event's type. Written only while
 * dates are retained (shifted or full); without an anchor date for the patient, both are left out.
 */
export const longitudinalStampSchema = z
  .object({
    eventType: z.enum(LONGITUDINAL_EVENT_TYPES).default('ENROLLMENT'),
    anchorTable: stampTable,
  })
  .strict();
export type LongitudinalStamp = z.infer<typeof longitudinalStampSchema>;

export const stampsSchema = z
  .object({
    clinicalTrial: clinicalTrialStampSchema.optional(),
    longitudinal: longitudinalStampSchema.optional(),
  })
  .strict();
export type Stamps = z.infer<typeof stampsSchema>;

export const ruleSetSchema = z.object({
  profile: z.literal('basic'),
  options: z.array(z.enum(PROFILE_OPTIONS)).default([]),
  overrides: z.array(overrideSchema).default([]),
  quarantineBurnedIn: z.boolean().default(true),
  /**
   * Narrow / widen the quarantine (only read when quarantineBurnedIn is on). Options that change
   * nothing are dropped, so equal rules keep equal fingerprints.
   */
  quarantine: quarantineOptionsSchema.transform(compactQuarantineOptions).optional(),
  patientIdentitySource: z.enum(['lookup-or-pseudonym']).default('lookup-or-pseudonym'),
  /** Optional clinical-trial and longitudinal stamps (absent = none, as before they existed). */
  stamps: stampsSchema.optional(),
});
export type RuleSet = z.infer<typeof ruleSetSchema>;

/**
 * Tributary's default for a new pool: the Basic Profile plus Retain Longitudinal Temporal
 * Information with Modified Dates, i.e. dates are shifted by a per-patient offset (intervals between
 * a patient's studies survive) instead of being emptied. Everything else follows the Basic Profile.
 */
export const DEFAULT_RULES: RuleSet = Object.freeze({
  profile: 'basic',
  // Frozen all the way down: the default is shared by every new pool.
  options: Object.freeze(['retainLongitudinalModifiedDates']) as unknown as RuleSet['options'],
  overrides: Object.freeze([]) as unknown as RuleSet['overrides'],
  quarantineBurnedIn: true,
  patientIdentitySource: 'lookup-or-pseudonym',
}) as RuleSet;
