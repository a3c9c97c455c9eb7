/**
 * API tokens: `trb_<random>`; only SHA-256(token) is stored, with a short prefix for display.
 * A token may be scoped to one pool (DICOMweb for viewers), in which case it reaches that pool only.
 * Every token expires: after the days its creator chose (1–365) or API_TOKEN_DEFAULT_DAYS (90).
 * Its last use is recorded (at most once a minute) and shown in the token lists.
 */
import { createHash, randomBytes } from 'node:crypto';
import { db } from '../db';
import { env } from '../env';
import { AppError } from '../errors';

/** lastUsedAt is written at most this often per token (it is informational; reads stay cheap). */
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;

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
}): Promise<{ id: string; token: string; prefix: string; expiresAt: Date }> {
  const { token, prefix, tokenHash } = generateToken();
  const days = opts.expiresInDays ?? env().API_TOKEN_DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 365) throw new AppError('VALIDATION', 'A token expires after 1 to 365 days', { expiresInDays: ['1 to 365'] });
  const expiresAt = new Date(Date.now() + days * 86400_000);
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
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() >= LAST_USED_WRITE_INTERVAL_MS) {
    const now = new Date();
    // Conditional, so concurrent requests write it once.
    await db.apiToken
      .updateMany({ where: { id: row.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: new Date(now.getTime() - LAST_USED_WRITE_INTERVAL_MS) } }] }, data: { lastUsedAt: now } })
      .catch(() => undefined);
  }
  return row;
}

export async function revokeApiToken(opts: { id: string; userId: string; isAdmin: boolean }) {
  const row = await db.apiToken.findUnique({ where: { id: opts.id } });
  if (!row || (row.userId !== opts.userId && !opts.isAdmin)) throw new AppError('NOT_FOUND', 'Token not found');
  await db.apiToken.update({ where: { id: row.id }, data: { revokedAt: new Date() } });
}
