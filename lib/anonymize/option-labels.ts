/**
 * What the rules editor says about each PS3.15 Annex E option and override action: the standard's
 * names and one line each. Plain data (browser-safe); the behaviour is in profile.ts / engine.ts and
 * docs/deidentification.md.
 */
import type { OptionKey, OverrideAction } from './rules-schema';

export const OPTION_LABELS: Record<OptionKey, { name: string; section: string; help: string }> = {
  retainSafePrivate: {
    name: 'Retain Safe Private Option',
    section: 'E.3.10',
    help: 'Keep a short list of numeric private attributes (diffusion b-values and directions, PET SUV factors); every other private attribute is still removed.',
  },
  retainUids: {
    name: 'Retain UIDs Option',
    section: 'E.3.1',
    help: 'Keep the original Study, Series, SOP Instance and other UIDs instead of remapping them. They can be matched back to the PACS.',
  },
  retainDeviceIdentity: {
    name: 'Retain Device Identity Option',
    section: 'E.3.2',
    help: 'Keep station names, device serial numbers and similar device identifiers.',
  },
  retainInstitutionIdentity: {
    name: 'Retain Institution Identity Option',
    section: 'E.3.3',
    help: 'Keep institution name, address and department.',
  },
  retainPatientCharacteristics: {
    name: 'Retain Patient Characteristics Option',
    section: 'E.3.4',
    help: 'Keep sex, age, size, weight, ethnic group, smoking and pregnancy status and similar attributes.',
  },
  retainLongitudinalFullDates: {
    name: 'Retain Longitudinal Temporal Information with Full Dates Option',
    section: 'E.3.6',
    help: 'Keep real dates and times. Wins over Modified Dates when both are ticked.',
  },
  retainLongitudinalModifiedDates: {
    name: 'Retain Longitudinal Temporal Information with Modified Dates Option',
    section: 'E.3.6',
    help: 'Shift every date by a per-patient offset: intervals between one patient’s studies are kept, real dates are not.',
  },
  cleanDescriptors: {
    name: 'Clean Descriptors Option',
    section: 'E.3.5',
    help: 'Keep descriptions and comments (study, series, protocol…) with this instance’s own identifiers cut out. Cannot catch a name that appears nowhere else.',
  },
  cleanStructuredContent: {
    name: 'Clean Structured Content Option',
    section: 'E.3.7',
    help: 'Keep SR content and acquisition context: codes and numbers stay, names become dummies, text is scrubbed of known identifiers.',
  },
  cleanGraphics: {
    name: 'Clean Graphics Option',
    section: 'E.3.8',
    help: 'Keep overlays and curves. Binary graphics cannot be inspected: tick it only when this pool’s graphics are known to be safe.',
  },
};

export const ACTION_LABELS: Record<OverrideAction, { name: string; help: string; needsValue?: 'value' | 'table' }> = {
  keep: { name: 'keep', help: 'Keep as is (a sequence is kept and its contents still processed)' },
  remove: { name: 'remove', help: 'Remove the attribute' },
  empty: { name: 'empty', help: 'Keep the attribute with an empty value (a sequence with no items)' },
  set: { name: 'set to', help: 'Write this value (adds the attribute at the top level when missing)', needsValue: 'value' },
  hash: { name: 'hash', help: 'Stable pseudonym: 16 hex characters of HMAC(pool key, value); UIDs are remapped' },
  shiftDate: { name: 'shift date', help: 'Shift by the patient’s date offset (DA, DT)' },
  lookup: { name: 'look up', help: 'Replace through one of the pool’s lookup tables; empty when the value is not in it', needsValue: 'table' },
  uid: { name: 'remap UID', help: 'Remap the UID with the pool key' },
};
