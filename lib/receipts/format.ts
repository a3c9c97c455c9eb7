/**
 * Receipt format `tributary-receipt/1`: canonical serialization, key ids, signing and
 * verification. Pure (no database, no configuration): the CLI's `receipt verify` and third
 * parties need only this file's rules, written out in docs/exports.md ("Receipts").
 *
 * Canonical form: RFC 8785 JSON Canonicalization Scheme (JCS) — object members sorted by their
 * names compared as UTF-16 code unit sequences, no whitespace, strings and numbers serialized as
 * ECMAScript JSON.stringify does (receipts contain only strings, integers, booleans and null).
 * The signature is Ed25519 (RFC 8032, pure) over the UTF-8 bytes of JCS(document without its
 * `signature` member), base64 (standard alphabet, padded).
 * Key id: the first 16 hex characters of SHA-256 of the raw 32-byte Ed25519 public key.
 */
import crypto from 'node:crypto';

export const RECEIPT_FORMAT = 'tributary-receipt/1';
export type ReceiptKind = 'export' | 'purge';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface ReceiptDocument {
  format: typeof RECEIPT_FORMAT;
  kind: ReceiptKind;
  /** ISO 8601 UTC, e.g. 2026-12-07T05:30:00.000Z */
  issuedAt: string;
  /** The installation's PUBLIC_URL. */
  installation: string;
  keyId: string;
  /** SPKI PEM of the signing key. */
  publicKey: string;
  body: { [k: string]: Json };
  signature: string;
}

/** RFC 8785 canonical JSON. Throws on values JSON cannot represent (undefined, NaN, functions…). */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalize: non-finite number');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalize(v)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError('canonicalize: only plain objects');
      const obj = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 requires.
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(obj[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalize: cannot serialize a ${typeof value}`);
  }
}

/** The bytes that are signed: JCS of the document without `signature`. */
export function signedBytes(doc: object): Buffer {
  const rest = { ...doc } as Record<string, unknown>;
  delete rest.signature;
  return Buffer.from(canonicalize(rest), 'utf8');
}

/** Raw 32-byte Ed25519 public key of a PEM/KeyObject; throws if it is not Ed25519. */
export function rawPublicKey(key: string | crypto.KeyObject): Buffer {
  const k = typeof key === 'string' ? crypto.createPublicKey(key) : key;
  if (k.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${k.asymmetricKeyType ?? k.type})`);
  const der = k.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

export function keyIdOf(publicKey: string | crypto.KeyObject): string {
  return crypto.createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

/** Fingerprint for people: the full SHA-256 of the raw public key, hex in colon-separated pairs. */
export function fingerprintOf(publicKey: string | crypto.KeyObject): string {
  return crypto.createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').match(/../g)!.join(':');
}

/** Signs `unsigned` (everything but `signature`) with an Ed25519 private key. */
export function signDocument(unsigned: Omit<ReceiptDocument, 'signature'>, privateKey: crypto.KeyObject | string): ReceiptDocument {
  const sig = crypto.sign(null, signedBytes(unsigned), privateKey);
  return { ...unsigned, signature: sig.toString('base64') };
}

export interface VerifyResult {
  ok: boolean;
  /** Why not ok; or, when ok but no trusted key was given, a note that nothing was pinned. */
  reason?: string;
  /** Key id computed from the embedded public key (not the `keyId` field, which is only checked). */
  keyId?: string;
  /** True when the embedded key equals one of `trustedPublicKeys`. */
  trusted?: boolean;
}

/**
 * Verifies a receipt with the public key it carries. Without `trustedPublicKeys` a valid result
 * only means "signed by the key in the document" — anyone can make such a document with their own
 * key; pin the installation's key (`--key`) for a statement about who signed it. With
 * `trustedPublicKeys`, a document signed by any other key is not ok.
 */
export function verifyReceiptDocument(doc: unknown, opts: { trustedPublicKeys?: string[] } = {}): VerifyResult {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, reason: 'not a JSON object' };
  const d = doc as Record<string, unknown>;
  if (d.format !== RECEIPT_FORMAT) return { ok: false, reason: `unknown format ${JSON.stringify(d.format)} (expected ${RECEIPT_FORMAT})` };
  if (d.kind !== 'export' && d.kind !== 'purge') return { ok: false, reason: 'kind must be "export" or "purge"' };
  for (const f of ['issuedAt', 'installation', 'keyId', 'publicKey', 'signature'] as const)
    if (typeof d[f] !== 'string') return { ok: false, reason: `${f} missing or not a string` };
  if (!d.body || typeof d.body !== 'object' || Array.isArray(d.body)) return { ok: false, reason: 'body missing or not an object' };
  let pub: crypto.KeyObject;
  let keyId: string;
  try {
    pub = crypto.createPublicKey(d.publicKey as string);
    keyId = keyIdOf(pub);
  } catch (e) {
    return { ok: false, reason: `publicKey: ${e instanceof Error ? e.message : 'unreadable'}` };
  }
  if (keyId !== d.keyId) return { ok: false, keyId, reason: `keyId ${String(d.keyId)} does not match the embedded public key (${keyId})` };
  const sig = Buffer.from(d.signature as string, 'base64');
  let bytes: Buffer;
  try {
    bytes = signedBytes(d);
  } catch (e) {
    return { ok: false, keyId, reason: e instanceof Error ? e.message : 'not canonicalizable' };
  }
  if (sig.length !== 64 || !crypto.verify(null, bytes, pub, sig)) return { ok: false, keyId, reason: 'signature invalid: the document was altered or not signed by its key' };
  if (!opts.trustedPublicKeys) return { ok: true, keyId, trusted: false, reason: 'signature valid for the key in the document; no key pinned' };
  let trusted: Buffer[];
  try {
    trusted = opts.trustedPublicKeys.map((k) => rawPublicKey(k));
  } catch (e) {
    return { ok: false, keyId, reason: `trusted key: ${e instanceof Error ? e.message : 'unreadable'}` };
  }
  const raw = rawPublicKey(pub);
  // Compare the whole key, not the (64-bit) key id.
  const trustedIds = opts.trustedPublicKeys.map((k) => keyIdOf(k));
  if (!trusted.some((t) => t.equals(raw)))
    return { ok: false, keyId, trusted: false, reason: `signature valid but not signed by the pinned key (signed by ${keyId}, pinned ${trustedIds.join(', ')})` };
  return { ok: true, keyId, trusted: true };
}
