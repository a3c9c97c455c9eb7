/**
 * Access for server-rendered pages: the same decisions as the API (lib/auth/access), turned
 * into redirects (not signed in), notFound() (not visible) or a forbidden page.
 */
import 'server-only';
import { notFound, redirect } from 'next/navigation';
import { AppError } from '../errors';
import { actorFromSession, type Actor } from './actor';
import { requireAdmin, requirePool, type PoolNeed } from './access';

export async function pageActor(): Promise<Actor> {
  const actor = await actorFromSession();
  if (!actor) redirect('/signin');
  return actor;
}

export async function pageAdmin(): Promise<Actor> {
  const actor = await pageActor();
  try {
    return requireAdmin(actor);
  } catch {
    notFound();
  }
}

export async function pagePool(poolId: string, need: PoolNeed) {
  const actor = await pageActor();
  try {
    return { actor, ...(await requirePool(actor, poolId, need)) };
  } catch (e) {
    if (e instanceof AppError && (e.code === 'NOT_FOUND' || e.code === 'FORBIDDEN')) notFound();
    throw e;
  }
}
