/**
 * Applies an endpoint's declared access (lib/api/contract.ts) before its handler runs, so no
 * route can forget a check. Pool-level endpoints find their pool from the path (/pools/{id}),
 * from the resource (/queries/{id}, /retrievals/{id}) or from the body (POST /queries).
 */
import type { Actor } from '../auth/actor';
import { requireActor, requireAdmin, requirePool, requireQuery, requireRetrieval, type PoolAccess, type PoolNeed } from '../auth/access';
import { AppError } from '../errors';
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
  if (endpoint.path.startsWith('/pools/{id}')) return { actor, pool: await requirePool(actor, params.id, need) };
  if (endpoint.path.startsWith('/queries/{id}')) return { actor, pool: (await requireQuery(actor, params.id, need)).access };
  if (endpoint.path.startsWith('/retrievals/{id}')) return { actor, pool: (await requireRetrieval(actor, params.id, need)).access };
  const poolId = (body as { poolId?: unknown } | undefined)?.poolId;
  if (typeof poolId === 'string') return { actor, pool: await requirePool(actor, poolId, need) };
  throw new AppError('VALIDATION', 'poolId is required', { poolId: ['required'] });
}

/** True when the endpoint's pool is named inside its body (POST /queries, the spreadsheet upload), not by its path. */
export function bodyNamesPool(endpoint: Endpoint): boolean {
  if (!endpoint.access.startsWith('pool:')) return false;
  return !['/pools/{id}', '/queries/{id}', '/retrievals/{id}'].some((p) => endpoint.path.startsWith(p));
}
