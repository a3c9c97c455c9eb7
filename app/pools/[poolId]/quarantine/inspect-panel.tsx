'use client';
/**
 * The owner's look at one quarantined instance: the image (a frame at a time) with the boxes OCR
 * found (coloured by category; the text is not stored, so none is shown), the regions device
 * signature rules would blank (dashed), and rectangles the owner draws with the mouse. "Redact and
 * release" blanks the chosen regions into a new instance that enters the pool.
 */
import { useEffect, useRef, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { FormAlert, Spinner } from '@/components/admin/kit';
import { useConfirm } from '@/components/confirm-dialog';

interface Box {
  frame: number;
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  category: string;
  categoryText: string;
}
interface OcrView {
  ocr: { status: string; error: string | null; framesRead: number | null; boxCount: number | null };
  image: { rows: number; columns: number; frameCount: number } | null;
  boxes: Box[];
  signatureRegions: { x: number; y: number; width: number; height: number; ruleId: string | null }[];
}
interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  frame?: number;
}

const COLOURS: Record<string, string> = { date: '#f59e0b', id: '#ef4444', name: '#d946ef', word: '#0ea5e9', other: '#84cc16' };
const OCR_STATUS: Record<string, string> = {
  pending: 'OCR has not read this image yet',
  done: 'OCR read this image',
  unsupported: 'OCR cannot read this image',
  unavailable: 'OCR is not installed on the worker (tesseract-ocr)',
  failed: 'OCR failed on this image',
  skipped: 'not read by OCR',
};

