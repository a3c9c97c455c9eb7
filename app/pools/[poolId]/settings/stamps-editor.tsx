'use client';
/**
 * The stamps part of the rules editor (rules.stamps, lib/anonymize/stamps.ts): the Clinical Trial
 * attributes and TCIA's longitudinal offset. Plain form state in, the rules' `stamps` out; the
 * rules editor validates the whole rule set with the shared schema.
 */
import { LONGITUDINAL_EVENT_TYPES, type RuleSet } from '@/lib/anonymize/rules-schema';

type Fields = Record<string, string[]>;

export interface StampsForm {
  clinicalTrial: boolean;
  sponsorName: string;
  protocolId: string;
  protocolName: string;
  siteId: string;
  siteName: string;
  coordinatingCenter: string;
  ethicsCommitteeName: string;
  ethicsApprovalNumber: string;
  readingIdTable: string;
  timePointTable: string;
  timePointKey: 'AccessionNumber' | 'StudyInstanceUID';
  /** One "ID = description" per line. */
  timePointDescriptions: string;
  longitudinal: boolean;
  eventType: (typeof LONGITUDINAL_EVENT_TYPES)[number];
  anchorTable: string;
}

export function stampsFormFrom(rules: RuleSet): StampsForm {
  const ct = rules.stamps?.clinicalTrial;
  const lt = rules.stamps?.longitudinal;
  return {
    clinicalTrial: !!ct,
    sponsorName: ct?.sponsorName ?? '',
    protocolId: ct?.protocolId ?? '',
    protocolName: ct?.protocolName ?? '',
    siteId: ct?.siteId ?? '',
    siteName: ct?.siteName ?? '',
    coordinatingCenter: ct?.coordinatingCenter ?? '',
    ethicsCommitteeName: ct?.ethicsCommitteeName ?? '',
    ethicsApprovalNumber: ct?.ethicsApprovalNumber ?? '',
    readingIdTable: ct?.readingIdTable ?? '',
    timePointTable: ct?.timePoint?.table ?? '',
    timePointKey: ct?.timePoint?.key ?? 'AccessionNumber',
    timePointDescriptions: Object.entries(ct?.timePoint?.descriptions ?? {}).map(([k, v]) => `${k} = ${v}`).join('\n'),
    longitudinal: !!lt,
    eventType: lt?.eventType ?? 'ENROLLMENT',
    anchorTable: lt?.anchorTable ?? '',
  };
}

const opt = (s: string) => (s.trim() ? s.trim() : undefined);

