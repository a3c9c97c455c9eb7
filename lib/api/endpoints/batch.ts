/** Spreadsheet queries at scale: uploads, templates, capability checks. */
import type { Endpoint } from '../endpoint';

export const batchEndpoints = {} satisfies Record<string, Endpoint>;