export function InspectPanel({ poolId, id, onDone, onClose }: { poolId: string; id: string; onDone: (message: string) => void; onClose: () => void }) {
  const [view, setView] = useState<OcrView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [frame, setFrame] = useState(0);
  const [drawn, setDrawn] = useState<Rect[]>([]);
  const [drag, setDrag] = useState<{ x0: number; y0: number; x1: number; y1: number } | null>(null);
  const [useOcr, setUseOcr] = useState(true);
  const [useSignatures, setUseSignatures] = useState(true);
  const [allFrames, setAllFrames] = useState(true);
  const [busy, setBusy] = useState(false);
  const [confirm, confirmDialog] = useConfirm();
  const svg = useRef<SVGSVGElement>(null);

  useEffect(() => {
    let live = true;
    void apiFetch<OcrView>(`/pools/${poolId}/quarantine/${id}/ocr`).then((res) => {
      if (!live) return;
      if (res.ok) setView(res.data);
      else setError(res.error.message);
    });
    return () => {
      live = false;
    };
  }, [poolId, id]);

  const point = (e: React.PointerEvent) => {
    const r = svg.current!.getBoundingClientRect();
    const img = view!.image!;
    return { x: Math.round(((e.clientX - r.left) / r.width) * img.columns), y: Math.round(((e.clientY - r.top) / r.height) * img.rows) };
  };

  async function redact() {
    const n = drawn.length + (useOcr ? (view?.boxes.length ?? 0) : 0) + (useSignatures ? (view?.signatureRegions.length ?? 0) : 0);
    const ok = await confirm({
      title: `Blank ${n} region${n === 1 ? '' : 's'} and release?`,
      body: <p>The redacted copy goes into the pool, where researchers see it, under a new SOP Instance UID. The held file is deleted: this cannot be undone.</p>,
      confirmLabel: 'Redact and release',
      danger: true,
    });
    if (!ok) return;
    setBusy(true);
    setError(null);
    const res = await apiFetch<{ regions: number; lossy: boolean }>(`/pools/${poolId}/quarantine/${id}/redact`, { body: { regions: drawn, useOcr, useSignatures } });
    setBusy(false);
    if (!res.ok) return setError(res.error.message);
    onDone(`Redacted ${res.data.regions} region${res.data.regions === 1 ? '' : 's'} and released${res.data.lossy ? ' (re-encoded as JPEG baseline)' : ''}.`);
  }

  const img = view?.image;
  return (
    <div className="card space-y-2 p-3" role="region" aria-label="Inspect quarantined instance">
      {confirmDialog}
      <div className="flex items-center gap-2">
        <h3 className="font-semibold">Look before deciding</h3>
        <button type="button" className="btn btn-sm ml-auto" onClick={onClose}>Close</button>
      </div>
      <FormAlert message={error} />
      {!view && !error && <p className="text-slate-500"><Spinner /> Loading…</p>}
      {view && (
        <>
          <p className="text-sm" data-testid="ocr-status">
            {OCR_STATUS[view.ocr.status] ?? view.ocr.status}
            {view.ocr.status === 'done' && `: ${view.boxes.length} box${view.boxes.length === 1 ? '' : 'es'} of text in ${view.ocr.framesRead ?? 1} frame${view.ocr.framesRead === 1 ? '' : 's'}`}
            {view.ocr.error && ` (${view.ocr.error})`}. The text itself is never stored: boxes show where, colours show what kind.
          </p>
          <ul className="flex flex-wrap gap-3 text-xs" aria-label="Legend">
            {Object.entries(COLOURS).map(([k, c]) => (
              <li key={k} className="flex items-center gap-1">
                <span className="inline-block h-3 w-3 border-2" style={{ borderColor: c }} /> {k}
              </li>
            ))}
            <li className="flex items-center gap-1"><span className="inline-block h-3 w-3 border-2 border-dashed border-white bg-slate-700" /> device signature</li>
            <li className="flex items-center gap-1"><span className="inline-block h-3 w-3 bg-black/70" /> drawn by you</li>
          </ul>
          {img ? (
            <div className="relative inline-block max-w-full bg-black" style={{ aspectRatio: `${img.columns} / ${img.rows}`, width: Math.min(img.columns, 900) }}>
              {/* eslint-disable-next-line @next/next/no-img-element -- a private, generated PNG */}
              <img src={`/api/v1/pools/${poolId}/quarantine/${id}/image?frame=${frame}`} alt="Quarantined image" className="absolute inset-0 h-full w-full" draggable={false} />
              <svg
                ref={svg}
                viewBox={`0 0 ${img.columns} ${img.rows}`}
                className="absolute inset-0 h-full w-full cursor-crosshair touch-none"
                aria-label="Boxes over the image; drag to draw a region to blank"
                onPointerDown={(e) => {
                  const p = point(e);
                  setDrag({ x0: p.x, y0: p.y, x1: p.x, y1: p.y });
                }}
                onPointerMove={(e) => drag && setDrag({ ...drag, ...(({ x, y }) => ({ x1: x, y1: y }))(point(e)) })}
                onPointerUp={() => {
                  if (drag) {
                    const r = { x: Math.min(drag.x0, drag.x1), y: Math.min(drag.y0, drag.y1), width: Math.abs(drag.x1 - drag.x0), height: Math.abs(drag.y1 - drag.y0) };
                    if (r.width >= 2 && r.height >= 2) setDrawn([...drawn, allFrames ? r : { ...r, frame }]);
                  }
                  setDrag(null);
                }}
              >
                {/* OCR boxes are blanked in every frame (labels stay put), so every frame shows them all. */}
                {view.boxes.map((b, i) => (
                  <rect key={`o${i}`} x={b.x} y={b.y} width={b.width} height={b.height} fill="none" stroke={COLOURS[b.category] ?? '#fff'} strokeWidth={Math.max(1, img.columns / 400)} opacity={useOcr ? 1 : 0.3} data-category={b.category}>
                    <title>{`${b.categoryText}, confidence ${Math.round(b.confidence)} (frame ${b.frame + 1})`}</title>
                  </rect>
                ))}
                {view.signatureRegions.map((r, i) => (
                  <rect key={`s${i}`} x={r.x} y={r.y} width={r.width} height={r.height} fill="none" stroke="#fff" strokeDasharray="6 4" strokeWidth={Math.max(1, img.columns / 400)} opacity={useSignatures ? 1 : 0.3}>
                    <title>{`device signature ${r.ruleId ?? ''}`}</title>
                  </rect>
                ))}
                {drawn.filter((r) => r.frame === undefined || r.frame === frame).map((r, i) => (
                  <rect key={`d${i}`} x={r.x} y={r.y} width={r.width} height={r.height} fill="rgba(0,0,0,0.7)" stroke="#f43f5e" />
                ))}
                {drag && <rect x={Math.min(drag.x0, drag.x1)} y={Math.min(drag.y0, drag.y1)} width={Math.abs(drag.x1 - drag.x0)} height={Math.abs(drag.y1 - drag.y0)} fill="rgba(244,63,94,0.3)" stroke="#f43f5e" />}
              </svg>
            </div>
          ) : (
            <p className="text-slate-600">No image can be shown for this instance (no pixel data, or a layout the viewer does not render).</p>
          )}
          {img && img.frameCount > 1 && (
            <label className="flex items-center gap-2 text-sm">
              Frame
              <input type="number" className="input w-24" min={1} max={img.frameCount} value={frame + 1} onChange={(e) => setFrame(Math.min(img.frameCount - 1, Math.max(0, Number(e.target.value) - 1)))} />
              of {img.frameCount}
              <input type="checkbox" className="ml-3" checked={allFrames} onChange={(e) => setAllFrames(e.target.checked)} /> regions I draw apply to every frame
            </label>
          )}
          <div className="flex flex-wrap items-center gap-3 text-sm">
            <label className="flex items-center gap-1"><input type="checkbox" checked={useOcr} onChange={(e) => setUseOcr(e.target.checked)} /> blank the OCR boxes ({view.boxes.length})</label>
            <label className="flex items-center gap-1"><input type="checkbox" checked={useSignatures} onChange={(e) => setUseSignatures(e.target.checked)} /> blank device-signature regions ({view.signatureRegions.length})</label>
            <span className="text-slate-600">{drawn.length} drawn</span>
            {drawn.length > 0 && <button type="button" className="btn btn-sm" onClick={() => setDrawn(drawn.slice(0, -1))}>Undo last</button>}
            <button type="button" className="btn btn-sm btn-primary ml-auto" disabled={busy || !img} onClick={redact}>
              {busy && <Spinner />} Redact and release
            </button>
          </div>
        </>
      )}
    </div>
  );
}
