/**
 * Stable per-pool pseudonyms and date offsets, derived from the pool secret and the source MRN.
 * Pure functions (no database): used by research identity resolution (lib/pools/identity.ts) and
 * by `tributary anonymize --rules` with a secret of its own.
 */
import { createHmac } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: no I, L, O, U

function hmac(secret: string, ...parts: string[]): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'hex')).update(parts.join('\u0000')).digest();
}

/** "TRB-" + 10 Crockford base32 characters of HMAC(secret, "pseudonym", MRN). */
export function pseudonymFor(secret: string, sourcePatientId: string): string {
  const h = hmac(secret, 'pseudonym', sourcePatientId);
  let out = '';
  for (let i = 0; i < 10; i++) out += ALPHABET[h[i] % 32];
  return `TRB-${out}`;
}

/** Offset in days, in [-365, -1] ∪ [1, 365]: never zero, so shifted dates never equal real ones. */
export function dateOffsetFor(secret: string, sourcePatientId: string): number {
  const n = hmac(secret, 'date-offset', sourcePatientId).readUInt32BE(0) % 730;
  return n < 365 ? -(n + 1) : n - 364;
}
