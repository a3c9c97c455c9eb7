/**
 * Study provenance and the project close-out (purge) of a pool: lib/pools/provenance.ts,
 * lib/pools/purge.ts, docs/exports.md "Provenance and close-out".
 */
import { z } from 'zod';
import { purgeInputSchema } from '../../pools/purge';
import { e, type Endpoint } from '../endpoint';

const id = z.string().min(1).max(64);

export const closeoutEndpoints = {
  getStudyProvenance: e({
    method: 'get',
    path: '/pools/{id}/studies/{studyId}/provenance',
    summary: 'Where a study came from (connector, query, retrieval, rule versions, identity source; never source identifiers), as provenance.json',
    tag: 'studies',
    access: 'pool:read',
    params: z.object({ id, studyId: id }),
    produces: 'application/json',
  }),
  getPoolPurge: e({
    method: 'get',
    path: '/pools/{id}/purge',
    summary: 'The state of the pool’s purge (project close-out), or null',
    tag: 'pools',
    access: 'pool:own',
    params: z.object({ id }),
  }),
  purgePool: e({
    method: 'post',
    path: '/pools/{id}/purge',
    summary:
      'Project close-out: destroy the pool’s files, index, identity map, thumbnails, quarantine and staging, and sign a purge receipt. Owner only; `confirm` must be the pool’s name. Resumes an interrupted purge. The pool stays, closed to new data.',
    tag: 'pools',
    access: 'pool:purge',
    params: z.object({ id }),
    body: purgeInputSchema,
  }),
  getPoolPurgeReceipt: e({
    method: 'get',
    path: '/pools/{id}/purge/receipt',
    summary: 'The signed purge receipt (tributary-receipt/1, kind "purge"): counts and hashes of what was destroyed',
    tag: 'pools',
    access: 'pool:own',
    params: z.object({ id }),
    produces: 'application/json',
  }),
} satisfies Record<string, Endpoint>;
