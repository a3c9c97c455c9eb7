/** Viewers: Weasis manifests and launch links, DICOMweb helpers. */
import type { Endpoint } from '../endpoint';

export const viewerEndpoints = {} satisfies Record<string, Endpoint>;
