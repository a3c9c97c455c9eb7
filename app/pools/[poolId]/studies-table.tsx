'use client';
/**
 * The pool's studies table with a selection that survives paging, sorting and searching (kept
 * in sessionStorage per pool, so it is gone when the tab closes). The selection downloads as
 * one zip through a plain link (GET /api/v1/pools/{id}/download?studyIds=...), so the browser
 * streams it to disk with its own progress instead of holding it in page memory.
 */
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { OhifLink } from '@/components/viewers/ohif-link';
import { WeasisButton } from '@/components/viewers/weasis-button';
import { ExportButton, type ExporterChoice } from '@/components/exports/export-dialog';

export interface StudyRow {
  id: string;
  studyInstanceUid: string;
  patientId: string;
  studyDate: string;
  studyDescription: string;
  modalities: string;
  numSeries: number;
  numInstances: number;
  /** Series descriptions (or "S<n> <modality>" when a series has none), in series order. */
  seriesLabels: string[];
  bodyParts: string[];
  /** The first series with images, for the thumbnail; null when none has arrived. */
  thumbnail: { seriesId: string; version: number } | null;
  /** Studies of this research ID in the whole pool (not only on this page). */
  studiesOfPatient: number;
}

export interface SortHeader {
  label: string;
  href: string | null;
  active: 'asc' | 'desc' | null;
  right?: boolean;
}

interface Selected {
  numInstances: number;
  patientId: string;
  /** Research UID, for opening the selection in OHIF (absent in selections stored by older pages). */
  studyInstanceUid?: string;
}

/** Kept in step with lib/exports/download.ts (MAX_LINK_STUDIES, MAX_ZIP_INSTANCES). */
const MAX_LINK_STUDIES = 200;
const MAX_ZIP_INSTANCES = 100_000;
/** Kept in step with lib/api/endpoints/viewers.ts (studies per Weasis launch). */
const MAX_WEASIS_STUDIES = 100;

function formatDate(d: string): string {
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d;
}

function useSelection(poolId: string) {
  const key = `tributary.selection.${poolId}`;
  const [selected, setSelected] = useState<Map<string, Selected>>(new Map());
  const loaded = useRef(false);
  useEffect(() => {
    try {
      const raw = sessionStorage.getItem(key);
      if (raw) setSelected(new Map(JSON.parse(raw) as [string, Selected][]));
    } catch {
      /* storage unavailable: selection lives for this page only */
    }
    loaded.current = true;
  }, [key]);
  useEffect(() => {
    if (!loaded.current) return;
    try {
      if (selected.size) sessionStorage.setItem(key, JSON.stringify([...selected]));
      else sessionStorage.removeItem(key);
    } catch {
      /* ignore */
    }
  }, [key, selected]);
  return [selected, setSelected] as const;
}

/** Rows in runs of the same research ID (consecutive on the page), for grouping. */
function groupsOf(rows: StudyRow[], grouped: boolean): { patientId: string; start: number; rows: StudyRow[] }[] {
  const out: { patientId: string; start: number; rows: StudyRow[] }[] = [];
  rows.forEach((r, i) => {
    const last = out[out.length - 1];
    if (grouped && last && last.patientId === r.patientId) last.rows.push(r);
    else out.push({ patientId: r.patientId, start: i, rows: [r] });
  });
  return out;
}

