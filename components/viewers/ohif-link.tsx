/**
 * "View" opens studies in the OHIF viewer this app serves under /viewer (a new tab, so the pool's
 * list stays where it was). A plain link: keyboard, middle-click and "copy link" work as usual, and
 * the link carries only research UIDs.
 */
import { MAX_OHIF_STUDIES, ohifViewerPath } from '@/lib/viewers/ohif-links';

export function OhifLink({
  poolId,
  studyInstanceUids,
  label = 'View',
  description,
  className = 'btn btn-sm',
}: {
  poolId: string;
  studyInstanceUids: string[];
  label?: string;
  /** Accessible name when the visible label alone is ambiguous (one per table row). */
  description?: string;
  className?: string;
}) {
  if (studyInstanceUids.length === 0) return null;
  if (studyInstanceUids.length > MAX_OHIF_STUDIES) {
    return <span className="py-1 text-slate-600">The viewer opens at most {MAX_OHIF_STUDIES} studies at once.</span>;
  }
  return (
    <a className={className} href={ohifViewerPath(poolId, studyInstanceUids)} target="_blank" rel="noopener" aria-label={description} title="Open in the OHIF viewer (new tab)">
      {label}
    </a>
  );
}
