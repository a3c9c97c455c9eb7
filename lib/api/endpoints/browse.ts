/** Browsing pools: thumbnails, downloads. */
import { z } from 'zod';
import { e, type Endpoint } from '../endpoint';

const MAX_SELECTION = 500;
const id = z.string().min(1).max(64);

const poolSeries = z.object({ id, seriesId: id });
const poolStudy = z.object({ id, studyId: id });

export const downloadSelectionSchema = z.object({
  studyIds: z.array(id).min(1, 'Select at least one study').max(MAX_SELECTION, `At most ${MAX_SELECTION} studies per download`),
});

/**
 * GET form of the selection download, for browser links: ids comma-separated in `studyIds`.
 * Lenient here (so access is checked before any validation detail); the handler validates.
 */
export const downloadLinkQuerySchema = z.object({ studyIds: z.string().max(20_000).optional() });

export const browseEndpoints = {
  getSeriesThumbnail: e({
    method: 'get',
    path: '/pools/{id}/series/{seriesId}/thumbnail',
    summary: 'PNG thumbnail (about 128 px) of a series, rendered from its middle image; a placeholder image says when there is no preview (header X-Thumbnail: image | placeholder; reason=...)',
    tag: 'studies',
    access: 'pool:read',
    params: poolSeries,
    query: z.object({ v: z.string().max(32).optional() }),
    produces: 'image/png',
  }),
  downloadStudy: e({
    method: 'get',
    path: '/pools/{id}/studies/{studyId}/download',
    summary: 'Download a study as a zip of its de-identified DICOM files (streamed; layout in docs/browsing.md)',
    tag: 'studies',
    access: 'pool:read',
    params: poolStudy,
    produces: 'application/zip',
  }),
  downloadStudies: e({
    method: 'post',
    path: '/pools/{id}/download',
    summary: `Download selected studies (body { studyIds }, at most ${MAX_SELECTION}) as one zip (streamed)`,
    tag: 'studies',
    access: 'pool:read',
    params: z.object({ id }),
    body: downloadSelectionSchema,
    produces: 'application/zip',
  }),
  downloadStudiesLink: e({
    method: 'get',
    path: '/pools/{id}/download',
    summary: 'Download selected studies as one zip from a link: ?studyIds=id1,id2,... (at most 200; use POST for more)',
    tag: 'studies',
    access: 'pool:read',
    params: z.object({ id }),
    query: downloadLinkQuerySchema,
    produces: 'application/zip',
  }),
} satisfies Record<string, Endpoint>;
