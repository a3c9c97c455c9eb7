/**
 * Receipt signing core against the database: the key is created once (also when several
 * processes race), its private key is stored encrypted, receipts verify, and one receipt is kept
 * per export attempt.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { installationPublicKey, retireSigningKey, signReceipt, verifyReceiptDocument } from '@/lib/receipts';
import { decryptSecret, isEncryptedSecret } from '@/lib/secrets';
import { STORED_SECRETS } from '@/lib/secrets/rotate';

beforeAll(async () => {
  await db.signingKey.deleteMany();
});
afterAll(async () => {
  await db.$disconnect();
});

describe('signing key', () => {
  it('concurrent first use ends with exactly one active key', async () => {
    expect(await db.signingKey.count()).toBe(0);
    // Each call runs on its own pooled connection: all see no key, all generate one, one insert wins.
    const keys = await Promise.all(Array.from({ length: 6 }, () => installationPublicKey()));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
    expect(await db.signingKey.count()).toBe(1);
    expect(await db.signingKey.count({ where: { active: true } })).toBe(1);
    expect(keys[0].fingerprint.replace(/:/g, '')).toHaveLength(64);
  });

  it('stores the private key encrypted (lib/secrets), listed for rotation', async () => {
    const row = await db.signingKey.findUniqueOrThrow({ where: { active: true } });
    expect(isEncryptedSecret(row.privateKey)).toBe(true);
    expect(row.privateKey).not.toContain('PRIVATE KEY');
    expect(decryptSecret(row.privateKey)).toContain('BEGIN PRIVATE KEY');
    expect(STORED_SECRETS).toContainEqual({ table: 'SigningKey', column: 'privateKey' });
  });
});

describe('signReceipt', () => {
  it('issues a verifiable receipt and stores it', async () => {
    const key = await installationPublicKey();
    const { id, document } = await signReceipt('purge', 'pool-x', { pool: { id: 'pool-x', name: 'Gone' }, instances: 3 });
    expect(document).toMatchObject({ format: 'tributary-receipt/1', kind: 'purge', keyId: key.keyId, publicKey: key.publicKeyPem, body: { instances: 3 } });
    expect(verifyReceiptDocument(document, { trustedPublicKeys: [key.publicKeyPem] })).toMatchObject({ ok: true, trusted: true });
    const row = await db.receipt.findUniqueOrThrow({ where: { id } });
    // The stored JSONB (members reordered by PostgreSQL) still verifies.
    expect(verifyReceiptDocument(row.document)).toMatchObject({ ok: true });
  });

  it('keeps one receipt per export attempt, also when issued concurrently', async () => {
    const exportId = `exp-${crypto.randomBytes(4).toString('hex')}`;
    const all = await Promise.all(Array.from({ length: 4 }, () => signReceipt('export', 'pool-y', { n: 1 }, { exportId, attempt: 1 })));
    expect(new Set(all.map((r) => r.id)).size).toBe(1);
    const second = await signReceipt('export', 'pool-y', { n: 2 }, { exportId, attempt: 2 });
    expect(second.id).not.toBe(all[0].id);
    expect(await db.receipt.count({ where: { exportId } })).toBe(2);
  });

  it('after retiring the key, a new key signs; old receipts still verify with their embedded key', async () => {
    const old = await installationPublicKey();
    const before = await signReceipt('purge', 'pool-z', { a: 1 });
    await retireSigningKey();
    const now = await installationPublicKey();
    expect(now.keyId).not.toBe(old.keyId);
    const after = await signReceipt('purge', 'pool-z', { a: 2 });
    expect(after.document.keyId).toBe(now.keyId);
    expect(verifyReceiptDocument(before.document, { trustedPublicKeys: [old.publicKeyPem] }).ok).toBe(true);
    expect(verifyReceiptDocument(before.document, { trustedPublicKeys: [now.publicKeyPem] }).ok).toBe(false);
    expect(await db.signingKey.count({ where: { active: true } })).toBe(1);
    expect(await db.signingKey.count({ where: { id: old.keyId, retiredAt: { not: null } } })).toBe(1);
  });
});