/** The rules' `stamps` (unvalidated input for ruleSetSchema), or undefined when none is on. */
export function stampsFromForm(f: StampsForm): unknown {
  if (!f.clinicalTrial && !f.longitudinal) return undefined;
  const out: Record<string, unknown> = {};
  if (f.clinicalTrial) {
    const descriptions: Record<string, string> = {};
    for (const line of f.timePointDescriptions.split('\n')) {
      const at = line.indexOf('=');
      if (at > 0) descriptions[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    out.clinicalTrial = {
      sponsorName: f.sponsorName,
      protocolId: f.protocolId,
      protocolName: f.protocolName,
      siteId: f.siteId,
      siteName: f.siteName,
      coordinatingCenter: opt(f.coordinatingCenter),
      ethicsCommitteeName: opt(f.ethicsCommitteeName),
      ethicsApprovalNumber: opt(f.ethicsApprovalNumber),
      readingIdTable: opt(f.readingIdTable),
      timePoint: opt(f.timePointTable) ? { table: f.timePointTable.trim(), key: f.timePointKey, descriptions } : undefined,
    };
  }
  if (f.longitudinal) out.longitudinal = { eventType: f.eventType, anchorTable: f.anchorTable };
  return out;
}

const TEXT_FIELDS: { key: keyof StampsForm & keyof NonNullable<NonNullable<RuleSet['stamps']>['clinicalTrial']>; label: string; tag: string; required?: boolean }[] = [
  { key: 'sponsorName', label: 'Sponsor name', tag: '(0012,0010)', required: true },
  { key: 'protocolId', label: 'Protocol ID', tag: '(0012,0020)', required: true },
  { key: 'protocolName', label: 'Protocol name', tag: '(0012,0021)' },
  { key: 'siteId', label: 'Site ID', tag: '(0012,0030)' },
  { key: 'siteName', label: 'Site name', tag: '(0012,0031)' },
  { key: 'coordinatingCenter', label: 'Coordinating center', tag: '(0012,0060)' },
  { key: 'ethicsCommitteeName', label: 'Ethics committee (IRB)', tag: '(0012,0081)' },
  { key: 'ethicsApprovalNumber', label: 'Ethics approval number', tag: '(0012,0082)' },
];

export function StampsEditor(props: { value: StampsForm; onChange: (v: StampsForm) => void; fields: Fields; lookupTables: string[] }) {
  const f = props.value;
  const set = (patch: Partial<StampsForm>) => props.onChange({ ...f, ...patch });
  const errs = (prefix: string) =>
    Object.entries(props.fields)
      .filter(([k]) => k === prefix || k.startsWith(`${prefix}.`))
      .flatMap(([, v]) => v)
      .map((m, i) => <span key={i} className="block text-red-700">{m}</span>);
  const tableInput = (key: 'readingIdTable' | 'timePointTable' | 'anchorTable', label: string, help: string, errKey: string) => (
    <label className="block text-xs">
      <span className="font-medium">{label}</span>
      <input className="input mt-1 w-full font-mono" list="stamp-lookup-tables" value={f[key]} onChange={(e) => set({ [key]: e.target.value })} />
      <span className="block text-slate-600">{help}</span>
      {errs(errKey)}
    </label>
  );
  return (
    <fieldset className="space-y-2" aria-labelledby="stamps-title">
      <legend id="stamps-title" className="mb-1 font-medium">Stamps for researchers and archives</legend>
      <datalist id="stamp-lookup-tables">
        {props.lookupTables.map((t) => <option key={t} value={t} />)}
      </datalist>
      <label className="flex items-start gap-2">
        <input type="checkbox" className="mt-0.5" checked={f.clinicalTrial} onChange={(e) => set({ clinicalTrial: e.target.checked })} />
        <span>
          <span className="font-medium">Clinical Trial Subject and Study attributes</span>
          <span className="block text-xs text-slate-600">Sponsor, protocol and site in every instance; the Subject ID is the research ID; a time point per study from a lookup table. Protocol data, not patient data: printable ASCII.</span>
        </span>
      </label>
      {f.clinicalTrial && (
        <div className="ml-6 space-y-2">
          <div className="grid gap-2 sm:grid-cols-2">
            {TEXT_FIELDS.map((t) => (
              <label key={t.key} className="block text-xs">
                <span className="font-medium">{t.label}</span> <span className="text-slate-500">{t.tag}{t.required ? ', required' : ''}</span>
                <input className="input mt-1 w-full" value={f[t.key]} onChange={(e) => set({ [t.key]: e.target.value })} />
                {errs(`stamps.clinicalTrial.${t.key}`)}
              </label>
            ))}
          </div>
          <div className="grid gap-2 sm:grid-cols-3">
            {tableInput('timePointTable', 'Time point table (0012,0050)', 'Lookup table: source study key → time point ID (e.g. BL, FU1).', 'stamps.clinicalTrial.timePoint')}
            <label className="block text-xs">
              <span className="font-medium">Time point table keyed by</span>
              <select className="input mt-1 w-full" value={f.timePointKey} onChange={(e) => set({ timePointKey: e.target.value as StampsForm['timePointKey'] })}>
                <option value="AccessionNumber">Accession Number</option>
                <option value="StudyInstanceUID">Study Instance UID</option>
              </select>
            </label>
            {tableInput('readingIdTable', 'Reading ID table (0012,0042)', 'Optional lookup table: research ID → blinded reading ID.', 'stamps.clinicalTrial.readingIdTable')}
          </div>
          <label className="block text-xs">
            <span className="font-medium">Time point descriptions (0012,0051)</span> <span className="text-slate-500">one “ID = description” per line</span>
            <textarea className="input mt-1 w-full font-mono" rows={3} value={f.timePointDescriptions} placeholder={'BL = Baseline\nFU1 = First follow-up'} onChange={(e) => set({ timePointDescriptions: e.target.value })} />
            {errs('stamps.clinicalTrial.timePoint.descriptions')}
          </label>
          {errs('stamps.clinicalTrial')}
        </div>
      )}
      <label className="flex items-start gap-2">
        <input type="checkbox" className="mt-0.5" checked={f.longitudinal} onChange={(e) => set({ longitudinal: e.target.checked })} />
        <span>
          <span className="font-medium">Longitudinal offset from an event (TCIA)</span>
          <span className="block text-xs text-slate-600">
            Days from the patient’s event (enrollment, baseline…) to each study in (0012,0052), the event type in (0012,0053). The event date comes from a lookup table keyed by MRN (YYYYMMDD). Written only while dates are kept or shifted.
          </span>
        </span>
      </label>
      {f.longitudinal && (
        <div className="ml-6 grid gap-2 sm:grid-cols-2">
          <label className="block text-xs">
            <span className="font-medium">Event type (0012,0053)</span>
            <select className="input mt-1 w-full" value={f.eventType} onChange={(e) => set({ eventType: e.target.value as StampsForm['eventType'] })}>
              {LONGITUDINAL_EVENT_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </label>
          {tableInput('anchorTable', 'Event date table', 'Lookup table: MRN → event date (YYYYMMDD).', 'stamps.longitudinal')}
        </div>
      )}
    </fieldset>
  );
}
