/**
 * A third party verifies a receipt the way docs/exports.md tells them to, with no Tributary code:
 * the canonical bytes from Python's json.dumps (sort_keys, compact, UTF-8) and jq -cS, the
 * signature with `openssl pkeyutl -verify -rawin`, the key id from the SPKI DER.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { signReceipt, type ReceiptDocument } from '@/lib/receipts';

let tmp: string;
let doc: ReceiptDocument;

const PY_CANON = `import json,sys,base64
d=json.load(open(sys.argv[1],encoding='utf-8'))
sig=base64.b64decode(d.pop('signature'))
open(sys.argv[2],'wb').write(json.dumps(d,sort_keys=True,separators=(',',':'),ensure_ascii=False).encode('utf-8'))
open(sys.argv[3],'wb').write(sig)
open(sys.argv[4],'w').write(d['publicKey'])`;

function opensslVerify(signed: string, sig: string, pem: string) {
  return spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-rawin', '-in', signed, '-sigfile', sig], { encoding: 'utf8' });
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-receipt-3p-'));
  // Non-ASCII text, control characters, nesting, integers, null and booleans.
  ({ document: doc } = await signReceipt('purge', 'pool-3p', {
    pool: { id: 'pool-3p', name: 'Étude cœur € 研究 "quoted" \\ back\tslash\u0001' },
    counts: { instances: 12, bytes: 123456789 },
    flags: [true, false, null],
    zeta: 'last',
    Alpha: 'capital sorts first',
  }));
});

afterAll(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  await db.$disconnect();
});

describe('third-party verification (docs/exports.md)', () => {
  it('python canonical bytes + openssl verify the receipt; jq -cS gives the same bytes', async () => {
    const file = path.join(tmp, 'receipt.json');
    await fs.writeFile(file, JSON.stringify(doc, null, 2));
    const [signed, sig, pem] = ['signed.bin', 'signature.bin', 'key.pem'].map((f) => path.join(tmp, f));
    execFileSync('python3', ['-c', PY_CANON, file, signed, sig, pem]);
    const r = opensslVerify(signed, sig, pem);
    expect(r.stdout + r.stderr).toContain('Signature Verified Successfully');
    expect(r.status).toBe(0);
    const jq = execFileSync('jq', ['-cS', 'del(.signature)', file], { encoding: 'utf8' }).replace(/\n$/, '');
    expect(Buffer.from(jq, 'utf8').equals(await fs.readFile(signed))).toBe(true);
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER']);
    expect(crypto.createHash('sha256').update(der.subarray(-32)).digest('hex').slice(0, 16)).toBe(doc.keyId);
  });

  it('openssl refuses the receipt after one changed byte in the body', async () => {
    const file = path.join(tmp, 'changed.json');
    await fs.writeFile(file, JSON.stringify({ ...doc, body: { ...doc.body, counts: { instances: 13, bytes: 123456789 } } }));
    const [signed, sig, pem] = ['signed2.bin', 'signature2.bin', 'key2.pem'].map((f) => path.join(tmp, f));
    execFileSync('python3', ['-c', PY_CANON, file, signed, sig, pem]);
    const r = opensslVerify(signed, sig, pem);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Signature Verification Failure/);
  });
});
