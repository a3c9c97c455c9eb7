/** Exports of a pool to its exporters' destinations (lib/exports, docs/exports.md). */
import { z } from 'zod';
import { exportRequestSchema } from '../../exports/schema';
import { type Endpoint, e, idParam } from '../endpoint';

const poolExport = z.object({ id: z.string().min(1).max(64), exportId: z.string().min(1).max(64) });
export const exportListQuerySchema = z.object({ take: z.coerce.number().int().min(1).max(200).optional(), before: z.string().datetime().optional() });
export const exportDetailQuerySchema = z.object({
  offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  /** Instances listed: FAILED and WARNING by default. */
  state: z.enum(['PENDING', 'SENT', 'WARNING', 'FAILED', 'SKIPPED']).optional(),
});

export const exportEndpoints = {
  listExports: e({ method: 'get', path: '/pools/{id}/exports', summary: 'Exports of this pool, newest first, with live counters', tag: 'exports', access: 'pool:read', params: idParam, query: exportListQuerySchema }),
  createExport: e({ method: 'post', path: '/pools/{id}/exports', summary: "Export studies (a selection, or the whole pool) through one of this pool's exporters; what the destination already holds is skipped unless resend", tag: 'exports', access: 'pool:export', params: idParam, body: exportRequestSchema, status: 202 }),
  getExport: e({ method: 'get', path: '/pools/{id}/exports/{exportId}', summary: 'One export: state, counters, and its failed and warned instances with the reason (paged)', tag: 'exports', access: 'pool:read', params: poolExport, query: exportDetailQuerySchema }),
  retryExport: e({ method: 'post', path: '/pools/{id}/exports/{exportId}/retry', summary: 'Send the failed (and cancelled) instances of a finished export again', tag: 'exports', access: 'pool:export', params: poolExport, status: 202 }),
  cancelExport: e({ method: 'post', path: '/pools/{id}/exports/{exportId}/cancel', summary: 'Cancel an export: requests in flight are aborted, what was not acknowledged stays unsent', tag: 'exports', access: 'pool:export', params: poolExport }),
} satisfies Record<string, Endpoint>;
