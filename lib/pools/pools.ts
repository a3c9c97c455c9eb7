import { randomBytes } from 'node:crypto';
import { DEFAULT_RULES } from '../anonymize/rules';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { visiblePoolIds } from '../auth/access';
import { db, Prisma } from '../db';
import { AppError } from '../errors';
import { removePoolData } from '../storage';
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

export async function updatePool(actor: Actor, id: string, input: Partial<PoolInput>) {
  const pool = await db
    .$transaction(async (tx) => {
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
  await audit({ userId: actor.userId, action: input.members ? 'pool.members-update' : 'pool.update', poolId: id, targetType: 'pool', targetId: id });
  return pool;
}

export async function setPoolMembers(actor: Actor, poolId: string, members: { userId: string; role: 'OWNER' | 'COORDINATOR' | 'RESEARCHER' }[]) {
  const users = await db.user.count({ where: { id: { in: members.map((m) => m.userId) } } });
  if (users !== new Set(members.map((m) => m.userId)).size) throw new AppError('VALIDATION', 'Unknown user in members', { members: ['unknown user'] });
  return updatePool(actor, poolId, { members });
}

export async function deletePool(actor: Actor, id: string) {
  const inUse = await db.connector.count({ where: { OR: [{ queryPoolId: id }, { receivingPoolId: id }] } });
  if (inUse) throw new AppError('CONFLICT', `This pool is used by ${inUse} connector(s) as query or receiving pool`);
  await db.pool.delete({ where: { id } });
  // The index rows are gone with the pool (cascade); its de-identified files go too.
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

export async function removePoolMember(actor: Actor, poolId: string, userId: string) {
  const res = await db.poolMember.deleteMany({ where: { poolId, userId } });
  if (!res.count) throw new AppError('NOT_FOUND', 'Member not found');
  await audit({ userId: actor.userId, action: 'pool.members-update', poolId, targetType: 'user', targetId: userId });
}
