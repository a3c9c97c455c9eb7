/**
 * WADO-RS request shapes (PS3.18 10.4): the paths of a study, series or instances, the Accept
 * header with the connector's transfer syntax, and the boundary of a multipart/related answer.
 * The retrieve itself is DicomwebSourceConnector.retrieve (source.ts).
 */
import type { MoveTarget } from '../../dicom/scu';

/** `multipart/related; type="application/dicom"; transfer-syntax=…` as the connector asks. */
export function wadoAccept(transferSyntax: string): string {
  return `multipart/related; type="application/dicom"; transfer-syntax=${transferSyntax || '*'}`;
}

export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

export function wadoPaths(t: MoveTarget): string[] {
  const study = `studies/${t.studyInstanceUid}`;
  if (!t.seriesInstanceUid) return [study];
  const series = `${study}/series/${t.seriesInstanceUid}`;
  if (!t.sopInstanceUids?.length) return [series];
  return t.sopInstanceUids.map((sop) => `${series}/instances/${sop}`);
}