export function StudiesTable({
  poolId,
  rows,
  headers,
  grouped = false,
  exporters = null,
}: {
  poolId: string;
  rows: StudyRow[];
  headers: SortHeader[];
  /** The pool's enabled exporters, when the visitor may export (null: no "Export…" action). */
  exporters?: ExporterChoice[] | null;
  /** Sorted by research ID: a patient's studies are shown as one group. */
  grouped?: boolean;
}) {
  const [selected, setSelected] = useSelection(poolId);
  const lastClicked = useRef<number | null>(null);
  const allOnPage = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const someOnPage = rows.some((r) => selected.has(r.id));
  const headerBox = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (headerBox.current) headerBox.current.indeterminate = someOnPage && !allOnPage;
  }, [someOnPage, allOnPage]);

  const toggle = useCallback(
    (index: number, on: boolean, range: boolean) => {
      // Read the anchor now: the updater may run after lastClicked has moved to this row (it did
      // for Shift+Space, whose click carries shiftKey like a Shift-click).
      const anchor = lastClicked.current;
      const from = range && anchor !== null ? Math.min(anchor, index) : index;
      const to = range && anchor !== null ? Math.max(anchor, index) : index;
      setSelected((prev) => {
        const next = new Map(prev);
        for (let i = from; i <= to; i++) {
          const r = rows[i];
          if (on) next.set(r.id, { numInstances: r.numInstances, patientId: r.patientId, studyInstanceUid: r.studyInstanceUid });
          else next.delete(r.id);
        }
        return next;
      });
      lastClicked.current = index;
    },
    [rows, setSelected],
  );

  const togglePage = (on: boolean) =>
    setSelected((prev) => {
      const next = new Map(prev);
      for (const r of rows) {
        if (on) next.set(r.id, { numInstances: r.numInstances, patientId: r.patientId, studyInstanceUid: r.studyInstanceUid });
        else next.delete(r.id);
      }
      return next;
    });

  const ids = useMemo(() => [...selected.keys()], [selected]);
  const instances = useMemo(() => [...selected.values()].reduce((n, s) => n + s.numInstances, 0), [selected]);
  const tooMany = ids.length > MAX_LINK_STUDIES ? `Select at most ${MAX_LINK_STUDIES} studies for one zip.` : instances > MAX_ZIP_INSTANCES ? `One zip holds at most ${MAX_ZIP_INSTANCES.toLocaleString('en-US')} instances.` : null;
  const href = `/api/v1/pools/${poolId}/download?studyIds=${ids.join(',')}`;
  const offPage = ids.filter((id) => !rows.some((r) => r.id === id)).length;
  const uids = useMemo(() => [...selected.values()].map((s) => s.studyInstanceUid).filter((u): u is string => Boolean(u)), [selected]);

  return (
    <>
      <div className="mb-2 flex min-h-9 flex-wrap items-start gap-2" role="region" aria-label="Selection">
        {ids.length === 0 ? (
          <span className="py-1 text-slate-500">Tick studies to view them together, download them, open them in Weasis{exporters?.length ? ' or export them' : ''}. Shift-click (or Shift+Space) ticks a range.</span>
        ) : (
          <>
            <span className="py-1 font-medium tabular-nums" aria-live="polite">
              {ids.length} {ids.length === 1 ? 'study' : 'studies'} selected · {instances.toLocaleString('en-US')} instances
              {offPage > 0 && <span className="font-normal text-slate-500"> ({offPage} on other pages)</span>}
            </span>
            {tooMany ? (
              <span className="py-1 text-rose-700">{tooMany}</span>
            ) : (
              <a className="btn btn-primary btn-sm" href={href} download>
                Download selected (zip)
              </a>
            )}
            {uids.length === ids.length && <OhifLink poolId={poolId} studyInstanceUids={uids} label="View selected" className="btn btn-primary btn-sm" />}
            {ids.length <= MAX_WEASIS_STUDIES ? (
              <WeasisButton poolId={poolId} studyIds={ids} />
            ) : (
              <span className="py-1 text-slate-500">Weasis opens at most {MAX_WEASIS_STUDIES} studies at once.</span>
            )}
            {exporters && exporters.length > 0 && (
              <ExportButton poolId={poolId} exporters={exporters} scope={{ studyIds: ids, label: `${ids.length} selected ${ids.length === 1 ? 'study' : 'studies'}` }} />
            )}
            <button type="button" className="btn btn-sm" onClick={() => setSelected(new Map())}>
              Clear selection
            </button>
          </>
        )}
      </div>
      <div className="card overflow-x-auto">
        <table className="table" aria-label="Studies">
          <thead>
            <tr>
              <th className="w-8">
                <input
                  ref={headerBox}
                  type="checkbox"
                  className="size-4 align-middle"
                  aria-label="Select all studies on this page"
                  checked={allOnPage}
                  onChange={(e) => togglePage(e.target.checked)}
                />
              </th>
              <th className="w-14"><span className="sr-only">Thumbnail</span></th>
              {headers.map((h) => (
                <th key={h.label} className={h.right ? 'text-right' : ''} aria-sort={h.active ? (h.active === 'asc' ? 'ascending' : 'descending') : undefined}>
                  {h.href ? (
                    <Link href={h.href} className="whitespace-nowrap text-slate-600 hover:text-slate-900">
                      {h.label}
                      <span aria-hidden className="ml-0.5 inline-block w-3 text-sky-700">
                        {h.active === 'asc' ? '▲' : h.active === 'desc' ? '▼' : ''}
                      </span>
                    </Link>
                  ) : (
                    h.label
                  )}
                </th>
              ))}
              <th><span className="sr-only">Viewer</span></th>
            </tr>
          </thead>
          {groupsOf(rows, grouped).map((g) => (
            <tbody key={`${g.patientId}-${g.start}`} className={grouped ? 'border-t-2 border-slate-300' : undefined}>
              {g.rows.map((s, k) => {
                const i = g.start + k;
                const on = selected.has(s.id);
                const continued = grouped && k > 0;
                return (
                  <tr key={s.id} className={on ? 'bg-sky-50' : undefined}>
                    <td>
                      <input
                        type="checkbox"
                        className="size-4 align-middle"
                        aria-label={`Select study ${s.patientId} ${formatDate(s.studyDate)}`}
                        checked={on}
                        onClick={(e) => toggle(i, e.currentTarget.checked, e.shiftKey)}
                        onChange={() => undefined}
                      />
                    </td>
                    <td className="py-1">
                      <Link href={`/pools/${poolId}/studies/${s.id}`} className="flex size-12 items-center justify-center overflow-hidden rounded bg-black" tabIndex={-1} aria-hidden>
                        {s.thumbnail && (
                          // eslint-disable-next-line @next/next/no-img-element -- server-rendered PNG from our API
                          <img src={`/api/v1/pools/${poolId}/series/${s.thumbnail.seriesId}/thumbnail?v=${s.thumbnail.version}`} alt="" width={48} height={48} loading="lazy" decoding="async" className="max-h-12 max-w-12 object-contain" />
                        )}
                      </Link>
                    </td>
                    <td className="whitespace-nowrap">
                      <Link href={`/pools/${poolId}/studies/${s.id}`} className={`font-mono text-xs ${continued ? 'text-slate-600' : ''}`}>
                        {s.patientId || '(no research ID)'}
                      </Link>
                      {!continued && s.studiesOfPatient > 1 && (
                        <div className="text-xs text-slate-600">{s.studiesOfPatient} studies</div>
                      )}
                    </td>
                    <td className="whitespace-nowrap tabular-nums">{formatDate(s.studyDate) || '—'}</td>
                    <td className="max-w-md">
                      <div className="truncate" title={s.studyDescription}>
                        {s.studyDescription || <span className="text-slate-600">no description</span>}
                      </div>
                      {s.seriesLabels.length > 0 && (
                        <div className="truncate text-xs text-slate-600" title={s.seriesLabels.join('\n')}>
                          {s.seriesLabels.join(' · ')}
                        </div>
                      )}
                    </td>
                    <td className="whitespace-nowrap text-xs">{s.bodyParts.join(', ') || <span className="text-slate-600">—</span>}</td>
                    <td className="whitespace-nowrap">{s.modalities.split('\\').filter(Boolean).join(', ')}</td>
                    <td className="text-right tabular-nums">{s.numSeries}</td>
                    <td className="text-right tabular-nums">{s.numInstances.toLocaleString('en-US')}</td>
                    <td className="text-right">
                      {s.numInstances > 0 && <OhifLink poolId={poolId} studyInstanceUids={[s.studyInstanceUid]} description={`View study ${s.patientId} ${formatDate(s.studyDate)} in the viewer`} />}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          ))}
        </table>
      </div>
    </>
  );
}
