/** Bad input gets a clear 4xx with field errors, never a 500; tokens and roles are enforced. */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';

let admin: string;
let researcher: string;

beforeAll(async () => {
  admin = (await createApiToken({ userId: (await makeUser('ADMIN')).id, name: 't' })).token;
  researcher = (await createApiToken({ userId: (await makeUser('RESEARCHER')).id, name: 't' })).token;
});

type Err = { error: { code: string; message: string; fields?: Record<string, string[]> } };

describe('API input validation', () => {
  it('answers field errors for an invalid device', async () => {
    const res = await call(api.createDevice, {}, { token: admin, body: { name: '', aeTitle: 'MUCH_TOO_LONG_AE_TITLE', host: 'bad host!', port: 70000 } });
    expect(res.status).toBe(422);
    const { error } = res.json as Err;
    expect(error.code).toBe('VALIDATION');
    expect(Object.keys(error.fields ?? {}).sort()).toEqual(['aeTitle', 'host', 'name', 'port']);
    expect(error.fields?.aeTitle[0]).toMatch(/16 characters/);
  });

  it('refuses unreadable bodies with 400/415', async () => {
    expect((await call(api.createDevice, {}, { token: admin, rawBody: '{not json' })).status).toBe(400);
    expect((await call(api.createDevice, {}, { token: admin, rawBody: 'a=b', contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
  });

  it('refuses a duplicate pool AE title with a 409 naming the field', async () => {
    const p = await makePool();
    const res = await call(api.createPool, {}, { token: admin, body: { name: `dup ${p.aeTitle}`, aeTitle: p.aeTitle } });
    expect(res.status).toBe(409);
    expect((res.json as Err).error.fields).toHaveProperty('aeTitle');
  });

  it('refuses a wildcard MRN and an empty query', async () => {
    const coord = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coord.id, role: 'COORDINATOR' }] });
    const t = (await createApiToken({ userId: coord.id, name: 't' })).token;
    const wild = await call(api.createQuery, {}, { token: t, body: { poolId: pool.id, connectorId: 'x', items: [{ patientId: '12*' }] } });
    expect(wild.status).toBe(422);
    expect(JSON.stringify((wild.json as Err).error.fields)).toMatch(/wildcard/i);
    const empty = await call(api.createQuery, {}, { token: t, body: { poolId: pool.id, connectorId: 'x', items: [] } });
    expect(empty.status).toBe(422);
    expect(await db.query.count({ where: { poolId: pool.id } })).toBe(0);
  });

  it('needs a valid token, and an admin for admin endpoints', async () => {
    expect((await call(api.listDevices, {}, {})).status).toBe(401);
    expect((await call(api.listDevices, {}, { token: 'trb_nonsense' })).status).toBe(401);
    expect((await call(api.listDevices, {}, { token: researcher })).status).toBe(403);
    expect((await call(api.listDevices, {}, { token: admin })).status).toBe(200);
  });

  it('stops honouring a revoked or expired token', async () => {
    const u = await makeUser('ADMIN');
    const t = await createApiToken({ userId: u.id, name: 'soon revoked' });
    expect((await call(api.me, {}, { token: t.token })).status).toBe(200);
    await db.apiToken.update({ where: { id: t.id }, data: { revokedAt: new Date() } });
    expect((await call(api.me, {}, { token: t.token })).status).toBe(401);
    const e = await createApiToken({ userId: u.id, name: 'expired' });
    await db.apiToken.update({ where: { id: e.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await call(api.me, {}, { token: e.token })).status).toBe(401);
  });

  it('stores API tokens hashed', async () => {
    const u = await makeUser();
    const t = await createApiToken({ userId: u.id, name: 'hash check' });
    const row = await db.apiToken.findUniqueOrThrow({ where: { id: t.id } });
    expect(row.tokenHash).not.toContain(t.token.slice(4));
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    const user = await db.user.findUniqueOrThrow({ where: { id: u.id } });
    expect(user.passwordHash).toMatch(/^scrypt\$/);
    expect(user.passwordHash).not.toContain(u.password);
  });

  it('serves the OpenAPI document', async () => {
    const mod = await import('@/app/api/v1/openapi.json/route');
    const res = await mod.GET();
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/queries/{id}/retrieve');
  });
});
