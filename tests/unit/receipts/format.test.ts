import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize, fingerprintOf, keyIdOf, rawPublicKey, RECEIPT_FORMAT, signDocument, signedBytes, verifyReceiptDocument, type ReceiptDocument } from '@/lib/receipts/format';

function keyPair() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  return { privateKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

function makeReceipt(k = keyPair(), body: ReceiptDocument['body'] = { pool: { id: 'p1', name: 'Pool' }, instances: [{ sopInstanceUid: '2.25.1', sha256: 'ab'.repeat(32) }] }) {
  return signDocument(
    { format: RECEIPT_FORMAT, kind: 'export', issuedAt: '2026-12-07T05:30:00.000Z', installation: 'https://tributary.example', keyId: keyIdOf(k.publicKeyPem), publicKey: k.publicKeyPem, body },
    k.privateKey,
  );
}

describe('canonicalize (RFC 8785)', () => {
  it('sorts keys recursively, no whitespace, arrays keep order', () => {
    expect(canonicalize({ b: 1, a: [3, { z: null, y: true }], c: 'x' })).toBe('{"a":[3,{"y":true,"z":null}],"b":1,"c":"x"}');
  });
  it('sorts by UTF-16 code units and escapes like JSON.stringify', () => {
    // U+20AC (€) sorts after U+00E9 (é); the surrogate pair of U+1F600 (0xD83D) sorts before U+FB33.
    expect(canonicalize({ '€': 1, é: 2, '\u{1F600}': 3, '\uFB33': 4, a: 'line\n"q"\u0001' })).toBe(
      '{"a":"line\\n\\"q\\"\\u0001","é":2,"€":1,"\u{1F600}":3,"\uFB33":4}',
    );
  });
  it('serializes numbers like ECMAScript', () => {
    expect(canonicalize([1, -0, 1e21, 0.1, 100])).toBe('[1,0,1e+21,0.1,100]');
  });
  it('rejects values JSON cannot carry', () => {
    expect(() => canonicalize({ a: NaN })).toThrow(/non-finite/);
    expect(() => canonicalize({ a: new Date(0) })).toThrow(/plain objects/);
    expect(() => canonicalize([undefined])).toThrow();
  });
  it('drops undefined members like JSON.stringify', () => {
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
  it('the signed bytes exclude the signature and do not depend on member order', () => {
    const r = makeReceipt();
    const reordered = Object.fromEntries(Object.entries(r).reverse());
    expect(signedBytes(reordered).equals(signedBytes({ ...r, signature: 'x' }))).toBe(true);
    expect(signedBytes(r).toString()).not.toContain('signature');
  });
});

describe('key ids', () => {
  it('are the first 16 hex of SHA-256 of the raw public key', () => {
    const k = keyPair();
    const raw = rawPublicKey(k.publicKeyPem);
    expect(raw.length).toBe(32);
    // The raw key is also the JWK "x" value.
    expect(raw.toString('base64url')).toBe(crypto.createPublicKey(k.publicKeyPem).export({ format: 'jwk' }).x);
    expect(keyIdOf(k.publicKeyPem)).toBe(crypto.createHash('sha256').update(raw).digest('hex').slice(0, 16));
    expect(fingerprintOf(k.publicKeyPem).replace(/:/g, '').startsWith(keyIdOf(k.publicKeyPem))).toBe(true);
  });
  it('refuse keys that are not Ed25519', () => {
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(() => keyIdOf(rsa)).toThrow(/not an Ed25519 key/);
  });
});

describe('verifyReceiptDocument', () => {
  it('accepts an untouched receipt, also after a JSON round trip with reordered members', () => {
    const r = makeReceipt();
    const v = verifyReceiptDocument(JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(r).reverse()))));
    expect(v).toMatchObject({ ok: true, trusted: false, keyId: r.keyId });
    expect(v.reason).toMatch(/no key pinned/);
  });
  it('independent check: openssl-equivalent Ed25519 verification of the canonical bytes', () => {
    const r = makeReceipt();
    const { signature, ...rest } = r;
    expect(crypto.verify(null, Buffer.from(canonicalize(rest)), r.publicKey, Buffer.from(signature, 'base64'))).toBe(true);
  });
  it('rejects one changed byte in the body', () => {
    const r = makeReceipt();
    const changed = JSON.parse(JSON.stringify(r).replace('"sha256":"abab', '"sha256":"acab'));
    expect(changed.body.instances[0].sha256.startsWith('acab')).toBe(true);
    expect(verifyReceiptDocument(changed)).toMatchObject({ ok: false, reason: expect.stringMatching(/signature invalid/) });
  });
  it('rejects an added body member and a changed envelope field', () => {
    const r = makeReceipt();
    expect(verifyReceiptDocument({ ...r, body: { ...r.body, extra: 1 } }).ok).toBe(false);
    expect(verifyReceiptDocument({ ...r, issuedAt: '2026-12-07T05:30:01.000Z' }).ok).toBe(false);
    expect(verifyReceiptDocument({ ...r, installation: 'https://evil.example' }).ok).toBe(false);
  });
  it('rejects a forged signature', () => {
    const r = makeReceipt();
    const sig = Buffer.from(r.signature, 'base64');
    sig[10] ^= 1;
    expect(verifyReceiptDocument({ ...r, signature: sig.toString('base64') })).toMatchObject({ ok: false, reason: expect.stringMatching(/signature invalid/) });
    expect(verifyReceiptDocument({ ...r, signature: crypto.randomBytes(64).toString('base64') }).ok).toBe(false);
    expect(verifyReceiptDocument({ ...r, signature: '' }).ok).toBe(false);
  });
  it('rejects a signature by another key than the embedded one', () => {
    const r = makeReceipt();
    const other = keyPair();
    const { signature: _s, ...rest } = r;
    const resigned = signDocument(rest, other.privateKey);
    expect(verifyReceiptDocument(resigned).ok).toBe(false);
  });
  it('a receipt re-signed by another key with that key embedded verifies only without a pinned key', () => {
    const real = keyPair();
    const forger = keyPair();
    const r = makeReceipt(real);
    const { signature: _s, ...rest } = r;
    const forged = signDocument({ ...rest, keyId: keyIdOf(forger.publicKeyPem), publicKey: forger.publicKeyPem }, forger.privateKey);
    expect(verifyReceiptDocument(forged)).toMatchObject({ ok: true, trusted: false, keyId: keyIdOf(forger.publicKeyPem) });
    const pinned = verifyReceiptDocument(forged, { trustedPublicKeys: [real.publicKeyPem] });
    expect(pinned).toMatchObject({ ok: false, trusted: false });
    expect(pinned.reason).toMatch(/signature valid but not signed by the pinned key/);
    expect(verifyReceiptDocument(r, { trustedPublicKeys: [real.publicKeyPem] })).toMatchObject({ ok: true, trusted: true });
  });
  it('rejects a keyId that does not match the embedded key, and malformed documents', () => {
    const r = makeReceipt();
    expect(verifyReceiptDocument({ ...r, keyId: '0000000000000000' }).reason).toMatch(/does not match/);
    expect(verifyReceiptDocument({ ...r, format: 'tributary-receipt/2' }).ok).toBe(false);
    expect(verifyReceiptDocument({ ...r, publicKey: 'nope' }).reason).toMatch(/publicKey/);
    expect(verifyReceiptDocument([]).ok).toBe(false);
    expect(verifyReceiptDocument(null).ok).toBe(false);
  });
});
