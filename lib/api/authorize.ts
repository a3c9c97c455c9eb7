/**
 * Applies an endpoint's declared access (lib/api/contract.ts) before its handler runs, so no
 * route can forget a check. Pool-level endpoints find their pool from the path (/pools/{id}),
 * from the resource (/queries/{id}, /retrievals/{id}) or from the body (POST /queries).
 */
import type { Actor } from '../auth/actor';
import { requireActor, requireAdmin, requirePool, requireQuery, requireRetrieval, type PoolAccess, type PoolNeed } from '../auth/access';
import { AppError } from '../errors';
import { PoolClosedError } from '../pools/closeout';
import type { Endpoint } from './contract';

export interface Authorized {
  actor: Actor | null;
  pool: PoolAccess | null;
}

export async function authorize(endpoint: Endpoint, actor: Actor | null, params: Record<string, string>, body: unknown): Promise<Authorized> {
  switch (endpoint.access) {
    case 'public':
      return { actor, pool: null };
    case 'signed-in':
      return { actor: requireActor(actor), pool: null };
    case 'admin':
      return { actor: requireAdmin(actor), pool: null };
  }
  const need = endpoint.access.slice('pool:'.length) as PoolNeed;
  const pool = await poolAccess(endpoint, need, actor, params, body);
  requireOpenFor(endpoint, pool);
  return { actor, pool };
}

async function poolAccess(endpoint: Endpoint, need: PoolNeed, actor: Actor | null, params: Record<string, string>, body: unknown): Promise<PoolAccess> {
  if (endpoint.path.startsWith('/pools/{id}')) return requirePool(actor, params.id, need);
  if (endpoint.path.startsWith('/queries/{id}')) return (await requireQuery(actor, params.id, need)).access;
  if (endpoint.path.startsWith('/retrievals/{id}')) return (await requireRetrieval(actor, params.id, need)).access;
  const poolId = (body as { poolId?: unknown } | undefined)?.poolId;
  if (typeof poolId === 'string') return requirePool(actor, poolId, need);
  throw new AppError('VALIDATION', 'poolId is required', { poolId: ['required'] });
}

/**
 * A closed pool (project close-out, lib/pools/purge.ts) answers reads, and changes only its
 * members, its name and description, and the purge itself (resumed until done): every other
 * state-changing request — queries, retrievals, exports, rules, lookups, quarantine decisions —
 * is refused with one clear message. (STOW-RS and pushes check it in lib/dicomweb/stow.ts and
 * lib/receive/push.ts; the index refuses it too: lib/pools/closeout.ts.)
 */
export const CLOSED_POOL_WRITABLE = ['/pools/{id}', '/pools/{id}/members', '/pools/{id}/members/{userId}', '/pools/{id}/purge'];

function requireOpenFor(endpoint: Endpoint, access: PoolAccess): void {
  if (!access.pool.closedAt || endpoint.method === 'get') return;
  if (CLOSED_POOL_WRITABLE.includes(endpoint.path)) return;
  throw new PoolClosedError();
}

/** True when the endpoint's pool is named inside its body (POST /queries, the spreadsheet upload), not by its path. */
export function bodyNamesPool(endpoint: Endpoint): boolean {
  if (!endpoint.access.startsWith('pool:')) return false;
  return !['/pools/{id}', '/queries/{id}', '/retrievals/{id}'].some((p) => endpoint.path.startsWith(p));
}
