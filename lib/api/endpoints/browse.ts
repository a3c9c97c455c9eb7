/** Browsing pools: thumbnails, downloads. */
import type { Endpoint } from '../endpoint';

export const browseEndpoints = {} satisfies Record<string, Endpoint>;
