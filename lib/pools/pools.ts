import { randomBytes } from 'node:crypto';
import { DEFAULT_RULES } from '../anonymize/rules';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { isAdmin, requirePoolChange, visiblePoolIds } from '../auth/access';
import { db, Prisma, type Tx } from '../db';
import { AppError } from '../errors';
import { notifyPoolOwners } from '../notifications/notify-pool-owners';
import { removePoolData, removeStagedFiles } from '../storage';
import { checkMemberGrants } from './members-guard';
import type { PoolInput } from './schema';

function conflict(e: unknown): never {
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') {
    // With the pg driver adapter the constraint's fields sit deeper in meta; search all of it.
    if (JSON.stringify(e.meta ?? {}).includes('aeTitle')) throw new AppError('CONFLICT', 'Another pool already uses this AE title', { aeTitle: ['already in use'] });
    throw new AppError('CONFLICT', 'Another pool already has this name', { name: ['already in use'] });
  }
  throw e;
}

export async function listPools(actor: Actor) {
  const ids = await visiblePoolIds(actor);
  return db.pool.findMany({
    where: ids === 'all' ? {} : { id: { in: ids } },
    orderBy: { name: 'asc' },
    select: {
      id: true,
      name: true,
      aeTitle: true,
      description: true,
      kind: true,
      createdAt: true,
      _count: { select: { studies: true, members: true } },
      members: { where: { userId: actor.userId }, select: { role: true } },
    },
  });
}

export async function createPool(actor: Actor, input: PoolInput) {
  if (input.members?.length) {
    if (new Set(input.members.map((m) => m.userId)).size !== input.members.length) throw new AppError('VALIDATION', 'A user is listed twice in members', { members: ['listed twice'] });
    await checkMemberGrants(db, actor, new Map(), input.members);
  }
  const pool = await db.pool
    .create({
      data: {
        name: input.name,
        aeTitle: input.aeTitle,
        description: input.description,
        kind: input.kind,
        secret: randomBytes(32).toString('hex'),
        rules: DEFAULT_RULES as unknown as Prisma.InputJsonValue,
        ruleVersions: { create: { version: 1, rules: DEFAULT_RULES as unknown as Prisma.InputJsonValue, createdById: actor.userId } },
        members: input.members?.length ? { create: input.members.map((m) => ({ userId: m.userId, role: m.role })) } : undefined,
        allowedDevices: input.allowedDeviceIds?.length ? { create: input.allowedDeviceIds.map((deviceId) => ({ deviceId })) } : undefined,
      },
    })
    .catch(conflict);
  await audit({ userId: actor.userId, action: 'pool.create', poolId: pool.id, targetType: 'pool', targetId: pool.id });
  return pool;
}

type MemberRole = 'OWNER' | 'COORDINATOR' | 'RESEARCHER';

/**
 * Member changes run in a transaction that first locks the pool's row, so two owners removing
 * or demoting each other at the same moment cannot leave the pool without an owner.
 */
async function lockedRoles(tx: Tx, poolId: string): Promise<Map<string, MemberRole>> {
  await tx.$queryRaw`SELECT id FROM "Pool" WHERE id = ${poolId} FOR UPDATE`;
  const rows = await tx.poolMember.findMany({ where: { poolId }, select: { userId: true, role: true } });
  return new Map(rows.map((r) => [r.userId, r.role]));
}

/**
 * A pool that has an owner keeps one: only an administrator may leave it without (the admin pages
 * warn about it), e.g. when the owner has left and the new one is not known yet.
 */
function keepAnOwner(actor: Actor, before: Iterable<MemberRole>, after: Iterable<MemberRole>) {
  if (isAdmin(actor)) return;
  if ([...before].includes('OWNER') && ![...after].includes('OWNER')) {
    throw new AppError('CONFLICT', 'A pool needs at least one owner: make another member an owner first', { role: ['the last owner cannot be removed or changed'] });
  }
}

