/**
 * API tokens expire: API_TOKEN_DEFAULT_DAYS (90) unless the creator chose 1–365 days; an expired
 * token is refused; its last use is recorded (at most once a minute) and listed.
 */
import { describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { findActiveToken, LAST_USED_WRITE_INTERVAL_MS } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { env } from '@/lib/env';
import { createToken } from '@/lib/users/tokens';
import { call } from '../../helpers/api';
import { actorOf, makeUser } from '../../helpers/fixtures';

const DAY = 86400_000;

describe('API token lifetime', () => {
  it('gets the default lifetime when none is chosen, and the chosen one otherwise', async () => {
    expect(env().API_TOKEN_DEFAULT_DAYS).toBe(90);
    const u = await makeUser('RESEARCHER');
    const t = await createToken(actorOf(u), { name: 'no expiry chosen' });
    expect(Math.abs(t.expiresAt.getTime() - (Date.now() + 90 * DAY))).toBeLessThan(60_000);
    const n = await createToken(actorOf(u), { name: 'null expiry', expiresInDays: null });
    expect(n.expiresAt.getTime()).toBeGreaterThan(Date.now() + 89 * DAY);
    const w = await createToken(actorOf(u), { name: 'a week', expiresInDays: 7 });
    expect(Math.abs(w.expiresAt.getTime() - (Date.now() + 7 * DAY))).toBeLessThan(60_000);
    // No way to ask for "never" or more than a year through the API.
    const session = (await makeUser('RESEARCHER'));
    const tok = (await createToken(actorOf(session), { name: 'caller' })).token;
    for (const expiresInDays of [0, 366, 100000]) {
      const r = await call(api.createToken, {}, { token: tok, body: { name: 'x', expiresInDays } });
      expect(r.status, String(expiresInDays)).toBe(422);
    }
  });

  it('refuses an expired token', async () => {
    const u = await makeUser('RESEARCHER');
    const t = await createToken(actorOf(u), { name: 'short', expiresInDays: 1 });
    expect((await call(api.me, {}, { token: t.token })).status).toBe(200);
    await db.apiToken.update({ where: { id: t.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await call(api.me, {}, { token: t.token })).status).toBe(401);
    expect(await findActiveToken(t.token)).toBeNull();
  });

  it('records the last use, at most once a minute, and lists it', async () => {
    const u = await makeUser('RESEARCHER');
    const t = await createToken(actorOf(u), { name: 'used' });
    expect((await db.apiToken.findUniqueOrThrow({ where: { id: t.id } })).lastUsedAt).toBeNull();
    const t0 = Date.now();
    expect((await call(api.me, {}, { token: t.token })).status).toBe(200);
    const first = (await db.apiToken.findUniqueOrThrow({ where: { id: t.id } })).lastUsedAt!;
    expect(first.getTime()).toBeGreaterThanOrEqual(t0 - 1000);
    // Within the minute: not written again.
    expect((await call(api.me, {}, { token: t.token })).status).toBe(200);
    expect((await db.apiToken.findUniqueOrThrow({ where: { id: t.id } })).lastUsedAt!.getTime()).toBe(first.getTime());
    // A minute later: written again.
    await db.apiToken.update({ where: { id: t.id }, data: { lastUsedAt: new Date(Date.now() - LAST_USED_WRITE_INTERVAL_MS - 1000) } });
    expect((await call(api.me, {}, { token: t.token })).status).toBe(200);
    expect((await db.apiToken.findUniqueOrThrow({ where: { id: t.id } })).lastUsedAt!.getTime()).toBeGreaterThanOrEqual(t0 - 1000);
    // The token list (API) shows last use and expiry.
    const list = (await call(api.listTokens, {}, { token: t.token })).json as { id: string; lastUsedAt: string | null; expiresAt: string | null }[];
    const row = list.find((r) => r.id === t.id)!;
    expect(row.lastUsedAt).not.toBeNull();
    expect(new Date(row.expiresAt!).getTime()).toBe(t.expiresAt.getTime());
  });
});
