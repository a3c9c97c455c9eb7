/** Browser-safe: used by client components (the pool's studies table) and server pages alike. */
/** Studies one OHIF launch opens at most (their UIDs go into the URL; OHIF loads each study's metadata). */
export const MAX_OHIF_STUDIES = 25;

/**
 * Where OHIF, served by this app (lib/viewers/ohif-serve.ts), opens studies of a pool: the research
 * Study Instance UIDs in OHIF's own `StudyInstanceUIDs` parameter. Same origin, so the session
 * cookie authenticates the images; nothing secret is in the URL.
 */
export function ohifViewerPath(poolId: string, studyInstanceUids: string[]): string {
  return `/viewer/${encodeURIComponent(poolId)}/viewer?StudyInstanceUIDs=${studyInstanceUids.map(encodeURIComponent).join(',')}`;
}
