import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { isAdmin, requirePool } from '../auth/access';
import { createApiToken, revokeApiToken } from '../auth/tokens';
import { db } from '../db';
import { AppError } from '../errors';

export async function listTokens(actor: Actor) {
  return db.apiToken.findMany({
    where: { userId: actor.userId },
    select: { id: true, name: true, prefix: true, poolId: true, pool: { select: { name: true } }, createdAt: true, expiresAt: true, lastUsedAt: true, revokedAt: true },
    orderBy: { createdAt: 'desc' },
  });
}

/** A token can only be created by a session (a token cannot mint tokens), for a pool the user can read. */
export async function createToken(actor: Actor, input: { name: string; poolId?: string | null; expiresInDays?: number | null }) {
  if (actor.via === 'token') throw new AppError('FORBIDDEN', 'Tokens cannot create tokens; sign in to create one');
  if (input.poolId) await requirePool(actor, input.poolId, 'read');
  const t = await createApiToken({ userId: actor.userId, name: input.name, poolId: input.poolId ?? null, expiresInDays: input.expiresInDays ?? null });
  await audit({ userId: actor.userId, action: 'token.create', poolId: input.poolId ?? null, targetType: 'token', targetId: t.id });
  return t;
}

export async function revokeToken(actor: Actor, id: string) {
  await revokeApiToken({ id, userId: actor.userId, isAdmin: isAdmin(actor) });
  await audit({ userId: actor.userId, action: 'token.revoke', targetType: 'token', targetId: id });
}
