import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { hashPassword } from '../auth/password';
import { db, Prisma } from '../db';
import { AppError } from '../errors';
import { notifyPoolOwners } from '../notifications/notify-pool-owners';
import type { UserInput } from './schema';

export const publicUser = { id: true, email: true, name: true, role: true, active: true, createdAt: true } as const;

export async function createUser(actor: Actor | null, input: UserInput) {
  try {
    const user = await db.user.create({
      data: { email: input.email, name: input.name, role: input.role, passwordHash: await hashPassword(input.password) },
      select: publicUser,
    });
    await audit({ userId: actor?.userId ?? null, action: 'user.create', targetType: 'user', targetId: user.id });
    return user;
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')
      throw new AppError('CONFLICT', 'A user with this e-mail already exists', { email: ['already in use'] });
    throw e;
  }
}

export async function updateUser(actor: Actor, id: string, input: { name?: string; role?: 'ADMIN' | 'COORDINATOR' | 'RESEARCHER'; active?: boolean; password?: string }) {
  const existing = await db.user.findUnique({ where: { id } });
  if (!existing) throw new AppError('NOT_FOUND', 'User not found');
  if (id === actor.userId && (input.active === false || (input.role && input.role !== 'ADMIN')))
    throw new AppError('CONFLICT', 'You cannot deactivate yourself or remove your own admin role');
  if (input.role === 'ADMIN' && existing.role !== 'ADMIN') {
    // Separation of duties (lib/pools/members-guard.ts): an administrator owns no pool.
    const owned = await db.poolMember.count({ where: { userId: id, role: 'OWNER' } });
    if (owned)
      throw new AppError('CONFLICT', `This user owns ${owned} pool(s): an administrator cannot own a pool. Hand the pool(s) to another owner first.`, {
        role: ['owns pools'],
      });
  }
  // A new password, role or active state ends the user's existing sessions (lib/auth/actor.ts).
  const endsSessions =
    !!input.password || (input.role !== undefined && input.role !== existing.role) || (input.active !== undefined && input.active !== existing.active);
  const user = await db.user.update({
    where: { id },
    data: {
      name: input.name,
      role: input.role,
      active: input.active,
      passwordHash: input.password ? await hashPassword(input.password) : undefined,
      sessionVersion: endsSessions ? { increment: 1 } : undefined,
    },
    select: publicUser,
  });
  await audit({ userId: actor.userId, action: 'user.update', targetType: 'user', targetId: id });
  if (input.password && id !== actor.userId) {
    // Whoever sets an owner's password could sign in as the owner: the pool's owners (the
    // account's holder included) are told, so an administrator cannot do it unnoticed.
    const owned = await db.poolMember.findMany({ where: { userId: id, role: 'OWNER' }, select: { poolId: true } });
    for (const { poolId } of owned) {
      await notifyPoolOwners(actor, poolId, 'pool.owner-account-update', (name) => `set a new password for ${existing.name}, an owner of pool “${name}”.`);
    }
  }
  return user;
}

export const listUsers = () => db.user.findMany({ select: publicUser, orderBy: { email: 'asc' } });
