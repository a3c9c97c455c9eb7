/** Viewers: Weasis manifests and launch links, DICOMweb helpers. */
import { z } from 'zod';
import { type Endpoint, e, idParam } from '../endpoint';

export const weasisLaunchSchema = z.object({
  /** Study ids (the pool index's ids, as in /pools/{id}/studies), one or a selection. */
  studyIds: z.array(z.string().min(1).max(64)).min(1, 'Pick at least one study').max(100, 'At most 100 studies per launch'),
  /**
   * Also answer the `$dicom:rs` link. Off by default: that link carries the 4-hour viewer token
   * itself, and a link a browser opens stays in its history; the default manifest link carries
   * only a single-use, 5-minute code.
   */
  rsLink: z.boolean().optional(),
});

export const viewerEndpoints = {
  createWeasisLaunch: e({
    method: 'post',
    path: '/pools/{id}/weasis',
    summary:
      'Weasis launch for one or more studies: a single-use manifest URL (5 min) and its weasis://$dicom:get link (a one-time code; the read-only viewer token for these studies is inside the manifest). With rsLink: true also the $dicom:rs link, which carries the 4-hour viewer token itself: copy it, do not open it from a browser (history)',
    tag: 'viewers',
    access: 'pool:read',
    params: idParam,
    body: weasisLaunchSchema,
    status: 201,
  }),
  getWeasisManifest: e({
    method: 'get',
    path: '/weasis/manifests/{manifestId}',
    summary:
      'The Weasis manifest (XML, namespace http://www.weasis.org/xsd/2.5) of a launch; gzip unless ?noGzip. Public: the random id is the capability; it works once and expires after 5 minutes',
    tag: 'viewers',
    access: 'public',
    auth: 'none',
    // Any string: a malformed id is answered 400 by the handler rather than 422 by the schema.
    params: z.object({ manifestId: z.string().max(200) }),
    query: z.object({ noGzip: z.string().optional() }),
    produces: 'application/x-gzip',
  }),
} satisfies Record<string, Endpoint>;
