/**
 * `tributary secrets rotate`, run as an operator would (a child process): every stored secret
 * encrypted under the previous key is re-encrypted under SECRETS_KEY, values already current are
 * left alone, and a value under a key that is neither is reported (exit 3), not lost.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { decryptSecret, encryptSecret, secretKeys } from '@/lib/secrets';
import { makeConnector, suffix } from '../../helpers/fixtures';

const BIN = path.resolve(import.meta.dirname, '..', '..', '..', 'bin', 'tributary.mjs');
const keyId = (k: Buffer) => crypto.createHash('sha256').update(k).digest('hex').slice(0, 8);

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const created: string[] = [];
afterAll(async () => {
  await db.cohortSource.deleteMany({ where: { id: { in: created } } });
});

describe('tributary secrets rotate', () => {
  it('re-encrypts every stored secret under the new key, and back', async () => {
    // The test process's own key (derived from TRIBUTARY_SECRET) plays the old key, so rows of
    // other test files in this database rotate too and are rotated back at the end.
    const old = secretKeys().current;
    const fresh = crypto.randomBytes(32);
    const { connector } = await makeConnector({ pacsAe: 'ROT', port: 9 });
    const base = { driver: 'POSTGRES' as const, host: '127.0.0.1', port: 5432, database: 'x', user: 'u', sql: 'SELECT 1 AS mrn', mapping: { patientId: 'mrn' }, connectorId: connector.id };
    const a = await db.cohortSource.create({ data: { ...base, name: `rot-a ${suffix()}`, password: encryptSecret('rotate-me-A', { current: old }) } });
    const b = await db.cohortSource.create({ data: { ...base, name: `rot-b ${suffix()}`, password: encryptSecret('already-new-B', { current: fresh }) } });
    created.push(a.id, b.id);
    const bBefore = b.password!;

    const r = cli(['secrets', 'rotate'], { SECRETS_KEY: fresh.toString('hex'), SECRETS_KEY_PREVIOUS: old.toString('hex') });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/CohortSource\.password\s+values=\d+ reencrypted=\d+ failed=0/);
    const a2 = await db.cohortSource.findUniqueOrThrow({ where: { id: a.id } });
    expect(a2.password!.split(':')[1]).toBe(keyId(fresh));
    expect(decryptSecret(a2.password!, { current: fresh })).toBe('rotate-me-A');
    expect(() => decryptSecret(a2.password!, { current: old })).toThrow();
    expect((await db.cohortSource.findUniqueOrThrow({ where: { id: b.id } })).password).toBe(bBefore);
    expect(await db.auditEvent.count({ where: { action: 'secrets.rotate' } })).toBeGreaterThan(0);

    // A value under a third key is reported, kept as it is, and the command exits 3.
    const lost = await db.cohortSource.create({ data: { ...base, name: `rot-c ${suffix()}`, password: encryptSecret('unknown-key-C', { current: crypto.randomBytes(32) }) } });
    created.push(lost.id);
    const back = cli(['secrets', 'rotate'], { SECRETS_KEY: old.toString('hex'), SECRETS_KEY_PREVIOUS: fresh.toString('hex') });
    expect(back.code).toBe(3);
    expect(back.err).toMatch(/1 secret\(s\) could not be decrypted/);
    expect((await db.cohortSource.findUniqueOrThrow({ where: { id: lost.id } })).password).toBe(lost.password);
    // Rotated back: this process (old key only) reads every value again.
    const a3 = await db.cohortSource.findUniqueOrThrow({ where: { id: a.id } });
    expect(decryptSecret(a3.password!)).toBe('rotate-me-A');
    expect(decryptSecret((await db.cohortSource.findUniqueOrThrow({ where: { id: b.id } })).password!)).toBe('already-new-B');
  });
});