export async function updatePool(actor: Actor, id: string, input: Partial<PoolInput>) {
  requirePoolChange(actor, Object.keys(input).filter((k) => input[k as keyof PoolInput] !== undefined));
  if (input.members && new Set(input.members.map((m) => m.userId)).size !== input.members.length) {
    throw new AppError('VALIDATION', 'A user is listed twice in members', { members: ['listed twice'] });
  }
  let formerOwners: string[] = [];
  const pool = await db
    .$transaction(async (tx) => {
      if (input.members) {
        const before = await lockedRoles(tx, id);
        const after = new Map(input.members.map((m) => [m.userId, m.role]));
        formerOwners = [...before].filter(([u, r]) => r === 'OWNER' && after.get(u) !== 'OWNER').map(([u]) => u);
        keepAnOwner(actor, before.values(), input.members.map((m) => m.role));
        await checkMemberGrants(tx, actor, before, input.members);
      }
      const p = await tx.pool.update({
        where: { id },
        data: { name: input.name, aeTitle: input.aeTitle, description: input.description, kind: input.kind },
      });
      if (input.members) {
        await tx.poolMember.deleteMany({ where: { poolId: id } });
        if (input.members.length) await tx.poolMember.createMany({ data: input.members.map((m) => ({ poolId: id, ...m })) });
      }
      if (input.allowedDeviceIds) {
        await tx.poolDevice.deleteMany({ where: { poolId: id } });
        if (input.allowedDeviceIds.length)
          await tx.poolDevice.createMany({ data: input.allowedDeviceIds.map((deviceId) => ({ poolId: id, deviceId })) });
      }
      return p;
    })
    .catch(conflict);
  await audit({
    userId: actor.userId,
    action: input.members ? 'pool.members-update' : 'pool.update',
    poolId: id,
    targetType: 'pool',
    targetId: id,
    detail: input.members ? { change: 'replace', members: input.members.length } : undefined,
  });
  if (input.members) {
    const n = input.members.length;
    await notifyPoolOwners(actor, id, 'pool.members-update', (name) => `replaced the members of pool “${name}” (now ${n} member${n === 1 ? '' : 's'}).`, formerOwners);
  }
  return pool;
}

export async function setPoolMembers(actor: Actor, poolId: string, members: { userId: string; role: MemberRole }[]) {
  const users = await db.user.count({ where: { id: { in: members.map((m) => m.userId) } } });
  if (users !== new Set(members.map((m) => m.userId)).size) throw new AppError('VALIDATION', 'Unknown user in members', { members: ['unknown user'] });
  return updatePool(actor, poolId, { members });
}

export async function deletePool(actor: Actor, id: string) {
  const inUse = await db.connector.count({ where: { OR: [{ queryPoolId: id }, { receivingPoolId: id }] } });
  if (inUse) throw new AppError('CONFLICT', `This pool is used by ${inUse} connector(s) as query or receiving pool`);
  // Originals staged for this pool's retrievals (under their receiving pool's staging area) and
  // pushed to it: their rows would only lose their retrieval, their files must go with the pool.
  const staged = await db.stagedInstance.findMany({
    where: { OR: [{ receivingPoolId: id }, { retrieval: { poolId: id } }] },
    select: { id: true, path: true, receivingPoolId: true },
  });
  await db.pool.delete({ where: { id } });
  await db.stagedInstance.deleteMany({ where: { id: { in: staged.map((s) => s.id) } } });
  await db.notification.deleteMany({ where: { poolId: id } });
  // The index rows are gone with the pool (cascade); every file of it goes too: de-identified data,
  // quarantine (may show burned-in text), thumbnails and staged originals.
  await removeStagedFiles(staged);
  await removePoolData(id);
  await audit({ userId: actor.userId, action: 'pool.delete', targetType: 'pool', targetId: id });
}

export async function getPoolDetail(id: string) {
  return db.pool.findUniqueOrThrow({
    where: { id },
    select: {
      id: true,
      name: true,
      aeTitle: true,
      description: true,
      kind: true,
      ruleVersion: true,
      createdAt: true,
      members: { select: { role: true, user: { select: { id: true, name: true, email: true } } }, orderBy: { createdAt: 'asc' } },
      allowedDevices: { select: { device: { select: { id: true, name: true, aeTitle: true } } } },
      _count: { select: { studies: true } },
    },
  });
}

