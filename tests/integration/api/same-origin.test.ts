/**
 * Cross-site request forgery: a page on another site can make the browser send a signed-in
 * user's session cookie with a POST, but not an Origin of ours. State-changing requests that
 * authenticate by cookie must name PUBLIC_URL's origin (Origin, or Referer when Origin is absent);
 * bearer tokens, which no foreign page can attach, are exempt; reads are untouched.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call, publicOrigin, sessionCookie } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';
import { dw } from '../dicomweb/helpers';

let userId: string;
let cookie: string;
let token: string;
let poolId: string;
const EVIL = 'https://evil.example';

const tokenCount = () => db.apiToken.count({ where: { userId } });
const message = (json: unknown) => (json as { error?: { message: string } }).error?.message ?? '';

beforeAll(async () => {
  const u = await makeUser('COORDINATOR');
  userId = u.id;
  poolId = (await makePool({ members: [{ userId: u.id, role: 'OWNER' }] })).id;
  cookie = await sessionCookie(u.id);
  token = (await createApiToken({ userId: u.id, name: 'script' })).token;
});

describe('state-changing requests authenticated by the session cookie', () => {
  it('are refused (403) from another origin, and change nothing', async () => {
    const before = await tokenCount();
    const res = await call(api.createToken, {}, { cookie, origin: EVIL, body: { name: 'planted' } });
    expect(res.status).toBe(403);
    expect(message(res.json)).toMatch(/another site/);
    expect(await tokenCount()).toBe(before);

    // Origin: null (sandboxed iframe) is not ours either.
    expect((await call(api.createToken, {}, { cookie, origin: 'null', body: { name: 'planted' } })).status).toBe(403);
    // Same host, other scheme or port: another origin.
    const other = new URL(publicOrigin());
    other.port = String(Number(other.port || 80) + 1);
    expect((await call(api.createToken, {}, { cookie, origin: other.origin, body: { name: 'planted' } })).status).toBe(403);
    expect(await tokenCount()).toBe(before);
  });

  it('are refused (403) with neither Origin nor Referer, or with a foreign Referer', async () => {
    const before = await tokenCount();
    const none = await call(api.createToken, {}, { cookie, origin: null, body: { name: 'planted' } });
    expect(none.status).toBe(403);
    expect(message(none.json)).toMatch(/no Origin or Referer/);
    const ref = await call(api.createToken, {}, { cookie, origin: null, headers: { referer: `${EVIL}/page` }, body: { name: 'planted' } });
    expect(ref.status).toBe(403);
    // DELETE and PATCH too.
    const own = await db.apiToken.findFirstOrThrow({ where: { userId } });
    expect((await call(api.revokeToken, { id: own.id }, { cookie, origin: EVIL })).status).toBe(403);
    expect((await db.apiToken.findUniqueOrThrow({ where: { id: own.id } })).revokedAt).toBeNull();
    expect(await tokenCount()).toBe(before);
  });

  it('are refused at DICOMweb STOW-RS from another origin, before the body is read', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(ctrl) {
          pulled += 1024;
          ctrl.enqueue(new Uint8Array(1024));
        },
      },
      { highWaterMark: 0 },
    );
    const res = await dw('POST', `/dicomweb/${poolId}/studies`, {
      headers: { cookie, origin: EVIL, 'content-type': 'multipart/related; type="application/dicom"; boundary=x' },
      body,
    });
    expect(res.status).toBe(403);
    expect(pulled).toBe(0);
  });

  it('are accepted from our own origin (Origin, or Referer when Origin is absent)', async () => {
    const before = await tokenCount();
    const res = await call(api.createToken, {}, { cookie, body: { name: 'from the page' } });
    expect(res.status, res.text).toBe(201);
    const ref = await call(api.createToken, {}, { cookie, origin: null, headers: { referer: `${publicOrigin()}/account` }, body: { name: 'from an old browser' } });
    expect(ref.status, ref.text).toBe(201);
    expect(await tokenCount()).toBe(before + 2);
  });

  it('reads (GET) are not affected', async () => {
    const res = await call(api.listTokens, {}, { cookie, origin: EVIL });
    expect(res.status).toBe(200);
  });
});

describe('bearer tokens are not ambient credentials', () => {
  it('change state without any Origin (scripts), and whatever Origin they carry', async () => {
    const a = await call(api.updatePool, { id: poolId }, { token, body: { description: 'from a script' } });
    expect(a.status, a.text).toBe(200);
    const b = await call(api.updatePool, { id: poolId }, { token, origin: EVIL, body: { description: 'from a viewer elsewhere' } });
    expect(b.status, b.text).toBe(200);
  });
});
