/**
 * Pool owners manage members over the API the settings page uses: add by exact e-mail, change a
 * role, remove; researchers, coordinators and pool tokens are refused; the last owner stays
 * (only an administrator may leave a pool without one); every change is audited with ids only.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';

type U = Awaited<ReturnType<typeof makeUser>>;
let owner: U, coord: U, researcher: U, outsider: U, admin: U;
let poolId: string;
const tok: Record<string, string> = {};

async function tokenOf(u: U, poolScope?: string) {
  return (await createApiToken({ userId: u.id, name: 't', poolId: poolScope ?? null })).token;
}

beforeEach(async () => {
  [owner, coord, researcher, outsider, admin] = await Promise.all([makeUser('RESEARCHER'), makeUser('COORDINATOR'), makeUser('RESEARCHER'), makeUser('RESEARCHER'), makeUser('ADMIN')]);
  poolId = (await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: coord.id, role: 'COORDINATOR' }, { userId: researcher.id, role: 'RESEARCHER' }] })).id;
  for (const [k, u] of Object.entries({ owner, coord, researcher, outsider, admin })) tok[k] = await tokenOf(u);
  tok.ownerScoped = await tokenOf(owner, poolId);
});

const roles = async () => Object.fromEntries((await db.poolMember.findMany({ where: { poolId } })).map((m) => [m.userId, m.role]));

describe('pool owners manage members', () => {
  it('adds a member by exact e-mail (case and spaces ignored); the member can then read the pool', async () => {
    expect((await call(api.getPool, { id: poolId }, { token: tok.outsider })).status).toBe(404);
    const res = await call(api.addPoolMember, { id: poolId }, { token: tok.owner, body: { email: `  ${outsider.email.toUpperCase()} `, role: 'COORDINATOR' } });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ userId: outsider.id, email: outsider.email, role: 'COORDINATOR' });
    expect((await roles())[outsider.id]).toBe('COORDINATOR');
    expect((await call(api.getPool, { id: poolId }, { token: tok.outsider })).status).toBe(200);
  });

  it('says clearly when no active account has the e-mail, or the user is already a member', async () => {
    const unknown = await call(api.addPoolMember, { id: poolId }, { token: tok.owner, body: { email: 'nobody-here@test.local', role: 'RESEARCHER' } });
    expect(unknown.status).toBe(422);
    expect((unknown.json as { error: { message: string; fields: Record<string, string[]> } }).error.message).toMatch(/No active account has this e-mail address/);
    expect((unknown.json as { error: { fields: Record<string, string[]> } }).error.fields.email).toBeDefined();
    await db.user.update({ where: { id: outsider.id }, data: { active: false } });
    expect((await call(api.addPoolMember, { id: poolId }, { token: tok.owner, body: { email: outsider.email, role: 'RESEARCHER' } })).status).toBe(422);
    const twice = await call(api.addPoolMember, { id: poolId }, { token: tok.owner, body: { email: researcher.email, role: 'OWNER' } });
    expect(twice.status).toBe(409);
    expect((await roles())[researcher.id]).toBe('RESEARCHER');
    const bad = await call(api.addPoolMember, { id: poolId }, { token: tok.owner, body: { email: 'not an address', role: 'RESEARCHER' } });
    expect(bad.status).toBe(422);
  });

  it('changes a role and removes a member, who loses access at once', async () => {
    const up = await call(api.updatePoolMember, { id: poolId, userId: researcher.id }, { token: tok.owner, body: { role: 'COORDINATOR' } });
    expect(up.status).toBe(200);
    expect((await roles())[researcher.id]).toBe('COORDINATOR');
    const rm = await call(api.removePoolMember, { id: poolId, userId: researcher.id }, { token: tok.owner });
    expect(rm.status).toBe(200);
    expect((await roles())[researcher.id]).toBeUndefined();
    expect((await call(api.getPool, { id: poolId }, { token: tok.researcher })).status).toBe(404);
    expect((await call(api.removePoolMember, { id: poolId, userId: researcher.id }, { token: tok.owner })).status).toBe(404);
    expect((await call(api.updatePoolMember, { id: poolId, userId: outsider.id }, { token: tok.owner, body: { role: 'OWNER' } })).status).toBe(404);
  });

  it('refuses researchers, coordinators and pool-scoped tokens', async () => {
    const before = await roles();
    for (const who of ['researcher', 'coord', 'ownerScoped']) {
      const token = tok[who];
      expect((await call(api.addPoolMember, { id: poolId }, { token, body: { email: outsider.email, role: 'OWNER' } })).status, who).toBe(403);
      expect((await call(api.updatePoolMember, { id: poolId, userId: who === 'coord' ? coord.id : researcher.id }, { token, body: { role: 'OWNER' } })).status, who).toBe(403);
      expect((await call(api.removePoolMember, { id: poolId, userId: owner.id }, { token })).status, who).toBe(403);
      expect((await call(api.setPoolMembers, { id: poolId }, { token, body: { members: [{ userId: researcher.id, role: 'OWNER' }] } })).status, who).toBe(403);
    }
    // Outside the pool: not found, as for any pool one cannot see.
    expect((await call(api.addPoolMember, { id: poolId }, { token: tok.outsider, body: { email: outsider.email, role: 'OWNER' } })).status).toBe(404);
    expect(await roles()).toEqual(before);
  });

  it('keeps the last owner: an owner cannot remove or demote it, or replace the list without one', async () => {
    const alone = await call(api.removePoolMember, { id: poolId, userId: owner.id }, { token: tok.owner });
    expect(alone.status).toBe(409);
    expect((alone.json as { error: { message: string } }).error.message).toMatch(/at least one owner/);
    expect((await call(api.updatePoolMember, { id: poolId, userId: owner.id }, { token: tok.owner, body: { role: 'RESEARCHER' } })).status).toBe(409);
    expect((await call(api.setPoolMembers, { id: poolId }, { token: tok.owner, body: { members: [{ userId: owner.id, role: 'COORDINATOR' }] } })).status).toBe(409);
    expect((await call(api.updatePool, { id: poolId }, { token: tok.owner, body: { members: [{ userId: coord.id, role: 'COORDINATOR' }] } })).status).toBe(409);
    expect((await roles())[owner.id]).toBe('OWNER');

    // With a second owner, the first may leave.
    expect((await call(api.updatePoolMember, { id: poolId, userId: coord.id }, { token: tok.owner, body: { role: 'OWNER' } })).status).toBe(200);
    expect((await call(api.removePoolMember, { id: poolId, userId: owner.id }, { token: tok.owner })).status).toBe(200);
    expect(await roles()).toEqual({ [coord.id]: 'OWNER', [researcher.id]: 'RESEARCHER' });
  });

  it('lets two owners removing each other at once leave exactly one owner', async () => {
    await db.poolMember.update({ where: { poolId_userId: { poolId, userId: coord.id } }, data: { role: 'OWNER' } });
    const [a, b] = await Promise.all([
      call(api.removePoolMember, { id: poolId, userId: coord.id }, { token: tok.owner }),
      call(api.removePoolMember, { id: poolId, userId: owner.id }, { token: tok.coord }),
    ]);
    // One removal wins. The other is refused: by the last-owner rule (409) when both passed the
    // permission check before either committed, or at the permission check (403/404) when its
    // owner had already been removed by then. Either way exactly one owner remains.
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(200);
    expect([403, 404, 409]).toContain(statuses[1]);
    expect(Object.values(await roles()).filter((r) => r === 'OWNER')).toHaveLength(1);
  });

  it('lets an administrator leave a pool without an owner (the admin page warns)', async () => {
    expect((await call(api.removePoolMember, { id: poolId, userId: owner.id }, { token: tok.admin })).status).toBe(200);
    expect(Object.values(await roles())).not.toContain('OWNER');
  });

  it('audits every change with ids and roles only', async () => {
    await call(api.addPoolMember, { id: poolId }, { token: tok.owner, body: { email: outsider.email, role: 'RESEARCHER' } });
    await call(api.updatePoolMember, { id: poolId, userId: outsider.id }, { token: tok.owner, body: { role: 'COORDINATOR' } });
    await call(api.removePoolMember, { id: poolId, userId: outsider.id }, { token: tok.owner });
    const events = await db.auditEvent.findMany({ where: { poolId, action: 'pool.members-update' } });
    expect(events.map((e) => [(e.detail as { change: string }).change, e.userId, e.targetType, e.targetId]).sort()).toEqual([
      ['add', owner.id, 'user', outsider.id],
      ['remove', owner.id, 'user', outsider.id],
      ['role', owner.id, 'user', outsider.id],
    ]);
    const text = JSON.stringify(events);
    for (const pii of [outsider.email, outsider.name, owner.email, owner.name]) expect(text).not.toContain(pii);
  });
});
