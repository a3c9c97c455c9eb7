/**
 * THE place where access is decided. Every page, API route, DICOMweb route, download and job
 * entry point asks here; nothing else compares roles.
 *
 * - Admins manage devices, connectors, users and see every pool; they do not see identity maps.
 *   Separation of duties: an ADMIN account never acts as a pool OWNER for 'identity' or 'rules',
 *   even if a membership row says OWNER (lib/pools/members-guard.ts refuses creating one, and
 *   lib/users/users.ts refuses promoting an owner to ADMIN; this decision is the last line).
 * - Pool members see their pools. Pool role COORDINATOR or OWNER may query and retrieve;
 *   OWNER (and administrators) manage members; OWNER alone saves rules ('rules') and reads the
 *   identity map ('identity').
 * - Putting source data into a pool over STOW-RS ('ingest') is the OWNER's alone: what it stores
 *   reveals the research identity of any PatientID it carries (QIDO answers the research ID, the
 *   shifted dates the offset), which only the owner, who sees the identity map anyway, may learn.
 *   Coordinators bring data in through connectors; admins are not owners by being admins.
 * - Sending a pool's studies to a destination ('export': lib/exports) is for its OWNER and
 *   RESEARCHER members, through the pool's own exporters only. Coordinators bring data in, they
 *   do not send it out; administrators are not members by being administrators; a pool-scoped
 *   token is read-only, so it cannot export either.
 * - A pool-scoped API token reaches its pool only, read-only.
 * - A pool the actor may not see answers NOT_FOUND, never FORBIDDEN, so ids cannot be probed.
 */
import { db, type Pool, type PoolRole } from '../db';
import { AppError } from '../errors';
import type { Actor } from './actor';

/**
 * read: see the pool. coordinate: query and retrieve. own: manage members, read the rules.
 * rules: save a rule version (it decides what identity reaches researchers). identity: the
 * identity map, lookup tables, preview on real data, quarantine release. ingest: put source
 * data into the pool over STOW-RS (it reveals research identities). export: send the pool's
 * studies to a destination through one of its exporters.
 */
export type PoolNeed = 'read' | 'coordinate' | 'own' | 'rules' | 'identity' | 'ingest' | 'export';

export interface PoolAccess {
  pool: Pool;
  poolRole: PoolRole | null;
  isAdmin: boolean;
  /** Acts as the pool's owner: saves rules, reads the identity map (never an admin account). */
  isOwner: boolean;
}

export function requireActor(actor: Actor | null): Actor {
  if (!actor) throw new AppError('UNAUTHENTICATED', 'Sign in or send an API token');
  return actor;
}

export function isAdmin(actor: Actor): boolean {
  return actor.role === 'ADMIN' && actor.tokenPoolId === null;
}

export function requireAdmin(actor: Actor | null): Actor {
  const a = requireActor(actor);
  if (!isAdmin(a)) throw new AppError('FORBIDDEN', 'Administrators only');
  return a;
}

/**
 * A pool's AE title, kind and allowed sending devices are part of the hospital's DICOM setup
 * (what the PACS and modalities are configured with): administrators change them. An owner may
 * change the rest of the pool (name, description, members).
 */
export const ADMIN_ONLY_POOL_FIELDS = ['aeTitle', 'kind', 'allowedDeviceIds'] as const;

export function requirePoolChange(actor: Actor, changed: string[]): void {
  if (isAdmin(actor)) return;
  const refused = changed.filter((f) => (ADMIN_ONLY_POOL_FIELDS as readonly string[]).includes(f));
  if (refused.length)
    throw new AppError('FORBIDDEN', `Only an administrator changes a pool's ${refused.join(', ')}`, Object.fromEntries(refused.map((f) => [f, ['administrators only']])));
}

const COORDINATING: PoolRole[] = ['OWNER', 'COORDINATOR'];

