/**
 * Signed receipts (issue 12): the installation's Ed25519 signing key and the Receipt store.
 * Format and verification rules: ./format.ts and docs/exports.md ("Receipts").
 *
 * The key pair is created on first use and kept in SigningKey, the private key encrypted with
 * lib/secrets (re-encrypted by `tributary secrets rotate`). Exactly one key is active: the
 * `active` column is unique, so when two processes create the first key at once, one insert
 * wins and the other reads the winner's key.
 */
import crypto from 'node:crypto';
import { db, Prisma } from '../db';
import { env } from '../env';
import { decryptSecret, encryptSecret } from '../secrets';
import { fingerprintOf, keyIdOf, RECEIPT_FORMAT, signDocument, type Json, type ReceiptDocument, type ReceiptKind } from './format';

export { canonicalize, fingerprintOf, keyIdOf, verifyReceiptDocument, RECEIPT_FORMAT } from './format';
export type { ReceiptDocument, ReceiptKind, VerifyResult, Json } from './format';

export interface InstallationKey {
  keyId: string;
  publicKeyPem: string;
  /** SHA-256 of the raw public key, hex pairs separated by colons. */
  fingerprint: string;
  createdAt: Date;
}

interface ActiveKey extends InstallationKey {
  privateKey: crypto.KeyObject;
}

async function activeKey(): Promise<ActiveKey> {
  for (let i = 0; i < 3; i++) {
    const row = await db.signingKey.findUnique({ where: { active: true } });
    if (row) {
      return {
        keyId: row.id,
        publicKeyPem: row.publicKeyPem,
        fingerprint: fingerprintOf(row.publicKeyPem),
        createdAt: row.createdAt,
        privateKey: crypto.createPrivateKey(decryptSecret(row.privateKey)),
      };
    }
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    try {
      await db.signingKey.create({ data: { id: keyIdOf(publicKey), publicKeyPem, privateKey: encryptSecret(privatePem), active: true } });
    } catch (e) {
      // Another process created the active key first: read it on the next turn.
      if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') continue;
      throw e;
    }
  }
  throw new Error('could not create or read the receipt signing key');
}

/** The installation's public key (created on first use), for the admin page and the API. */
export async function installationPublicKey(): Promise<InstallationKey> {
  const { privateKey: _p, ...pub } = await activeKey();
  return pub;
}

/** Retires the active key; the next receipt creates a new one. Old receipts keep verifying with their embedded key. */
export async function retireSigningKey(): Promise<void> {
  await db.signingKey.updateMany({ where: { active: true }, data: { active: null, retiredAt: new Date() } });
}

/**
 * Signs and stores a receipt. `body` must be JSON (strings, integers, booleans, null, arrays,
 * plain objects). With `refs.exportId` + `refs.attempt` the receipt is unique per export attempt:
 * a second call for the same attempt returns the stored receipt unchanged.
 */
export async function signReceipt(
  kind: ReceiptKind,
  poolId: string,
  body: { [k: string]: Json },
  refs: { exportId?: string; attempt?: number } = {},
): Promise<{ id: string; document: ReceiptDocument }> {
  if (refs.exportId && refs.attempt !== undefined) {
    const existing = await db.receipt.findUnique({ where: { exportId_attempt: { exportId: refs.exportId, attempt: refs.attempt } } });
    if (existing) return { id: existing.id, document: existing.document as unknown as ReceiptDocument };
  }
  const key = await activeKey();
  const document = signDocument(
    {
      format: RECEIPT_FORMAT,
      kind,
      issuedAt: new Date().toISOString(),
      installation: env().PUBLIC_URL,
      keyId: key.keyId,
      publicKey: key.publicKeyPem,
      body,
    },
    key.privateKey,
  );
  try {
    const row = await db.receipt.create({
      data: { kind, poolId, exportId: refs.exportId ?? null, attempt: refs.attempt ?? null, document: document as unknown as Prisma.InputJsonValue },
    });
    return { id: row.id, document };
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002' && refs.exportId && refs.attempt !== undefined) {
      const existing = await db.receipt.findUniqueOrThrow({ where: { exportId_attempt: { exportId: refs.exportId, attempt: refs.attempt } } });
      return { id: existing.id, document: existing.document as unknown as ReceiptDocument };
    }
    throw e;
  }
}
