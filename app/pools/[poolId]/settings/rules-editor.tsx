'use client';
/**
 * The pool's rules editor: PS3.15 options, quarantine, overrides. Validated here with the same zod
 * schema as the API (structure), then by the server (keywords, VRs) with "Check"; "Save" writes the
 * next version. Owners also get the preview: a sample instance before and after these rules.
 * Browser-safe imports only (no dictionary, no engine).
 */
import { useRouter } from 'next/navigation';
import { useMemo, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { FormAlert, Spinner } from '@/components/admin/kit';
import { QUARANTINE_RULES, compactQuarantineOptions } from '@/lib/anonymize/burned-in';
import { ACTION_LABELS, OPTION_LABELS } from '@/lib/anonymize/option-labels';
import { OVERRIDE_ACTIONS, PROFILE_OPTIONS, type OptionKey, type OverrideAction, type RuleSet, ruleSetSchema } from '@/lib/anonymize/rules-schema';
import { DirectIdentifierWarning } from '@/components/pools/direct-identifier-warning';
import { type PacsStudy, PreviewPanel, type Sample } from './preview-panel';
import { StampsEditor, type StampsForm, stampsFormFrom, stampsFromForm } from './stamps-editor';

type Fields = Record<string, string[]>;

interface OverrideRow {
  key: number;
  selector: string;
  action: OverrideAction;
  value: string;
}

interface Change {
  key: string;
  tag: string;
  keyword?: string;
  name: string;
  before?: string;
  after?: string;
  via?: string;
}

/** A comma- or line-separated list (Image Type values may contain spaces). */
const splitList = (text: string): string[] => text.split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
type HoldKey = 'holdSopClasses' | 'holdModalities' | 'holdImageTypes' | 'ocrSopClasses' | 'ocrModalities';
const HOLD_FIELDS: { key: HoldKey; label: string; placeholder: string }[] = [
  { key: 'holdSopClasses', label: 'Also hold SOP classes', placeholder: '1.2.840.10008.5.1.4.1.1.20' },
  { key: 'holdModalities', label: 'Also hold modalities', placeholder: 'NM, PT' },
  { key: 'holdImageTypes', label: 'Also hold Image Type values', placeholder: 'LOCALIZER' },
  { key: 'ocrSopClasses', label: 'Hold for OCR first: SOP classes', placeholder: '1.2.840.10008.5.1.4.1.1.1' },
  { key: 'ocrModalities', label: 'Hold for OCR first: modalities', placeholder: 'CR' },
];
const holdText = (rules: RuleSet): Record<HoldKey, string> => ({
  holdSopClasses: (rules.quarantine?.holdSopClasses ?? []).join(', '),
  holdModalities: (rules.quarantine?.holdModalities ?? []).join(', '),
  holdImageTypes: (rules.quarantine?.holdImageTypes ?? []).join(', '),
  ocrSopClasses: (rules.quarantine?.ocrSopClasses ?? []).join(', '),
  ocrModalities: (rules.quarantine?.ocrModalities ?? []).join(', '),
});

let nextKey = 1;
const toRows = (rules: RuleSet): OverrideRow[] => rules.overrides.map((o) => ({ key: nextKey++, selector: o.selector, action: o.action, value: o.value ?? '' }));

/** API field keys ("rules.overrides.2.selector") without the "rules." prefix. */
function normalize(fields: Fields | undefined): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields ?? {})) (out[k.replace(/^rules\./, '')] ??= []).push(...v);
  return out;
}

