import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, isEncryptedSecret, nextSecret, reencryptSecret, SecretDecryptError, secretState } from '@/lib/secrets';

const k = () => crypto.randomBytes(32);

describe('secrets at rest (AES-256-GCM)', () => {
  it('round-trips, and the stored form holds no trace of the value', () => {
    const keys = { current: k() };
    const s = encryptSecret('hunter2-password', keys);
    expect(isEncryptedSecret(s)).toBe(true);
    expect(s).not.toContain('hunter2');
    expect(Buffer.from(s.split(':')[4], 'base64url').toString('latin1')).not.toContain('hunter2');
    expect(decryptSecret(s, keys)).toBe('hunter2-password');
    expect(encryptSecret('hunter2-password', keys)).not.toBe(s); // fresh IV each time
  });

  it('refuses an altered value and the wrong key', () => {
    const keys = { current: k() };
    const s = encryptSecret('value', keys);
    const parts = s.split(':');
    const ct = Buffer.from(parts[4], 'base64url');
    ct[0] ^= 1;
    parts[4] = ct.toString('base64url');
    expect(() => decryptSecret(parts.join(':'), keys)).toThrow(SecretDecryptError);
    expect(() => decryptSecret(s, { current: k() })).toThrow(/key that is not configured/);
    expect(() => decryptSecret('plain', keys)).toThrow(SecretDecryptError);
  });

  it('rotates: the previous key still decrypts, and re-encryption moves values to the current key', () => {
    const old = k();
    const s = encryptSecret('rotate-me', { current: old });
    const keys = { current: k(), previous: old };
    expect(decryptSecret(s, keys)).toBe('rotate-me');
    const r = reencryptSecret(s, keys)!;
    expect(r).not.toBeNull();
    expect(decryptSecret(r, { current: keys.current })).toBe('rotate-me');
    expect(reencryptSecret(r, keys)).toBeNull();
  });

  it('is write-only: the state says "set", a missing field keeps, "" clears', () => {
    expect(secretState('v1:x')).toBe('set');
    expect(secretState(null)).toBe('not set');
    expect(nextSecret('v1:old', undefined)).toBe('v1:old');
    expect(nextSecret('v1:old', '')).toBeNull();
    expect(isEncryptedSecret(nextSecret(null, 'new'))).toBe(true);
  });
});
