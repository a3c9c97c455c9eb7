/**
 * Sessions end when the account changes: a session JWT obtained by signing in (next-auth's
 * authorize + jwt callback, encoded as next-auth encodes its cookie) is refused on the next
 * request once the user's password, role or active state changed — not 8 hours later.
 */
import { encode } from 'next-auth/jwt';
import { describe, expect, it } from 'vitest';
import { getActor } from '@/lib/auth/actor';
import { authOptions } from '@/lib/auth/options';
import { actorFromViewerToken, createViewerToken } from '@/lib/dicomweb/viewer-tokens';
import { env } from '@/lib/env';
import { updateUser } from '@/lib/users/users';
import { GET as me } from '@/app/api/v1/me/route';
import { actorOf, makePool, makeUser } from '../../helpers/fixtures';

type Authorize = (c: Record<string, string>, req: { headers: Record<string, string> }) => Promise<{ id: string } | null>;
const authorize = (authOptions.providers[0] as unknown as { options: { authorize: Authorize } }).options.authorize;

/** Signs in as the browser would and returns the session cookie next-auth would set. */
async function signIn(email: string, password: string): Promise<string> {
  const user = await authorize({ email, password }, { headers: {} });
  expect(user).not.toBeNull();
  const jwtCallback = authOptions.callbacks!.jwt! as (p: { token: Record<string, unknown>; user: unknown }) => Promise<Record<string, unknown>>;
  const token = await jwtCallback({ token: { sub: user!.id, email }, user });
  return `next-auth.session-token=${await encode({ token, secret: env().TRIBUTARY_SECRET })}`;
}

const request = (cookie: string) => new Request('http://localhost/api/v1/me', { headers: { cookie } });
const meStatus = async (cookie: string) => (await me(request(cookie), { params: Promise.resolve({}) })).status;

describe('session version', () => {
  it('a password change ends the sessions signed in before it; a new sign-in works', async () => {
    const admin = await makeUser('ADMIN');
    const u = await makeUser('RESEARCHER');
    const cookie = await signIn(u.email, u.password);
    expect((await getActor(request(cookie)))?.userId).toBe(u.id);
    expect(await meStatus(cookie)).toBe(200);

    await updateUser(actorOf(admin), u.id, { password: 'a brand new password' });
    expect(await getActor(request(cookie))).toBeNull();
    expect(await meStatus(cookie)).toBe(401);

    const fresh = await signIn(u.email, 'a brand new password');
    expect(await meStatus(fresh)).toBe(200);
  });

  it('deactivation ends sessions, and reactivating does not bring the old ones back', async () => {
    const admin = await makeUser('ADMIN');
    const u = await makeUser('COORDINATOR');
    const cookie = await signIn(u.email, u.password);
    expect(await meStatus(cookie)).toBe(200);
    await updateUser(actorOf(admin), u.id, { active: false });
    expect(await meStatus(cookie)).toBe(401);
    await updateUser(actorOf(admin), u.id, { active: true });
    expect(await meStatus(cookie)).toBe(401);
  });

  it('a role change ends sessions; a name change does not', async () => {
    const admin = await makeUser('ADMIN');
    const u = await makeUser('COORDINATOR');
    const cookie = await signIn(u.email, u.password);
    await updateUser(actorOf(admin), u.id, { name: 'Renamed' });
    expect(await meStatus(cookie)).toBe(200);
    await updateUser(actorOf(admin), u.id, { role: 'RESEARCHER' });
    expect(await meStatus(cookie)).toBe(401);
  });

  it('a Weasis viewer token launched before a password change ends with the session', async () => {
    const admin = await makeUser('ADMIN');
    const u = await makeUser('RESEARCHER');
    const pool = await makePool({ members: [{ userId: u.id, role: 'RESEARCHER' }] });
    const { token } = await createViewerToken({ userId: u.id, poolId: pool.id, studyUids: null, parentTokenId: null }, 3600);
    expect((await actorFromViewerToken(token))?.actor.userId).toBe(u.id);
    await updateUser(actorOf(admin), u.id, { password: 'another new password' });
    expect(await actorFromViewerToken(token)).toBeNull();
  });

  it('refuses a session JWT without a session version (issued before versions existed, or forged without one)', async () => {
    const u = await makeUser('RESEARCHER');
    const jwt = await encode({ token: { sub: u.id, uid: u.id }, secret: env().TRIBUTARY_SECRET });
    expect(await meStatus(`next-auth.session-token=${jwt}`)).toBe(401);
  });
});
