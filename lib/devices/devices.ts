import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, Prisma } from '../db';
import { AppError } from '../errors';
import type { DeviceInput } from './schema';

function conflict(e: unknown): never {
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')
    throw new AppError('CONFLICT', 'A device with this name already exists', { name: ['already in use'] });
  throw e;
}

export const listDevices = () => db.device.findMany({ orderBy: { name: 'asc' } });

export async function getDevice(id: string) {
  const d = await db.device.findUnique({ where: { id } });
  if (!d) throw new AppError('NOT_FOUND', 'Device not found');
  return d;
}

export async function createDevice(actor: Actor, input: DeviceInput) {
  const d = await db.device.create({ data: input }).catch(conflict);
  await audit({ userId: actor.userId, action: 'device.create', targetType: 'device', targetId: d.id });
  return d;
}

export async function updateDevice(actor: Actor, id: string, input: Partial<DeviceInput>) {
  await getDevice(id);
  const d = await db.device.update({ where: { id }, data: input }).catch(conflict);
  await audit({ userId: actor.userId, action: 'device.update', targetType: 'device', targetId: id });
  return d;
}

export async function deleteDevice(actor: Actor, id: string) {
  await getDevice(id);
  const used = await db.connector.count({ where: { deviceId: id } });
  if (used) throw new AppError('CONFLICT', `This device is used by ${used} connector(s); delete or change them first`);
  await db.device.delete({ where: { id } });
  await audit({ userId: actor.userId, action: 'device.delete', targetType: 'device', targetId: id });
}