/** Pure decision, exported for unit tests. */
export function decidePool(
  actor: Actor,
  poolId: string,
  poolRole: PoolRole | null,
  need: PoolNeed,
): 'allow' | 'not-found' | 'forbidden' {
  if (actor.tokenPoolId !== null) {
    if (actor.tokenPoolId !== poolId) return 'not-found';
    if (!poolRole && actor.role !== 'ADMIN') return 'not-found';
    return need === 'read' ? 'allow' : 'forbidden';
  }
  const admin = actor.role === 'ADMIN';
  if (!poolRole && !admin) return 'not-found';
  switch (need) {
    case 'read':
      return 'allow';
    case 'coordinate':
      return admin || (poolRole && COORDINATING.includes(poolRole)) ? 'allow' : 'forbidden';
    case 'own':
      return admin || poolRole === 'OWNER' ? 'allow' : 'forbidden';
    case 'export':
      // Membership decides, never the admin role.
      return poolRole === 'OWNER' || poolRole === 'RESEARCHER' ? 'allow' : 'forbidden';
    case 'rules':
    case 'identity':
    case 'ingest':
      // Administration never grants identity or the rules that protect it (separation of duties).
      return poolRole === 'OWNER' && !admin ? 'allow' : 'forbidden';
  }
}

export async function requirePool(actorOrNull: Actor | null, poolId: string, need: PoolNeed): Promise<PoolAccess> {
  const actor = requireActor(actorOrNull);
  if (typeof poolId !== 'string' || poolId.length === 0 || poolId.length > 64) throw new AppError('NOT_FOUND', 'Pool not found');
  const pool = await db.pool.findUnique({
    where: { id: poolId },
    include: { members: { where: { userId: actor.userId }, select: { role: true } } },
  });
  if (!pool) throw new AppError('NOT_FOUND', 'Pool not found');
  const poolRole = pool.members[0]?.role ?? null;
  const decision = decidePool(actor, poolId, poolRole, need);
  if (decision === 'not-found') throw new AppError('NOT_FOUND', 'Pool not found');
  if (decision === 'forbidden') throw new AppError('FORBIDDEN', 'Your role in this pool does not allow this');
  const { members: _m, ...rest } = pool;
  return { pool: rest as Pool, poolRole, isAdmin: isAdmin(actor), isOwner: decidePool(actor, poolId, poolRole, 'identity') === 'allow' };
}

/** Ids of the pools the actor can read (admins: all). */
export async function visiblePoolIds(actorOrNull: Actor | null): Promise<string[] | 'all'> {
  const actor = requireActor(actorOrNull);
  if (actor.tokenPoolId) return [actor.tokenPoolId];
  if (actor.role === 'ADMIN') return 'all';
  const rows = await db.poolMember.findMany({ where: { userId: actor.userId }, select: { poolId: true } });
  return rows.map((r) => r.poolId);
}

/** A query belongs to a pool: check the pool, answer NOT_FOUND for anything the actor may not see. */
export async function requireQuery(actor: Actor | null, queryId: string, need: PoolNeed) {
  const query = await db.query.findUnique({ where: { id: queryId }, select: { id: true, poolId: true } });
  if (!query) throw new AppError('NOT_FOUND', 'Query not found');
  try {
    return { query, access: await requirePool(actor, query.poolId, need) };
  } catch (e) {
    if (e instanceof AppError && e.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', 'Query not found');
    throw e;
  }
}

export async function requireRetrieval(actor: Actor | null, retrievalId: string, need: PoolNeed) {
  const r = await db.retrieval.findUnique({ where: { id: retrievalId }, select: { id: true, poolId: true, queryId: true } });
  if (!r) throw new AppError('NOT_FOUND', 'Retrieval not found');
  try {
    return { retrieval: r, access: await requirePool(actor, r.poolId, need) };
  } catch (e) {
    if (e instanceof AppError && e.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', 'Retrieval not found');
    throw e;
  }
}
