/**
 * Passwords are hashed with OWASP's scrypt parameters (N=2^17, r=8, p=1), the parameters stored
 * with the hash; a hash made with weaker ones (the former N=2^14) is replaced at the next
 * successful sign-in, and only then.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authOptions } from '@/lib/auth/options';
import { hashPassword, needsRehash, SCRYPT_PARAMS, verifyPassword } from '@/lib/auth/password';
import { db } from '@/lib/db';
import { makeUser } from '../../helpers/fixtures';

type Authorize = (c: Record<string, string>, req: { headers: Record<string, string> }) => Promise<unknown>;
const authorize = (authOptions.providers[0] as unknown as { options: { authorize: Authorize } }).options.authorize;

/** A hash as the previous version stored it (N=2^14). */
function legacyHash(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N: 16384, r: 8, p: 1 });
  return `scrypt$16384$8$1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

describe('password hashing', () => {
  it('hashes with N=2^17, r=8, p=1 and stores the parameters', async () => {
    expect(SCRYPT_PARAMS).toEqual({ N: 131072, r: 8, p: 1 });
    const h = await hashPassword('correct horse battery');
    expect(h).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h)).toBe(false);
    expect(needsRehash(h)).toBe(false);
    expect(needsRehash(legacyHash('x'))).toBe(true);
    // A tampered row asking for absurd parameters is refused, not computed.
    expect(await verifyPassword('x', h.replace('$131072$', '$1073741824$'))).toBe(false);
  });

  it('re-hashes a weaker stored hash at the next successful sign-in, not at a failed one', async () => {
    const u = await makeUser('RESEARCHER');
    const old = legacyHash(u.password);
    await db.user.update({ where: { id: u.id }, data: { passwordHash: old } });

    expect(await authorize({ email: u.email, password: 'not the password' }, { headers: {} })).toBeNull();
    expect((await db.user.findUniqueOrThrow({ where: { id: u.id } })).passwordHash).toBe(old);

    const before = (await db.user.findUniqueOrThrow({ where: { id: u.id } })).sessionVersion;
    expect(await authorize({ email: u.email, password: u.password }, { headers: {} })).toMatchObject({ id: u.id });
    const after = await db.user.findUniqueOrThrow({ where: { id: u.id } });
    expect(after.passwordHash).not.toBe(old);
    expect(after.passwordHash.startsWith('scrypt$131072$8$1$')).toBe(true);
    expect(await verifyPassword(u.password, after.passwordHash)).toBe(true);
    // Same password: the user's sessions go on.
    expect(after.sessionVersion).toBe(before);
    // And the next sign-in works with the new hash and leaves it alone.
    expect(await authorize({ email: u.email, password: u.password }, { headers: {} })).toMatchObject({ id: u.id });
    expect((await db.user.findUniqueOrThrow({ where: { id: u.id } })).passwordHash).toBe(after.passwordHash);
  });
});
