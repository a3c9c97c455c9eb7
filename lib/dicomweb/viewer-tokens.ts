/**
 * Short-lived viewer tokens: what a Weasis launch carries (in the manifest's httpTag, or in the
 * `-H` of the `$dicom:rs` command). They are not API tokens:
 *
 * - they reach only this pool's DICOMweb, read-only, and only the studies the launch named;
 * - they live in Redis (hashed) with a TTL, so a launch leaves nothing in the user's token list;
 * - a token minted by an API token dies with it (revoked or expired parent => refused);
 * - it carries the user's sessionVersion at launch: a password, role or active change ends it
 *   like the session that launched it;
 * - every request still goes through requirePool, so removing the user from the pool ends access
 *   at once.
 *
 * They start with `trbv_`, which the REST API's token lookup (`trb_` prefix) never accepts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../auth/actor';
import { db } from '../db';
import { key, redis } from '../redis';

export const VIEWER_TOKEN_PREFIX = 'trbv_';

export interface ViewerGrant {
  userId: string;
  poolId: string;
  /** Study Instance UIDs the token reaches; null = the whole pool. */
  studyUids: string[] | null;
  /** The API token that asked for the launch, if it was not a browser session. */
  parentTokenId: string | null;
}

interface StoredGrant extends ViewerGrant {
  /** User.sessionVersion when the token was made. */
  sessionVersion: number;
}

const redisKey = (token: string) => key('viewer-token', createHash('sha256').update(token).digest('hex'));

export async function createViewerToken(grant: ViewerGrant, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
  let ttl = ttlSeconds;
  if (grant.parentTokenId) {
    // Never outlive the token that minted it.
    const parent = await db.apiToken.findUnique({ where: { id: grant.parentTokenId }, select: { expiresAt: true } });
    if (parent?.expiresAt) ttl = Math.min(ttl, Math.floor((parent.expiresAt.getTime() - Date.now()) / 1000));
  }
  ttl = Math.max(1, ttl);
  const user = await db.user.findUniqueOrThrow({ where: { id: grant.userId }, select: { sessionVersion: true } });
  const stored: StoredGrant = { ...grant, sessionVersion: user.sessionVersion };
  const token = VIEWER_TOKEN_PREFIX + randomBytes(24).toString('base64url');
  await redis().set(redisKey(token), JSON.stringify(stored), 'EX', ttl);
  return { token, expiresAt: new Date(Date.now() + ttl * 1000) };
}

/** The caller behind a viewer token, or null (unknown, expired, user inactive, parent token gone). */
export async function actorFromViewerToken(token: string): Promise<{ actor: Actor; studyUids: string[] | null } | null> {
  if (!token.startsWith(VIEWER_TOKEN_PREFIX) || token.length > 200) return null;
  const raw = await redis().get(redisKey(token));
  if (!raw) return null;
  let grant: StoredGrant;
  try {
    grant = JSON.parse(raw) as StoredGrant;
  } catch {
    return null;
  }
  const user = await db.user.findUnique({ where: { id: grant.userId } });
  if (!user || !user.active || user.sessionVersion !== grant.sessionVersion) return null;
  if (grant.parentTokenId) {
    const parent = await db.apiToken.findUnique({ where: { id: grant.parentTokenId }, select: { revokedAt: true, expiresAt: true } });
    if (!parent || parent.revokedAt || (parent.expiresAt && parent.expiresAt.getTime() < Date.now())) return null;
  }
  return {
    // Scoped like a pool token: access.ts then allows this pool only, read-only.
    actor: { userId: user.id, email: user.email, name: user.name, role: user.role, tokenPoolId: grant.poolId, via: 'token' },
    studyUids: grant.studyUids,
  };
}
