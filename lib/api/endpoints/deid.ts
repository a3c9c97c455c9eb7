/** De-identification: rules, preview, identity map, quarantine, lookup tables. */
import type { Endpoint } from '../endpoint';

export const deidEndpoints = {} satisfies Record<string, Endpoint>;
