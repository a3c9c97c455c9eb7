/**
 * API tokens: `trb_<random>`; only SHA-256(token) is stored, with a short prefix for display.
 * A token may be scoped to one pool (DICOMweb for viewers), in which case it reaches that pool only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { db } from '../db';
import { AppError } from '../errors';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function generateToken(): { token: string; prefix: string; tokenHash: string } {
  const token = 'trb_' + randomBytes(24).toString('base64url');
  return { token, prefix: token.slice(0, 10), tokenHash: hashToken(token) };
}

export async function createApiToken(opts: {
  userId: string;
  name: string;
  poolId?: string | null;
  expiresInDays?: number | null;
}): Promise<{ id: string; token: string; prefix: string; expiresAt: Date | null }> {
  const { token, prefix, tokenHash } = generateToken();
  const expiresAt = opts.expiresInDays ? new Date(Date.now() + opts.expiresInDays * 86400_000) : null;
  const row = await db.apiToken.create({
    data: { userId: opts.userId, name: opts.name, prefix, tokenHash, poolId: opts.poolId ?? null, expiresAt },
  });
  return { id: row.id, token, prefix, expiresAt };
}

export async function findActiveToken(token: string) {
  if (!token.startsWith('trb_') || token.length > 200) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: hashToken(token) }, include: { user: true } });
  if (!row || row.revokedAt || !row.user.active) return null;
  if (row.expiresAt && row.expiresAt.getTime() < Date.now()) return null;
  // lastUsedAt is informational; update at most once a minute to keep reads cheap.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } }).catch(() => undefined);
  }
  return row;
}

export async function revokeApiToken(opts: { id: string; userId: string; isAdmin: boolean }) {
  const row = await db.apiToken.findUnique({ where: { id: opts.id } });
  if (!row || (row.userId !== opts.userId && !opts.isAdmin)) throw new AppError('NOT_FOUND', 'Token not found');
  await db.apiToken.update({ where: { id: row.id }, data: { revokedAt: new Date() } });
}
