/**
 * CID 7050 De-identification Method codes (scheme DCM), and which of them an instance gets: the
 * PS3.15 options its rules actually applied, written into De-identification Method Code Sequence
 * (0012,0064). Plain data and one pure function; the engine encodes them, the report counts them.
 */
import type { OptionKey } from './rules-schema';

export interface MethodCode {
  code: string;
  meaning: string;
}

/** Every code of CID 7050 with its Code Meaning exactly as PS3.16 spells it. */
export const METHOD_CODE: Record<'basic' | 'cleanPixelData' | 'cleanRecognizableVisualFeatures' | OptionKey, MethodCode> = {
  basic: { code: '113100', meaning: 'Basic Application Confidentiality Profile' },
  cleanPixelData: { code: '113101', meaning: 'Clean Pixel Data Option' },
  cleanRecognizableVisualFeatures: { code: '113102', meaning: 'Clean Recognizable Visual Features Option' },
  cleanGraphics: { code: '113103', meaning: 'Clean Graphics Option' },
  cleanStructuredContent: { code: '113104', meaning: 'Clean Structured Content Option' },
  cleanDescriptors: { code: '113105', meaning: 'Clean Descriptors Option' },
  retainLongitudinalFullDates: { code: '113106', meaning: 'Retain Longitudinal Temporal Information Full Dates Option' },
  retainLongitudinalModifiedDates: { code: '113107', meaning: 'Retain Longitudinal Temporal Information Modified Dates Option' },
  retainPatientCharacteristics: { code: '113108', meaning: 'Retain Patient Characteristics Option' },
  retainDeviceIdentity: { code: '113109', meaning: 'Retain Device Identity Option' },
  retainUids: { code: '113110', meaning: 'Retain UIDs Option' },
  retainSafePrivate: { code: '113111', meaning: 'Retain Safe Private Option' },
  retainInstitutionIdentity: { code: '113112', meaning: 'Retain Institution Identity Option' },
};

/** Code value -> meaning, for the report. */
export const METHOD_CODE_MEANING: Record<string, string> = Object.fromEntries(Object.values(METHOD_CODE).map((m) => [m.code, m.meaning]));

/**
 * The codes for one instance, ascending. Only what was applied: Full Dates wins over Modified
 * Dates when both are ticked (the engine keeps real dates), so only 113106 is written then;
 * 113101 only when the pixel data itself was redacted (a redacted instance, not the header step).
 */
export function methodCodesFor(opts: { options: ReadonlySet<OptionKey>; dates: 'full' | 'modified' | 'removed'; cleanedPixels?: boolean }): MethodCode[] {
  const out: MethodCode[] = [METHOD_CODE.basic];
  if (opts.cleanedPixels) out.push(METHOD_CODE.cleanPixelData);
  for (const key of Object.keys(METHOD_CODE) as Array<keyof typeof METHOD_CODE>) {
    if (key === 'basic' || key === 'cleanPixelData' || key === 'cleanRecognizableVisualFeatures') continue;
    if (!opts.options.has(key as OptionKey)) continue;
    if (key === 'retainLongitudinalModifiedDates' && opts.dates !== 'modified') continue;
    if (key === 'retainLongitudinalFullDates' && opts.dates !== 'full') continue;
    out.push(METHOD_CODE[key]);
  }
  return out.sort((a, b) => a.code.localeCompare(b.code));
}