export function RulesEditor(props: {
  poolId: string;
  baseVersion: number;
  initial: RuleSet;
  /** Set when the editor was loaded from a past version (restoring it saves a new version). */
  loadedFrom?: number;
  canPreview: boolean;
  /** Saving is the pool owner's (access need 'rules'); others can edit and check, not save. */
  canSave: boolean;
  samples: Sample[];
  /** Studies this pool's queries found (PACS samples). */
  pacsStudies?: PacsStudy[];
  lookupTables: string[];
  previewMaxMb: number;
}) {
  const router = useRouter();
  const [options, setOptions] = useState<Set<OptionKey>>(new Set(props.initial.options));
  const [quarantine, setQuarantine] = useState(props.initial.quarantineBurnedIn);
  const [ignored, setIgnored] = useState<Set<string>>(new Set(props.initial.quarantine?.ignore ?? []));
  const [hold, setHold] = useState<Record<HoldKey, string>>(() => holdText(props.initial));
  const [releaseIfNoText, setReleaseIfNoText] = useState(props.initial.quarantine?.releaseIfNoText === true);
  const [allowLossyRedaction, setAllowLossyRedaction] = useState(props.initial.quarantine?.allowLossyRedaction === true);
  const [overrides, setOverrides] = useState<OverrideRow[]>(() => toRows(props.initial));
  const [stamps, setStamps] = useState<StampsForm>(() => stampsFormFrom(props.initial));
  const [fields, setFields] = useState<Fields>({});
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [changes, setChanges] = useState<Change[] | null>(null);
  const [kept, setKept] = useState<string[]>([]);
  const [busy, setBusy] = useState<'check' | 'save' | null>(null);

  const rules = useMemo(
    () => ({
      profile: 'basic' as const,
      options: PROFILE_OPTIONS.filter((o) => options.has(o)),
      overrides: overrides.map((o) => {
        const needs = ACTION_LABELS[o.action].needsValue;
        return needs ? { selector: o.selector.trim(), action: o.action, value: o.value } : { selector: o.selector.trim(), action: o.action };
      }),
      quarantineBurnedIn: quarantine,
      // Kept as loaded (and editable) whether quarantine is on or off; left out when it changes nothing.
      quarantine: compactQuarantineOptions({
        ignore: QUARANTINE_RULES.map((r) => r.code).filter((c) => ignored.has(c)),
        holdSopClasses: splitList(hold.holdSopClasses),
        holdModalities: splitList(hold.holdModalities),
        holdImageTypes: splitList(hold.holdImageTypes),
        ocrSopClasses: splitList(hold.ocrSopClasses),
        ocrModalities: splitList(hold.ocrModalities),
        releaseIfNoText,
        allowLossyRedaction,
      }),
      patientIdentitySource: 'lookup-or-pseudonym' as const,
      stamps: stampsFromForm(stamps) as RuleSet['stamps'],
    }),
    [options, overrides, quarantine, ignored, hold, stamps, releaseIfNoText, allowLossyRedaction],
  );

  const edited = () => {
    setChanges(null);
    setKept([]);
    setNotice(null);
  };

  /** Structure first, in the browser, with the API's schema. */
  function validLocally(): boolean {
    const r = ruleSetSchema.safeParse(rules);
    const f: Fields = {};
    if (!r.success) for (const i of r.error.issues) (f[i.path.join('.') || '_'] ??= []).push(i.message);
    rules.overrides.forEach((o, i) => {
      if (!o.selector) (f[`overrides.${i}.selector`] ??= []).push('Give a keyword, a tag like (0010,0040), a mask or a private element');
      const needs = ACTION_LABELS[o.action].needsValue;
      if (needs === 'table' && !o.value?.trim()) (f[`overrides.${i}.value`] ??= []).push('Name the lookup table');
    });
    setFields(f);
    if (Object.keys(f).length) {
      setError('Fix the highlighted fields.');
      return false;
    }
    return true;
  }

  async function check() {
    setError(null);
    setNotice(null);
    if (!validLocally()) return;
    setBusy('check');
    const res = await apiFetch<{ fingerprint: string; changes: Change[]; ruleVersion: number; keepsDirectIdentifiers: string[] }>(`/pools/${props.poolId}/rules/check`, { body: { rules } });
    setBusy(null);
    if (!res.ok) {
      setFields(normalize(res.error.fields));
      setChanges(null);
      return setError(res.error.message);
    }
    setFields({});
    setChanges(res.data.changes);
    setKept(res.data.keepsDirectIdentifiers ?? []);
    setNotice(res.data.changes.length ? null : `These rules resolve exactly like version ${res.data.ruleVersion}.`);
  }

  async function save() {
    setError(null);
    setNotice(null);
    if (!validLocally()) return;
    setBusy('save');
    const res = await apiFetch<{ ruleVersion: number; fingerprint: string; unchanged: boolean }>(`/pools/${props.poolId}/rules`, {
      method: 'PUT',
      body: { rules, baseVersion: props.baseVersion },
    });
    setBusy(null);
    if (!res.ok) {
      setFields(normalize(res.error.fields));
      return setError(res.error.message);
    }
    setFields({});
    setChanges(null);
    if (res.data.unchanged) return setNotice(`Nothing changed: version ${res.data.ruleVersion} stays current.`);
    // The page shows the confirmation (this editor is remounted with the new version).
    router.replace(`/pools/${props.poolId}/settings?saved=${res.data.ruleVersion}`);
    router.refresh();
  }

  function reset() {
    setOptions(new Set(props.initial.options));
    setQuarantine(props.initial.quarantineBurnedIn);
    setIgnored(new Set(props.initial.quarantine?.ignore ?? []));
    setHold(holdText(props.initial));
    setReleaseIfNoText(props.initial.quarantine?.releaseIfNoText === true);
    setAllowLossyRedaction(props.initial.quarantine?.allowLossyRedaction === true);
    setOverrides(toRows(props.initial));
    setStamps(stampsFormFrom(props.initial));
    setFields({});
    setError(null);
    edited();
  }

  const toggle = (o: OptionKey) => {
    const next = new Set(options);
    if (next.has(o)) next.delete(o);
    else next.add(o);
    setOptions(next);
    edited();
  };
  const updateRow = (key: number, patch: Partial<OverrideRow>) => {
    setOverrides((rows) => rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
    edited();
  };
  const rowErrors = (i: number) =>
    Object.entries(fields)
      .filter(([k]) => k === `overrides.${i}` || k.startsWith(`overrides.${i}.`))
      .flatMap(([, m]) => m);
  const otherErrors = Object.entries(fields).filter(([k]) => !k.startsWith('overrides.') && !k.startsWith('stamps.') && k !== '_');

  return (
    <div className="space-y-5">
      {props.loadedFrom !== undefined && (
        <p className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-amber-900" role="status">
          Loaded from version {props.loadedFrom}. Saving makes it version {props.baseVersion + 1}; version {props.baseVersion} stays in the history.
        </p>
      )}

      <fieldset>
        <legend className="mb-1 font-medium">Basic Application Level Confidentiality Profile (PS3.15 Annex E), always on, plus these options</legend>
        <ul className="grid gap-x-6 gap-y-2 md:grid-cols-2">
          {PROFILE_OPTIONS.map((o) => (
            <li key={o}>
              <label className="flex items-start gap-2">
                <input type="checkbox" className="mt-0.5" checked={options.has(o)} onChange={() => toggle(o)} aria-describedby={`opt-${o}-help`} />
                <span>
                  <span className="font-medium">{OPTION_LABELS[o].name}</span> <span className="text-xs text-slate-500">{OPTION_LABELS[o].section}</span>
                  <span id={`opt-${o}-help`} className="block text-xs text-slate-600">{OPTION_LABELS[o].help}</span>
                </span>
              </label>
            </li>
          ))}
        </ul>
        {options.has('retainLongitudinalFullDates') && options.has('retainLongitudinalModifiedDates') && (
          <p className="mt-2 text-xs text-amber-800">Both date options are ticked: Full Dates wins, dates are kept unshifted.</p>
        )}
        {options.has('retainUids') && <p className="mt-2 text-xs text-amber-800">With Retain UIDs, research UIDs equal the PACS UIDs: anyone with PACS access can link them.</p>}
      </fieldset>

      <label className="flex items-start gap-2">
        <input type="checkbox" className="mt-0.5" checked={quarantine} onChange={(e) => { setQuarantine(e.target.checked); edited(); }} aria-describedby="quarantine-help" />
        <span>
          <span className="font-medium">Quarantine instances that may show burned-in text or faces</span>
          <span id="quarantine-help" className="block text-xs text-slate-600">
            Burned In Annotation or Recognizable Visual Features YES, ultrasound, secondary capture, screenshots, dose screens, photographs, video and documents are held for you to release or drop instead of entering the pool. Reformats, MIPs, projections and subtractions computed by CT, MR, PET or XA are not held unless Burned In Annotation says YES. Pixels are never cleaned.
          </span>
        </span>
      </label>

      {quarantine && (
        <fieldset className="ml-6 space-y-2">
          <legend className="mb-1 font-medium">Held for these reasons <span className="font-normal text-slate-500">(untick what this pool’s sources do not need)</span></legend>
          <ul className="space-y-1">
            {QUARANTINE_RULES.map((r) => (
              <li key={r.code}>
                <label className="flex items-start gap-2">
                  <input
                    type="checkbox"
                    className="mt-0.5"
                    checked={!ignored.has(r.code)}
                    onChange={() => {
                      const next = new Set(ignored);
                      if (next.has(r.code)) next.delete(r.code);
                      else next.add(r.code);
                      setIgnored(next);
                      edited();
                    }}
                  />
                  <span>
                    <span className="font-mono text-xs">{r.code}</span> <span className="text-xs text-slate-600">{r.text}</span>
                  </span>
                </label>
              </li>
            ))}
          </ul>
          <div className="grid gap-2 sm:grid-cols-3">
            {HOLD_FIELDS.map((f) => (
              <label key={f.key} className="block text-xs">
                <span className="font-medium">{f.label}</span>
                <input
                  className="input mt-1 w-full font-mono"
                  value={hold[f.key]}
                  placeholder={f.placeholder}
                  aria-describedby="quarantine-hold-help"
                  onChange={(e) => {
                    setHold({ ...hold, [f.key]: e.target.value });
                    edited();
                  }}
                />
                {Object.entries(fields)
                  .filter(([k]) => k.startsWith(`quarantine.${f.key}`))
                  .flatMap(([, v]) => v)
                  .map((m, i) => <span key={i} className="block text-red-700">{m}</span>)}
              </label>
            ))}
          </div>
          <p id="quarantine-hold-help" className="text-xs text-slate-600">Comma-separated. Instances matching any of these are held too, with the reason “pool-rule” (or “ocr-scan” for the OCR fields). Every held image is read by OCR.</p>
          <label className="flex items-start gap-2 text-xs">
            <input type="checkbox" className="mt-0.5" checked={releaseIfNoText} onChange={(e) => { setReleaseIfNoText(e.target.checked); edited(); }} />
            <span><span className="font-medium">Release an image in which OCR found no text</span> without waiting for the owner. OCR misses some text and never sees faces: use it only where that risk is accepted.</span>
          </label>
          <label className="flex items-start gap-2 text-xs">
            <input type="checkbox" className="mt-0.5" checked={allowLossyRedaction} onChange={(e) => { setAllowLossyRedaction(e.target.checked); edited(); }} />
            <span><span className="font-medium">Allow redaction of JPEG baseline images</span> by decoding and re-encoding them (a second lossy compression). Off: such redactions are refused.</span>
          </label>
        </fieldset>
      )}

      <StampsEditor
        value={stamps}
        onChange={(v) => {
          setStamps(v);
          edited();
        }}
        fields={fields}
        lookupTables={props.lookupTables}
      />

      <div>
        <div className="mb-1 flex items-center justify-between">
          <h3 className="font-medium">Overrides <span className="font-normal text-slate-500">(applied after the table; later ones win)</span></h3>
          <button
            type="button"
            className="btn btn-sm"
            onClick={() => {
              setOverrides((rows) => [...rows, { key: nextKey++, selector: '', action: 'keep', value: '' }]);
              edited();
            }}
          >
            + Add override
          </button>
        </div>
        {overrides.length === 0 ? (
          <p className="text-slate-500">No overrides: the table and the options decide. Add one to keep, remove, set, hash, shift or look up a specific attribute.</p>
        ) : (
          <table className="table" aria-label="Overrides">
            <thead>
              <tr>
                <th className="w-8">#</th>
                <th>Selector</th>
                <th className="w-40">Action</th>
                <th>Value / table</th>
                <th className="w-8"><span className="sr-only">Remove</span></th>
              </tr>
            </thead>
            <tbody>
              {overrides.map((o, i) => {
                const errs = rowErrors(i);
                const needs = ACTION_LABELS[o.action].needsValue;
                return (
                  <tr key={o.key} className="align-top">
                    <td className="pt-2 tabular-nums text-slate-500">{i + 1}</td>
                    <td>
                      <label className="sr-only" htmlFor={`sel-${o.key}`}>Selector of override {i + 1}</label>
                      <input
                        id={`sel-${o.key}`}
                        className={`input font-mono ${errs.length ? 'input-error' : ''}`}
                        value={o.selector}
                        placeholder="PatientSex, (0010,0040), (60xx,4000), (0019,[SIEMENS MR HEADER],0C), Seq/Keyword"
                        onChange={(e) => updateRow(o.key, { selector: e.target.value })}
                        aria-invalid={errs.length ? true : undefined}
                        aria-describedby={errs.length ? `err-${o.key}` : undefined}
                        autoComplete="off"
                        spellCheck={false}
                      />
                      {errs.length > 0 && <p id={`err-${o.key}`} className="field-error">{errs.join(' ')}</p>}
                    </td>
                    <td>
                      <label className="sr-only" htmlFor={`act-${o.key}`}>Action of override {i + 1}</label>
                      <select id={`act-${o.key}`} className="input" value={o.action} onChange={(e) => updateRow(o.key, { action: e.target.value as OverrideAction })} title={ACTION_LABELS[o.action].help}>
                        {OVERRIDE_ACTIONS.map((a) => (
                          <option key={a} value={a}>{ACTION_LABELS[a].name}</option>
                        ))}
                      </select>
                    </td>
                    <td>
                      <label className="sr-only" htmlFor={`val-${o.key}`}>Value of override {i + 1}</label>
                      <input
                        id={`val-${o.key}`}
                        className="input"
                        value={needs ? o.value : ''}
                        disabled={!needs}
                        placeholder={needs === 'table' ? 'lookup table name' : needs === 'value' ? 'value to write' : '—'}
                        list={needs === 'table' ? 'lookup-tables' : undefined}
                        onChange={(e) => updateRow(o.key, { value: e.target.value })}
                        autoComplete="off"
                      />
                      <p className="mt-0.5 text-xs text-slate-500">{ACTION_LABELS[o.action].help}</p>
                    </td>
                    <td className="pt-1.5">
                      <button
                        type="button"
                        className="btn btn-sm btn-danger"
                        aria-label={`Remove override ${i + 1}`}
                        onClick={() => {
                          setOverrides((rows) => rows.filter((r) => r.key !== o.key));
                          setFields({});
                          edited();
                        }}
                      >
                        ×
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        <datalist id="lookup-tables">
          {props.lookupTables.map((t) => <option key={t} value={t} />)}
        </datalist>
      </div>

      {otherErrors.length > 0 && (
        <ul className="field-error list-inside list-disc">
          {otherErrors.map(([k, m]) => <li key={k}>{k}: {m.join(' ')}</li>)}
        </ul>
      )}
      <FormAlert message={error} />
      {notice && <p role="status" className="rounded-md border border-emerald-200 bg-emerald-50 px-2.5 py-1.5 text-emerald-900">{notice}</p>}
      <DirectIdentifierWarning keywords={kept} what="These rules" />

      <div className="flex flex-wrap items-center gap-2">
        <button type="button" className="btn" onClick={check} disabled={busy !== null}>
          {busy === 'check' && <Spinner />} Check
        </button>
        {props.canSave && (
          <button type="button" className="btn btn-primary" onClick={save} disabled={busy !== null}>
            {busy === 'save' && <Spinner />} Save as version {props.baseVersion + 1}
          </button>
        )}
        <button type="button" className="btn" onClick={reset} disabled={busy !== null}>Reset</button>
        <span className="text-xs text-slate-500">Check validates against the DICOM dictionary and lists what changes; {props.canSave ? 'nothing is saved until Save.' : 'only the pool’s owner can save.'}</span>
      </div>

      {changes && changes.length > 0 && (
        <details className="card" open={changes.length <= 12} role="region" aria-label="What these rules change">
          <summary className="cursor-pointer px-3 py-2 font-medium">
            Check result: compared with version {props.baseVersion}, {changes.length} resolved action{changes.length === 1 ? '' : 's'} change
          </summary>
          <div className="max-h-80 overflow-auto border-t border-slate-100" tabIndex={0}>
          <table className="table">
            <thead><tr><th>Tag</th><th>Attribute</th><th>Now</th><th>With these rules</th><th>Why</th></tr></thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.key}>
                  <td className="font-mono text-xs">{c.tag}</td>
                  <td>{c.keyword ?? c.name}</td>
                  <td>{c.before ?? <span className="text-slate-400">—</span>}</td>
                  <td>{c.after ?? <span className="text-slate-400">(no longer listed)</span>}</td>
                  <td className="text-xs text-slate-600">{c.via ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
        </details>
      )}

      {props.canPreview && (
        <section className="border-t border-slate-100 pt-4" aria-labelledby="preview-title">
          <h3 id="preview-title" className="mb-1 font-medium">Preview on a sample</h3>
          <PreviewPanel poolId={props.poolId} rules={rules} samples={props.samples} pacsStudies={props.pacsStudies ?? []} maxMb={props.previewMaxMb} beforePreview={validLocally} />
        </section>
      )}
    </div>
  );
}
