import type { SummaryAction } from '../anonymize/engine';

/** What each kind of action means, shared by the page, the CSV and the PDF. */
export const ACTION_MEANINGS: Record<SummaryAction, { label: string; help: string }> = {
  removed: { label: 'Removed', help: 'Elements taken out (identifiers, private elements, overlays and curves unless kept)' },
  emptied: { label: 'Emptied', help: 'Elements kept with no value (Type 2 attributes the IOD requires)' },
  replaced: { label: 'Replaced', help: 'Values replaced: research identity, dummy values, set / hash / lookup overrides' },
  kept: { label: 'Kept', help: 'Elements copied unchanged (the profile or the pool’s options keep them)' },
  shifted: { label: 'Dates shifted', help: 'Dates and date-times moved by the patient’s date offset' },
  uidRemapped: { label: 'UIDs remapped', help: 'UIDs replaced by research UIDs derived with the pool key' },
  cleaned: { label: 'Cleaned', help: 'Text and sequences cleaned of this instance’s identifiers (Clean options)' },
  added: { label: 'Added', help: 'Attributes Tributary writes: de-identification method, stamps' },
};
