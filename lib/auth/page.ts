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

/**
 * The title of a pool page ("Cardiac CT cohort · Studies"; the root layout appends
 * " · Tributary"). Next resolves metadata separately from the page, so the same access
 * decision is made here: a pool the visitor may not open (or no session) gets the title of
 * the not-found page and its name is never read into the response. Only the pool's name (not
 * PHI) goes into a title, never a study's or a patient's values.
 */
export async function poolPageTitle(poolId: string, need: PoolNeed, section: string): Promise<{ title: string }> {
  try {
    const { pool } = await requirePool(await actorFromSession(), poolId, need);
    return { title: `${pool.name} · ${section}` };
  } catch (e) {
    if (e instanceof AppError) return { title: NOT_FOUND_TITLE };
    throw e;
  }
}

/** Title of app/not-found.tsx, also used for pages whose pool the visitor may not open. */
export const NOT_FOUND_TITLE = 'Not found';
