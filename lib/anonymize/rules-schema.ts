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
