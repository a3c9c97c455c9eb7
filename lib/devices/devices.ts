import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, Prisma } from '../db';
import { AppError } from '../errors';
import { decryptSecret, nextSecret } from '../secrets';
import type { DeviceInput } from './schema';
import { checkDeviceTls, publicDevice } from './tls';

function conflict(e: unknown): never {
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')
    throw new AppError('CONFLICT', 'A device with this name already exists', { name: ['already in use'] });
  throw e;
}

export const listDevices = async () => (await db.device.findMany({ orderBy: { name: 'asc' } })).map(publicDevice);

async function loadDevice(id: string) {
  const d = await db.device.findUnique({ where: { id } });
  if (!d) throw new AppError('NOT_FOUND', 'Device not found');
  return d;
}

/** A device as the API shows it (the TLS private key as "set" / "not set"). */
export const getDevice = async (id: string) => publicDevice(await loadDevice(id));

/**
 * The stored form of the TLS fields being saved: the private key encrypted (write-only: absent
 * keeps it, null or "" clears it), the whole TLS configuration checked as it will be used.
 */
function tlsData(stored: { tlsCaCertificates: string; tlsClientCertificate: string; tlsCiphers: string; tlsClientKey: string | null } | null, input: Partial<DeviceInput>) {
  const { tlsClientKey: keyInput, ...rest } = input;
  const merged = {
    tlsCaCertificates: input.tlsCaCertificates ?? stored?.tlsCaCertificates ?? '',
    tlsClientCertificate: input.tlsClientCertificate ?? stored?.tlsClientCertificate ?? '',
    tlsCiphers: input.tlsCiphers ?? stored?.tlsCiphers ?? '',
  };
  const nextKey = nextSecret(stored?.tlsClientKey, keyInput);
  // The pair is checked when either half changes: with the new key, or the stored one decrypted.
  const pairChanges = keyInput !== undefined || input.tlsClientCertificate !== undefined;
  const plain = keyInput ? keyInput : pairChanges && nextKey ? decryptSecret(nextKey) : undefined;
  checkDeviceTls(merged, { present: nextKey !== null, plain });
  return { ...rest, tlsClientKey: nextKey };
}

export async function createDevice(actor: Actor, input: DeviceInput) {
  const d = await db.device.create({ data: tlsData(null, input) as DeviceInput & { tlsClientKey: string | null } }).catch(conflict);
  await audit({ userId: actor.userId, action: 'device.create', targetType: 'device', targetId: d.id });
  return publicDevice(d);
}

export async function updateDevice(actor: Actor, id: string, input: Partial<DeviceInput>) {
  const stored = await loadDevice(id);
  const d = await db.device.update({ where: { id }, data: tlsData(stored, input) }).catch(conflict);
  await audit({ userId: actor.userId, action: 'device.update', targetType: 'device', targetId: id });
  return publicDevice(d);
}

export async function deleteDevice(actor: Actor, id: string) {
  await loadDevice(id);
  const used = await db.connector.count({ where: { deviceId: id } });
  if (used) throw new AppError('CONFLICT', `This device is used by ${used} connector(s); delete or change them first`);
  const destinations = await db.destination.count({ where: { deviceId: id } });
  if (destinations) throw new AppError('CONFLICT', `${destinations} export destination(s) send to this device; delete or change them first`);
  await db.device.delete({ where: { id } });
  await audit({ userId: actor.userId, action: 'device.delete', targetType: 'device', targetId: id });
}
