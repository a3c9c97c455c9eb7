import { describe, expect, it } from 'vitest';
import { checkSignIn, reset } from '@/lib/auth/rate-limit';
import { authOptions } from '@/lib/auth/options';
import { makeUser } from '../helpers/fixtures';

type Authorize = (c: Record<string, string>, req: { headers: Record<string, string> }) => Promise<unknown>;
const authorize = (authOptions.providers[0] as unknown as { options: { authorize: Authorize } }).options.authorize;

describe('sign-in', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const u = await makeUser('RESEARCHER');
    expect(await authorize({ email: u.email, password: u.password }, { headers: { 'x-forwarded-for': '10.0.0.1' } })).toMatchObject({ id: u.id });
    expect(await authorize({ email: u.email, password: 'wrong password!' }, { headers: { 'x-forwarded-for': '10.0.0.1' } })).toBeNull();
    expect(await authorize({ email: 'nobody@test.local', password: 'whatever123' }, { headers: {} })).toBeNull();
  });

  it('is rate-limited per account: after the limit even the right password is refused', async () => {
    const u = await makeUser('RESEARCHER');
    for (let i = 0; i < 10; i++) await authorize({ email: u.email, password: `wrong ${i} attempt` }, { headers: { 'x-forwarded-for': '10.0.0.2' } });
    await expect(authorize({ email: u.email, password: u.password }, { headers: { 'x-forwarded-for': '10.0.0.2' } })).rejects.toThrow(/Too many sign-in attempts/);
    await reset('signin-account', u.email);
  });

  it('counts per client address across accounts', async () => {
    const ip = `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    let last = { allowed: true, retryAfter: 0 };
    for (let i = 0; i < 51; i++) last = await checkSignIn(`user${i}@spray.test`, ip);
    expect(last.allowed).toBe(false);
    expect(last.retryAfter).toBeGreaterThan(0);
  });
});
