'use client';
/**
 * "Open in Weasis" for one study or a selection of a pool. Each click asks the server for a new
 * launch (a manifest is single-use and lives 5 minutes): the weasis:// link opens the locally
 * installed Weasis, which fetches the manifest and then the images with a short-lived read-only
 * token. The link the browser opens (and keeps in its history) carries only the single-use
 * manifest code, never the token. "Copy Weasis link" copies such a link for use elsewhere (e.g. a
 * colleague's machine within the 5 minutes, or a script). On request it also shows the other
 * launch form, `$dicom:rs`, where Weasis queries the pool's DICOMweb itself and sends the token as
 * an HTTP header: that link carries the 4-hour token itself, so it is offered for copying only,
 * never as a link to click, and the reason is said next to it.
 */
import { useEffect, useId, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { CopyButton, copyText } from './copy-button';

interface Launch {
  manifestUrl: string;
  weasisUrl: string;
  rsUrl: string | null;
  manifestExpiresAt: string;
  tokenExpiresAt: string;
}

export function WeasisButton({ poolId, studyIds, label }: { poolId: string; studyIds: string[]; label?: string }) {
  const [busy, setBusy] = useState<'open' | 'copy' | 'rs' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [link, setLink] = useState<{ url: string; copied: boolean } | null>(null);
  const [rs, setRs] = useState<{ url: string | null; tokenExpiresAt: string } | null>(null);
  const [opened, setOpened] = useState(false);
  const inputId = useId();
  const rsId = useId();
  const disabled = busy !== null || studyIds.length === 0;
  const selectionKey = studyIds.join(',');
  // A link belongs to the studies it was made for: a changed selection hides it.
  useEffect(() => {
    setLink(null);
    setRs(null);
    setOpened(false);
  }, [selectionKey]);

  async function newLaunch(rsLink = false): Promise<Launch | null> {
    setError(null);
    const res = await apiFetch<Launch>(`/pools/${encodeURIComponent(poolId)}/weasis`, { method: 'POST', body: { studyIds, rsLink } });
    if (!res.ok) {
      setError(res.error.message);
      return null;
    }
    return res.data;
  }

  async function open() {
    setBusy('open');
    try {
      const l = await newLaunch();
      if (!l) return;
      // A custom-scheme navigation: the page stays, the OS hands the link to Weasis.
      window.location.href = l.weasisUrl;
      setOpened(true);
    } finally {
      setBusy(null);
    }
  }

  async function copy() {
    setBusy('copy');
    try {
      const l = await newLaunch();
      if (!l) return;
      setLink({ url: l.weasisUrl, copied: await copyText(l.weasisUrl) });
      setRs(null);
    } finally {
      setBusy(null);
    }
  }

  async function showRs() {
    setBusy('rs');
    try {
      const l = await newLaunch(true);
      if (!l) return;
      setRs({ url: l.rsUrl, tokenExpiresAt: l.tokenExpiresAt });
    } finally {
      setBusy(null);
    }
  }

  const n = studyIds.length;
  return (
    <div className="inline-flex flex-col gap-1">
      <div className="inline-flex flex-wrap items-center gap-2">
        <button type="button" className="btn btn-primary btn-sm" onClick={open} disabled={disabled}>
          {busy === 'open' ? 'Preparing…' : (label ?? (n > 1 ? `Open ${n} studies in Weasis` : 'Open in Weasis'))}
        </button>
        <button type="button" className="btn btn-sm" onClick={copy} disabled={disabled}>
          {busy === 'copy' ? 'Preparing…' : link?.copied ? 'Copied ✓' : 'Copy Weasis link'}
        </button>
      </div>
      {link && (
        <div className="flex max-w-md flex-col gap-1 text-xs text-slate-600" role="status">
          <label className="sr-only" htmlFor={inputId}>
            Weasis link
          </label>
          <input
            id={inputId}
            readOnly
            value={link.url}
            className="input font-mono text-xs"
            onFocus={(e) => e.currentTarget.select()}
            spellCheck={false}
          />
          <span>{link.copied ? 'Copied. ' : 'The browser blocked copying: select the link and press Ctrl+C (⌘C). '}It works once, within 5 minutes.</span>
          <div className="mt-1 border-t border-slate-200 pt-1.5">
            <span className="font-medium text-slate-700" id={rsId}>
              Or launch over DICOMweb (<code className="font-mono">$dicom:rs</code>)
            </span>
            {!rs ? (
              <div className="mt-1">
                <button type="button" className="btn btn-sm" onClick={showRs} disabled={disabled}>
                  {busy === 'rs' ? 'Preparing…' : 'Show DICOMweb link'}
                </button>
              </div>
            ) : rs.url ? (
              <>
                <div className="mt-1 flex items-center gap-1">
                  <input aria-labelledby={rsId} readOnly value={rs.url} className="input min-w-0 flex-1 font-mono text-xs" onFocus={(e) => e.currentTarget.select()} spellCheck={false} />
                  <CopyButton text={rs.url} label="Copy" />
                </div>
                <span>
                  Weasis queries this pool’s DICOMweb itself and sends the access as a header. This link itself contains that access, until{' '}
                  {new Date(rs.tokenExpiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}, for these studies: it is offered
                  for copying only, because a link opened from the browser stays in its history, where anyone using this profile could reuse it.
                  Prefer the link above: it holds a one-time code that is used up when Weasis opens it.
                </span>
              </>
            ) : (
              <p className="mt-1">Too many studies for one DICOMweb link; use the link above, or select fewer studies.</p>
            )}
          </div>
        </div>
      )}
      {opened && !link && (
        <p className="text-xs text-slate-500" role="status">
          Weasis should open now. Nothing happened? Install Weasis from weasis.org (it registers weasis:// links), then try again.
        </p>
      )}
      {error && (
        <p role="alert" className="text-xs text-rose-700">
          {error}
        </p>
      )}
    </div>
  );
}
