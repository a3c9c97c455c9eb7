/**
 * Secrets at rest: connector passwords, OAuth2 client secrets, database passwords, TLS private
 * keys and exporter credentials are stored encrypted with AES-256-GCM under a key from
 * configuration (SECRETS_KEY, 32 bytes as 64 hex characters; in demo and test mode it is derived
 * from TRIBUTARY_SECRET when unset). They are write-only in the API and UI: callers get
 * `secretState()` ("set" / "not set"), never the value.
 *
 * Stored form: `v1:<keyId>:<iv b64url>:<tag b64url>:<ciphertext b64url>`, where keyId is the
 * first 8 hex characters of SHA-256(key). Rotation: set SECRETS_KEY to the new key and
 * SECRETS_KEY_PREVIOUS to the old one, then run `tributary secrets rotate` (or let values be
 * re-encrypted as they are next saved); values under either key decrypt meanwhile.
 *
 * Never log a decrypted value, never put one in job data or an audit row: decrypt at the moment
 * of use, inside lib/.
 */
import crypto from 'node:crypto';
import { env } from '../env';
import { AppError } from '../errors';

const PREFIX = 'v1';

export interface SecretKeys {
  current: Buffer;
  previous?: Buffer;
}

function parseKey(hex: string, name: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new AppError('INTERNAL', `${name} must be 64 hex characters (openssl rand -hex 32)`);
  return Buffer.from(hex, 'hex');
}

/** The keys from configuration (validated in lib/env.ts at start). */
export function secretKeys(): SecretKeys {
  const e = env();
  const current = e.SECRETS_KEY
    ? parseKey(e.SECRETS_KEY, 'SECRETS_KEY')
    : crypto.createHash('sha256').update(`tributary-secrets:${e.TRIBUTARY_SECRET}`).digest();
  const previous = e.SECRETS_KEY_PREVIOUS ? parseKey(e.SECRETS_KEY_PREVIOUS, 'SECRETS_KEY_PREVIOUS') : undefined;
  return { current, previous };
}

const keyId = (k: Buffer) => crypto.createHash('sha256').update(k).digest('hex').slice(0, 8);

export function encryptSecret(plain: string, keys: SecretKeys = secretKeys()): string {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', keys.current, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return [PREFIX, keyId(keys.current), iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
}

export class SecretDecryptError extends Error {
  readonly code = 'SECRET_DECRYPT';
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptError';
  }
}

export function isEncryptedSecret(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(`${PREFIX}:`) && v.split(':').length === 5;
}

export function decryptSecret(stored: string, keys: SecretKeys = secretKeys()): string {
  if (!isEncryptedSecret(stored)) throw new SecretDecryptError('not an encrypted secret');
  const [, kid, iv, tag, ct] = stored.split(':');
  const key = [keys.current, keys.previous].find((k) => k && keyId(k) === kid);
  if (!key) throw new SecretDecryptError('the secret was encrypted under a key that is not configured (SECRETS_KEY / SECRETS_KEY_PREVIOUS)');
  try {
    const d = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptError('the secret could not be decrypted (wrong key or altered value)');
  }
}

/** Re-encrypts under the current key when the value was encrypted under the previous one. */
export function reencryptSecret(stored: string, keys: SecretKeys = secretKeys()): string | null {
  if (!isEncryptedSecret(stored)) return null;
  if (stored.split(':')[1] === keyId(keys.current)) return null;
  return encryptSecret(decryptSecret(stored, keys), keys);
}

/** What the API and UI show for a secret field: never the value. */
export const secretState = (stored: string | null | undefined): 'set' | 'not set' => (stored ? 'set' : 'not set');

/**
 * Applies a write-only secret field from a form or API body: `undefined` keeps the stored value,
 * `null` or "" clears it, a string replaces it (encrypted).
 */
export function nextSecret(stored: string | null | undefined, input: string | null | undefined): string | null {
  if (input === undefined) return stored ?? null;
  if (input === null || input === '') return null;
  return encryptSecret(input);
}
