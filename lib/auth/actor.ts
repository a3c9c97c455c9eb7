/**
 * Who is asking: resolved from `Authorization: Bearer <api token>` or the next-auth session
 * cookie, and re-read from the database on every request so deactivation and role changes
 * apply at once. A session is refused when the sessionVersion in its JWT is not the user's
 * current one: a password, role or active change (lib/users/users.ts, `tributary user
 * set-password`) ends every session issued before it, not only after the JWT's 8 hours.
 */
import { getServerSession } from 'next-auth';
import { getToken } from 'next-auth/jwt';
import { env } from '../env';
import type { Role } from '../db';
import { db } from '../db';
import { findActiveToken } from './tokens';
import { authOptions } from './options';
import { requireSameOrigin } from './same-origin';

export interface Actor {
  userId: string;
  email: string;
  name: string;
  role: Role;
  /** Set when the request came with a pool-scoped token: it reaches that pool only, read-only. */
  tokenPoolId: string | null;
  via: 'session' | 'token';
}

export function bearerFrom(req: Request): string | null {
  const h = req.headers.get('authorization');
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h.trim());
  return m ? m[1] : null;
}

export async function actorFromToken(token: string): Promise<Actor | null> {
  const row = await findActiveToken(token);
  if (!row) return null;
  return {
    userId: row.user.id,
    email: row.user.email,
    name: row.user.name,
    role: row.user.role,
    tokenPoolId: row.poolId,
    via: 'token',
  };
}

async function actorForSession(uid: unknown, sv: unknown): Promise<Actor | null> {
  if (typeof uid !== 'string' || !uid || typeof sv !== 'number') return null;
  const user = await db.user.findUnique({ where: { id: uid } });
  if (!user || !user.active || user.sessionVersion !== sv) return null;
  return { userId: user.id, email: user.email, name: user.name, role: user.role, tokenPoolId: null, via: 'session' };
}

/** For server components and pages (reads the request's cookies through next/headers). */
export async function actorFromSession(): Promise<Actor | null> {
  const session = (await getServerSession(authOptions)) as { uid?: string; sv?: number } | null;
  return actorForSession(session?.uid, session?.sv);
}

function cookiesOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** The session cookie of a route handler's request, read from the request itself. */
export async function actorFromRequestCookie(req: Request): Promise<Actor | null> {
  const cookies = cookiesOf(req);
  if (!Object.keys(cookies).some((k) => k.includes('next-auth.session-token'))) return null;
  const jwt = await getToken({
    req: { cookies, headers: {} } as unknown as Parameters<typeof getToken>[0]['req'],
    secret: env().TRIBUTARY_SECRET,
    secureCookie: env().PUBLIC_URL.startsWith('https://'),
  });
  return actorForSession(jwt?.uid, jwt?.sv);
}

/**
 * For route handlers: a bearer token if one is sent (a bad token is not retried as a session).
 * A session cookie authenticates a state-changing request only from our own origin (403 otherwise).
 */
export async function getActor(req: Request): Promise<Actor | null> {
  const bearer = bearerFrom(req);
  if (bearer) return actorFromToken(bearer);
  const actor = await actorFromRequestCookie(req);
  if (actor) requireSameOrigin(req);
  return actor;
}
