/**
 * Password hashing with scrypt from node:crypto (no native dependency).
 * Stored form: scrypt$N$r$p$<salt b64>$<hash b64>; parameters travel with the hash, so they can be
 * raised without invalidating old passwords: a hash made with weaker parameters than today's is
 * replaced at the next successful sign-in (needsRehash, lib/auth/options.ts).
 *
 * Parameters: OWASP Password Storage Cheat Sheet, scrypt N=2^17, r=8, p=1. That needs
 * 128·N·r = 128 MiB per hash; Node refuses above `maxmem` (32 MiB by default), so maxmem is set
 * just above it. libuv runs at most UV_THREADPOOL_SIZE (4) hashes at once, so concurrent
 * sign-ins cost at most ~0.5 GiB, and the sign-in rate limit bounds how often.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEYLEN = 32;
/** Hashes with a larger cost than this are refused rather than computed (a tampered row must not exhaust memory). */
const MAX_N = 2 ** 20;

const maxmemFor = (N: number, r: number) => 128 * N * r + 16 * 1024 * 1024;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export { PASSWORD_MIN_LENGTH } from '../users/schema';

export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = SCRYPT_PARAMS;
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEYLEN, { N, r, p, maxmem: maxmemFor(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function parse(stored: string): { N: number; r: number; p: number; salt: Buffer; hash: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, n, r, p, saltB64, hashB64] = parts;
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (![N, R, P].every(Number.isSafeInteger) || N < 2 || N > MAX_N || R < 1 || R > 32 || P < 1 || P > 16) return null;
  return { N, r: R, p: P, salt: Buffer.from(saltB64, 'base64'), hash: Buffer.from(hashB64, 'base64') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parse(stored);
  if (!h || h.hash.length === 0) return false;
  const actual = await scrypt(password, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: maxmemFor(h.N, h.r) });
  return actual.length === h.hash.length && timingSafeEqual(actual, h.hash);
}

/** True when the stored hash was made with weaker parameters than SCRYPT_PARAMS (or is not ours). */
export function needsRehash(stored: string): boolean {
  const h = parse(stored);
  if (!h) return true;
  return h.N < SCRYPT_PARAMS.N || h.r < SCRYPT_PARAMS.r || h.p < SCRYPT_PARAMS.p || h.hash.length < KEYLEN;
}

/** A constant-cost dummy verification so unknown users take as long as known ones (same parameters as a fresh hash). */
const DUMMY = `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;
export async function verifyDummy(password: string): Promise<false> {
  await verifyPassword(password, DUMMY);
  return false;
}
