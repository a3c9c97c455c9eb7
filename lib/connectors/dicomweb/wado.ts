/**
 * WADO-RS retrieve (PS3.18 10.4) from a DICOMweb source into staging: a study, a series or
 * single instances as multipart/related; type="application/dicom", streamed part by part (one
 * network chunk in memory, each part to its own file, handed to `onInstance` once complete,
 * before the next part is read). A study is never held in memory.
 *
 * Failure modes: an HTML page instead of multipart (a login page, a proxy error) and a part that
 * is not a DICOM file are reported at once; a body that ends before its closing boundary
 * (connection dropped, a proxy's size limit) is transient: the complete parts before it are
 * kept, the part being written is deleted, and the retry asks only for what is missing.
 */
import fs from 'node:fs/promises';
import { readInstanceIds } from '../../dicom/part10';
import type { MoveTarget } from '../../dicom/scu';
import { readMultipart } from '../../dicomweb/multipart';
import { HttpError, httpRequest, isHtml } from '../../http/client';
import type { DicomwebSource } from './peer';

export interface FetchedInstance {
  path: string;
  size: number;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  transferSyntaxUid: string;
}

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

/**
 * Fetches one target (one request per path) into `dir`; each complete instance goes to
 * `onInstance` (which must move or delete the file). Returns the number of instances handed on.
 */
export async function wadoRetrieve(
  src: DicomwebSource,
  target: MoveTarget,
  dir: string,
  opts: { signal?: AbortSignal; onInstance: (i: FetchedInstance) => Promise<void> },
): Promise<number> {
  let n = 0;
  for (const p of wadoPaths(target)) {
    for (const uid of p.split('/').filter((_, i) => i % 2 === 1)) {
      if (!/^[0-9.]{1,64}$/.test(uid)) throw new HttpError('protocol', 'Refusing a WADO-RS path with an invalid UID', false);
    }
    const url = new URL(p, src.wadoRoot);
    const host = url.host;
    const res = await httpRequest(url, src.http, { headers: { accept: wadoAccept(src.transferSyntax) }, signal: opts.signal });
    const type = String(res.headers['content-type'] ?? '');
    if (isHtml(res.headers)) {
      res.discard();
      throw new HttpError('html', `${host} answered WADO-RS with an HTML page, not DICOM: check the WADO-RS root and the authentication (a login page?)`, false, res.status);
    }
    const boundary = /^\s*multipart\/related/i.test(type) ? boundaryOf(type) : null;
    if (!boundary) {
      res.discard();
      throw new HttpError('protocol', `${host} answered WADO-RS with ${type.split(';')[0] || 'no content type'} instead of multipart/related: does it support WADO-RS at this root, and transfer syntax ${src.transferSyntax}?`, false, res.status);
    }
    await readMultipart(res.body, boundary, dir, {
      malformed: (m) => new HttpError('protocol', `The WADO-RS answer of ${host} was cut short or malformed (${m.replace(/\.$/, '')}); what arrived complete is kept and the rest is asked again`, true),
      onPart: async (part) => {
        let ids;
        try {
          ids = readInstanceIds(part.path);
        } catch {
          await fs.rm(part.path, { force: true });
          throw new HttpError('protocol', `${host} sent a WADO-RS part that is not a DICOM Part-10 file (${(part.contentType ?? 'no type').split(';')[0]})`, false);
        }
        if (!ids.sopInstanceUid || !ids.studyInstanceUid || !ids.sopClassUid) {
          await fs.rm(part.path, { force: true });
          throw new HttpError('protocol', `${host} sent a WADO-RS part without SOP Instance, SOP Class or Study UID`, false);
        }
        if (ids.studyInstanceUid !== target.studyInstanceUid) {
          // Not what we asked for: never staged under this retrieval.
          await fs.rm(part.path, { force: true });
          throw new HttpError('protocol', `${host} answered WADO-RS with an instance of another study`, false);
        }
        await opts.onInstance({
          path: part.path,
          size: part.size,
          sopClassUid: ids.sopClassUid,
          sopInstanceUid: ids.sopInstanceUid,
          studyInstanceUid: ids.studyInstanceUid,
          transferSyntaxUid: ids.transferSyntaxUid,
        });
        n++;
      },
    }).catch((e: unknown) => {
      // A reset or timeout mid-body arrives as the stream's error.
      if (e instanceof HttpError) throw e;
      const code = (e as { code?: string }).code;
      if (code === 'ABORT_ERR' || opts.signal?.aborted) throw new HttpError('network', `The request to ${host} was cancelled`, false);
      throw new HttpError('network', `The WADO-RS answer of ${host} broke off${code ? ` (${code})` : ''}; what arrived complete is kept and the rest is asked again`, true);
    });
  }
  return n;
}
