/**
 * Issue 9, finding 2: administration of a pool never grants its identity map or silently weakens
 * its rules. Each attack an administrator could make is performed and must fail:
 *
 * - add themselves as OWNER (any add/replace/role route), then read /identity;
 * - be promoted to ADMIN while owning a pool, or hold an OWNER row written around the checks:
 *   the access decision still refuses identity and rules;
 * - save `PatientID: keep` so the next retrieval puts real MRNs in front of researchers.
 *
 * And owners are told (in-app) of every membership or rule change they did not make; a rule
 * version that keeps a direct identifier carries `keepsDirectIdentifiers` wherever rules appear.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';

type U = Awaited<ReturnType<typeof makeUser>>;
let owner: U, owner2: U, coord: U, researcher: U, outsider: U, admin: U;
let poolId: string;
const tok: Record<string, string> = {};

const keepPatientId = { ...DEFAULT_RULES, overrides: [{ selector: 'PatientID', action: 'keep' }] };

beforeEach(async () => {
  [owner, owner2, coord, researcher, outsider, admin] = await Promise.all([
    makeUser('RESEARCHER'),
    makeUser('COORDINATOR'),
    makeUser('COORDINATOR'),
    makeUser('RESEARCHER'),
    makeUser('RESEARCHER'),
    makeUser('ADMIN'),
  ]);
  poolId = (
    await makePool({
      members: [
        { userId: owner.id, role: 'OWNER' },
        { userId: owner2.id, role: 'OWNER' },
        { userId: coord.id, role: 'COORDINATOR' },
        { userId: researcher.id, role: 'RESEARCHER' },
      ],
    })
  ).id;
  for (const [k, u] of Object.entries({ owner, owner2, coord, researcher, outsider, admin })) tok[k] = (await createApiToken({ userId: u.id, name: 't' })).token;
});

const roles = async () => Object.fromEntries((await db.poolMember.findMany({ where: { poolId } })).map((m) => [m.userId, m.role]));
const notices = (userId: string) => db.notification.findMany({ where: { userId, poolId }, orderBy: { createdAt: 'asc' } });

describe('an administrator cannot reach the identity map', () => {
  it('cannot add themselves as owner (add, replace, or any role), so /identity stays closed', async () => {
    const add = await call(api.addPoolMember, { id: poolId }, { token: tok.admin, body: { email: admin.email, role: 'OWNER' } });
    expect(add.status).toBe(403);
    const replace = await call(api.setPoolMembers, { id: poolId }, { token: tok.admin, body: { members: [{ userId: owner.id, role: 'OWNER' }, { userId: admin.id, role: 'OWNER' }] } });
    expect(replace.status).toBe(403);
    // No self-grant of any role either.
    expect((await call(api.addPoolMember, { id: poolId }, { token: tok.admin, body: { email: admin.email, role: 'RESEARCHER' } })).status).toBe(403);
    expect((await roles())[admin.id]).toBeUndefined();
    expect((await call(api.getIdentityMap, { id: poolId }, { token: tok.admin })).status).toBe(403);
    expect((await call(api.exportIdentityMap, { id: poolId }, { token: tok.admin })).status).toBe(403);
  });

  it('cannot make another administrator an owner, nor can an owner', async () => {
    const other = await makeUser('ADMIN');
    for (const who of ['admin', 'owner']) {
      const res = await call(api.addPoolMember, { id: poolId }, { token: tok[who], body: { email: other.email, role: 'OWNER' } });
      expect(res.status, who).toBe(422);
      expect(res.json).toMatchObject({ error: { fields: { role: ['administrators cannot be pool owners'] } } });
    }
    // Added as a researcher by the owner, then promoted: refused too.
    expect((await call(api.addPoolMember, { id: poolId }, { token: tok.owner, body: { email: other.email, role: 'RESEARCHER' } })).status).toBe(201);
    expect((await call(api.updatePoolMember, { id: poolId, userId: other.id }, { token: tok.admin, body: { role: 'OWNER' } })).status).toBe(422);
    expect((await call(api.setPoolMembers, { id: poolId }, { token: tok.owner, body: { members: [{ userId: owner.id, role: 'OWNER' }, { userId: other.id, role: 'OWNER' }] } })).status).toBe(422);
    expect((await roles())[other.id]).toBe('RESEARCHER');
  });

  it('cannot promote a pool owner to administrator', async () => {
    const res = await call(api.updateUser, { id: owner.id }, { token: tok.admin, body: { role: 'ADMIN' } });
    expect(res.status).toBe(409);
    expect((await db.user.findUniqueOrThrow({ where: { id: owner.id } })).role).toBe('RESEARCHER');
    // A non-owner can be promoted.
    expect((await call(api.updateUser, { id: researcher.id }, { token: tok.admin, body: { role: 'ADMIN' } })).status).toBe(200);
  });

  it('gets neither identity nor rules from an OWNER row written around the checks (decided at access time)', async () => {
    await db.poolMember.create({ data: { poolId, userId: admin.id, role: 'OWNER' } });
    for (const [name, ep] of [
      ['identity', api.getIdentityMap],
      ['lookups', api.listLookupTables],
      ['preview samples', api.listPreviewSamples],
    ] as const) {
      expect((await call(ep, { id: poolId }, { token: tok.admin })).status, name).toBe(403);
    }
    expect((await call(api.updatePoolRules, { id: poolId }, { token: tok.admin, body: { rules: DEFAULT_RULES } })).status).toBe(403);
    // Still an administrator of the pool: reads it and its rules.
    expect((await call(api.getPool, { id: poolId }, { token: tok.admin })).status).toBe(200);
    expect((await call(api.getPoolRules, { id: poolId }, { token: tok.admin })).status).toBe(200);
  });
});

describe('rules that keep direct identifiers', () => {
  it('an administrator cannot save `PatientID: keep` (or any rules): nothing changes', async () => {
    const before = await db.pool.findUniqueOrThrow({ where: { id: poolId }, select: { rules: true, ruleVersion: true } });
    const res = await call(api.updatePoolRules, { id: poolId }, { token: tok.admin, body: { rules: keepPatientId } });
    expect(res.status).toBe(403);
    const after = await db.pool.findUniqueOrThrow({ where: { id: poolId }, select: { rules: true, ruleVersion: true } });
    expect(after).toEqual(before);
    expect(await db.poolRuleVersion.count({ where: { poolId } })).toBe(1);
    expect(await db.notification.count({ where: { poolId } })).toBe(0);
    // Coordinators neither.
    expect((await call(api.updatePoolRules, { id: poolId }, { token: tok.coord, body: { rules: keepPatientId } })).status).toBe(403);
  });

  it('the owner can save them; every answer carries the warning; the other owner is told, with the warning', async () => {
    const check = await call(api.checkPoolRules, { id: poolId }, { token: tok.admin, body: { rules: keepPatientId } });
    expect(check.status).toBe(200);
    expect(check.json).toMatchObject({ keepsDirectIdentifiers: ['PatientID'] });

    const saved = await call(api.updatePoolRules, { id: poolId }, { token: tok.owner, body: { rules: keepPatientId, baseVersion: 1 } });
    expect(saved.status).toBe(200);
    expect(saved.json).toMatchObject({ ruleVersion: 2, unchanged: false, keepsDirectIdentifiers: ['PatientID'] });

    for (const who of ['owner', 'admin']) {
      const rules = await call(api.getPoolRules, { id: poolId }, { token: tok[who] });
      expect(rules.json, who).toMatchObject({ ruleVersion: 2, keepsDirectIdentifiers: ['PatientID'] });
    }
    expect((await call(api.getPoolRuleVersion, { id: poolId, version: '2' }, { token: tok.admin })).json).toMatchObject({ keepsDirectIdentifiers: ['PatientID'] });
    expect((await call(api.getPoolRuleVersion, { id: poolId, version: '1' }, { token: tok.admin })).json).toMatchObject({ keepsDirectIdentifiers: [] });

    const toOther = await notices(owner2.id);
    expect(toOther).toHaveLength(1);
    expect(toOther[0]).toMatchObject({ kind: 'pool.rules-update', readAt: null });
    expect(toOther[0].text).toContain('version 2');
    expect(toOther[0].text).toContain('PatientID');
    expect(toOther[0].text).toContain(owner.name);
    expect(await notices(owner.id)).toHaveLength(0);

    const audit = await db.auditEvent.findFirstOrThrow({ where: { poolId, action: 'pool.rules-update' }, orderBy: { at: 'desc' } });
    expect(audit.userId).toBe(owner.id);
    expect(audit.detail).toMatchObject({ version: 2, keepsDirectIdentifiers: 'PatientID' });
  });

  it('a harmless change carries an empty warning list and notifies without one', async () => {
    const rules = { ...DEFAULT_RULES, overrides: [{ selector: 'PatientSex', action: 'keep' }] };
    const saved = await call(api.updatePoolRules, { id: poolId }, { token: tok.owner2, body: { rules } });
    expect(saved.json).toMatchObject({ keepsDirectIdentifiers: [] });
    const toOwner = await notices(owner.id);
    expect(toOwner).toHaveLength(1);
    expect(toOwner[0].text).not.toContain('Warning');
  });
});

describe('owners are told of membership changes they did not make', () => {
  it('an administrator’s change notifies every owner; an owner’s own change notifies only the others', async () => {
    // The administrator adds a member: both owners are told.
    expect((await call(api.addPoolMember, { id: poolId }, { token: tok.admin, body: { email: outsider.email, role: 'COORDINATOR' } })).status).toBe(201);
    for (const o of [owner, owner2]) {
      const n = await notices(o.id);
      expect(n, o.email).toHaveLength(1);
      expect(n[0]).toMatchObject({ kind: 'pool.members-update' });
      expect(n[0].text).toContain(outsider.name);
      expect(n[0].text).toContain('administrator');
    }
    // The owner changes a role: the other owner is told, the owner is not.
    expect((await call(api.updatePoolMember, { id: poolId, userId: outsider.id }, { token: tok.owner, body: { role: 'RESEARCHER' } })).status).toBe(200);
    expect(await notices(owner.id)).toHaveLength(1);
    expect(await notices(owner2.id)).toHaveLength(2);
    // The administrator removes a member and replaces the list: told each time.
    expect((await call(api.removePoolMember, { id: poolId, userId: outsider.id }, { token: tok.admin })).status).toBeLessThan(300);
    const members = [{ userId: owner.id, role: 'OWNER' }, { userId: owner2.id, role: 'OWNER' }, { userId: coord.id, role: 'COORDINATOR' }];
    expect((await call(api.setPoolMembers, { id: poolId }, { token: tok.admin, body: { members } })).status).toBe(200);
    expect(await notices(owner.id)).toHaveLength(3);
    expect(await notices(owner2.id)).toHaveLength(4);
    // Nobody else gets anything; texts name no patient data (ids of users only through names).
    expect(await db.notification.count({ where: { poolId, userId: { notIn: [owner.id, owner2.id] } } })).toBe(0);
    // Every change was audited with ids only.
    const audits = await db.auditEvent.findMany({ where: { poolId, action: 'pool.members-update' } });
    expect(audits.length).toBe(4);
    for (const a of audits) expect(JSON.stringify(a.detail)).not.toMatch(/@|name/i);
  });
});

describe('a pool cannot be taken from its owners unnoticed', () => {
  it('owners an administrator removes or demotes (or replaces with someone else) are told', async () => {
    const puppet = await makeUser('RESEARCHER');
    // Demote one owner, then replace the list with a new owner only.
    expect((await call(api.updatePoolMember, { id: poolId, userId: owner2.id }, { token: tok.admin, body: { role: 'RESEARCHER' } })).status).toBe(200);
    expect((await notices(owner2.id)).map((n) => n.text).join()).toContain('from owner to researcher');
    const res = await call(api.setPoolMembers, { id: poolId }, { token: tok.admin, body: { members: [{ userId: puppet.id, role: 'OWNER' }] } });
    expect(res.status).toBe(200);
    expect(await notices(owner.id)).toHaveLength(2);
    expect(await notices(owner2.id)).toHaveLength(1); // a researcher by then: not an owner when replaced
    expect(await notices(puppet.id)).toHaveLength(1);
    expect((await notices(owner.id))[1].text).toContain('replaced the members');
    // And removing an owner tells them.
    expect((await call(api.removePoolMember, { id: poolId, userId: puppet.id }, { token: tok.admin })).status).toBeLessThan(300);
    expect(await notices(puppet.id)).toHaveLength(2);
  });
});

describe('notifications API', () => {
  it('lists the caller’s own notifications with the unread count, and marks them read (only their own)', async () => {
    await call(api.addPoolMember, { id: poolId }, { token: tok.admin, body: { email: outsider.email, role: 'RESEARCHER' } });
    const list = await call(api.listNotifications, {}, { token: tok.owner });
    expect(list.status).toBe(200);
    const body = list.json as { items: { id: string; text: string; readAt: string | null }[]; unread: number };
    expect(body.unread).toBe(1);
    expect(body.items).toHaveLength(1);
    const id = body.items[0].id;
    const otherId = (await notices(owner2.id))[0].id;

    // Someone else's id is not theirs to mark.
    expect((await call(api.markNotificationsRead, {}, { token: tok.owner, body: { ids: [otherId] } })).json).toEqual({ marked: 0 });
    expect((await db.notification.findUniqueOrThrow({ where: { id: otherId } })).readAt).toBeNull();
    // A pool-scoped token is read-only.
    const scoped = (await createApiToken({ userId: owner.id, name: 's', poolId })).token;
    expect((await call(api.markNotificationsRead, {}, { token: scoped, body: { ids: [id] } })).status).toBe(403);
    expect(((await call(api.listNotifications, {}, { token: scoped })).json as { unread: number }).unread).toBe(1);

    expect((await call(api.markNotificationsRead, {}, { token: tok.owner, body: { ids: [id] } })).json).toEqual({ marked: 1 });
    const after = (await call(api.listNotifications, {}, { token: tok.owner, query: { unread: '1' } })).json as { items: unknown[]; unread: number };
    expect(after).toMatchObject({ items: [], unread: 0 });
    // Mark all.
    expect((await call(api.markNotificationsRead, {}, { token: tok.owner2, body: {} })).json).toEqual({ marked: 1 });
    expect((await call(api.listNotifications, {}, {})).status).toBe(401);
  });
});

describe('an administrator setting an owner’s password', () => {
  it('is told to the pool’s owners, the account’s holder included (it could be used to sign in as the owner)', async () => {
    expect((await call(api.updateUser, { id: owner.id }, { token: tok.admin, body: { password: 'a brand new long password' } })).status).toBe(200);
    for (const o of [owner, owner2]) {
      const n = await notices(o.id);
      expect(n, o.email).toHaveLength(1);
      expect(n[0]).toMatchObject({ kind: 'pool.owner-account-update' });
      expect(n[0].text).toContain(owner.name);
      expect(n[0].text).not.toContain('a brand new long password');
    }
    // A researcher's password: no owner is concerned.
    expect((await call(api.updateUser, { id: researcher.id }, { token: tok.admin, body: { password: 'another long password' } })).status).toBe(200);
    expect(await db.notification.count({ where: { poolId } })).toBe(2);
  });
});