/** The pool's members for its owners: name, e-mail, role, whether the account is active. */
export async function listPoolMembers(poolId: string) {
  const rows = await db.poolMember.findMany({
    where: { poolId },
    orderBy: { createdAt: 'asc' },
    select: { role: true, user: { select: { id: true, name: true, email: true, active: true } } },
  });
  return rows.map((r) => ({ userId: r.user.id, name: r.user.name, email: r.user.email, active: r.user.active, role: r.role }));
}

/**
 * An owner adds a user by their exact e-mail address (owners cannot list the users of the
 * system). An unknown or deactivated address is a clear 422, an existing member a 409.
 */
export async function addPoolMember(actor: Actor, poolId: string, input: { email: string; role: MemberRole }) {
  const user = await db.user.findFirst({
    where: { email: { equals: input.email.trim(), mode: 'insensitive' }, active: true },
    select: { id: true, name: true, email: true, active: true },
  });
  if (!user) {
    throw new AppError('VALIDATION', 'No active account has this e-mail address. Check the spelling, or ask an administrator to create the account.', {
      email: ['no active account with this e-mail address'],
    });
  }
  try {
    await db.$transaction(async (tx) => {
      const before = await lockedRoles(tx, poolId);
      if (before.has(user.id)) throw new AppError('CONFLICT', 'This user is already a member of the pool: change their role in the list', { email: ['already a member'] });
      await checkMemberGrants(tx, actor, before, [{ userId: user.id, role: input.role }]);
      await tx.poolMember.create({ data: { poolId, userId: user.id, role: input.role } });
    });
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') {
      throw new AppError('CONFLICT', 'This user is already a member of the pool: change their role in the list', { email: ['already a member'] });
    }
    throw e;
  }
  await audit({ userId: actor.userId, action: 'pool.members-update', poolId, targetType: 'user', targetId: user.id, detail: { change: 'add', role: input.role } });
  await notifyPoolOwners(actor, poolId, 'pool.members-update', (name) => `added ${user.name} to pool “${name}” as ${input.role.toLowerCase()}.`);
  return { userId: user.id, name: user.name, email: user.email, active: user.active, role: input.role };
}

export async function changePoolMemberRole(actor: Actor, poolId: string, userId: string, role: MemberRole) {
  const from = await db.$transaction(async (tx) => {
    const roles = await lockedRoles(tx, poolId);
    const current = roles.get(userId);
    if (!current) throw new AppError('NOT_FOUND', 'Member not found');
    keepAnOwner(actor, roles.values(), new Map(roles).set(userId, role).values());
    await checkMemberGrants(tx, actor, roles, [{ userId, role }]);
    await tx.poolMember.update({ where: { poolId_userId: { poolId, userId } }, data: { role } });
    return current;
  });
  if (from !== role) {
    await audit({ userId: actor.userId, action: 'pool.members-update', poolId, targetType: 'user', targetId: userId, detail: { change: 'role', from, role } });
    const member = await memberName(userId);
    await notifyPoolOwners(actor, poolId, 'pool.members-update', (name) => `changed ${member}’s role in pool “${name}” from ${from.toLowerCase()} to ${role.toLowerCase()}.`, from === 'OWNER' ? [userId] : []);
  }
  return { userId, role };
}

export async function removePoolMember(actor: Actor, poolId: string, userId: string) {
  const role = await db.$transaction(async (tx) => {
    const roles = await lockedRoles(tx, poolId);
    const current = roles.get(userId);
    if (!current) throw new AppError('NOT_FOUND', 'Member not found');
    const after = new Map(roles);
    after.delete(userId);
    keepAnOwner(actor, roles.values(), after.values());
    await tx.poolMember.delete({ where: { poolId_userId: { poolId, userId } } });
    return current;
  });
  await audit({ userId: actor.userId, action: 'pool.members-update', poolId, targetType: 'user', targetId: userId, detail: { change: 'remove', role } });
  const member = await memberName(userId);
  await notifyPoolOwners(actor, poolId, 'pool.members-update', (name) => `removed ${member} (${role.toLowerCase()}) from pool “${name}”.`, role === 'OWNER' ? [userId] : []);
}

async function memberName(userId: string): Promise<string> {
  return (await db.user.findUnique({ where: { id: userId }, select: { name: true } }))?.name ?? 'a user';
}
