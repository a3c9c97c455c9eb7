/**
 * Fixed-window rate limit in Redis, used for sign-in (per account and per client address).
 * Keys are hashes so no e-mail address is stored in Redis.
 */
import { createHash } from 'node:crypto';
import { env } from '../env';
import { key, redis } from '../redis';

function k(kind: string, value: string) {
  return key('ratelimit', kind, createHash('sha256').update(value.toLowerCase()).digest('hex').slice(0, 32));
}

export async function hit(kind: string, value: string, max: number, windowSeconds: number): Promise<{ allowed: boolean; retryAfter: number }> {
  const r = redis();
  const rk = k(kind, value);
  const n = await r.incr(rk);
  if (n === 1) await r.expire(rk, windowSeconds);
  if (n > max) {
    const ttl = await r.ttl(rk);
    return { allowed: false, retryAfter: ttl > 0 ? ttl : windowSeconds };
  }
  return { allowed: true, retryAfter: 0 };
}

export async function reset(kind: string, value: string) {
  await redis().del(k(kind, value));
}

/**
 * Sign-in: at most SIGNIN_MAX_ATTEMPTS per account and 5x that per client address, per window.
 * `ip` null: the address is not known (lib/auth/client-address.ts); then only the account is
 * counted — one shared "unknown" bucket would let anyone lock everybody out.
 */
export async function checkSignIn(email: string, ip: string | null) {
  const { SIGNIN_MAX_ATTEMPTS: max, SIGNIN_WINDOW_SECONDS: win } = env();
  const a = await hit('signin-account', email, max, win);
  const b = ip ? await hit('signin-ip', ip, max * 5, win) : { allowed: true, retryAfter: 0 };
  return { allowed: a.allowed && b.allowed, retryAfter: Math.max(a.retryAfter, b.retryAfter) };
}
