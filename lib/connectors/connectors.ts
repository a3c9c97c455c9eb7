import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, Prisma } from '../db';
import { echo } from '../dicom/scu';
import { devicePeer } from '../devices/tls';
import { sourceFor, sourceInclude } from './sources';
import { AppError, publicMessage } from '../errors';
import type { ConnectorInput } from './schema';

function conflict(e: unknown): never {
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')
    throw new AppError('CONFLICT', 'A connector with this name already exists', { name: ['already in use'] });
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2003')
    throw new AppError('VALIDATION', 'The chosen device or pool does not exist');
  throw e;
}

// The device without its TLS private key (encrypted, but never returned: write-only).
const withParts = { device: { omit: { tlsClientKey: true } }, queryPool: { select: { id: true, name: true, aeTitle: true } }, receivingPool: { select: { id: true, name: true, aeTitle: true } } } as const;

export const listConnectors = () => db.connector.findMany({ orderBy: { name: 'asc' }, include: withParts });

export async function getConnector(id: string) {
  const c = await db.connector.findUnique({ where: { id }, include: withParts });
  if (!c) throw new AppError('NOT_FOUND', 'Connector not found');
  return c;
}

async function checkParts(input: Partial<ConnectorInput>) {
  if (input.deviceId && !(await db.device.findUnique({ where: { id: input.deviceId } })))
    throw new AppError('VALIDATION', 'Unknown device', { deviceId: ['unknown device'] });
  for (const k of ['queryPoolId', 'receivingPoolId'] as const) {
    if (input[k] && !(await db.pool.findUnique({ where: { id: input[k] } })))
      throw new AppError('VALIDATION', 'Unknown pool', { [k]: ['unknown pool'] });
  }
}

export async function createConnector(actor: Actor, input: ConnectorInput) {
  await checkParts(input);
  const c = await db.connector.create({ data: input }).catch(conflict);
  await audit({ userId: actor.userId, action: 'connector.create', targetType: 'connector', targetId: c.id });
  return c;
}

export async function updateConnector(actor: Actor, id: string, input: Partial<ConnectorInput>) {
  await getConnector(id);
  await checkParts(input);
  const c = await db.connector.update({ where: { id }, data: input }).catch(conflict);
  await audit({ userId: actor.userId, action: 'connector.update', targetType: 'connector', targetId: id });
  return c;
}

export async function deleteConnector(actor: Actor, id: string) {
  await getConnector(id);
  const active = await db.retrieval.count({ where: { connectorId: id, state: { in: ['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING'] } } });
  if (active) throw new AppError('CONFLICT', `This connector has ${active} retrieval(s) in progress; cancel them first`);
  const sources = await db.cohortSource.count({ where: { connectorId: id } });
  if (sources) throw new AppError('CONFLICT', `${sources} database cohort source(s) retrieve through this connector; pair them with another connector or delete them first`);
  await db.$transaction([db.query.deleteMany({ where: { connectorId: id } }), db.connector.delete({ where: { id } })]);
  await audit({ userId: actor.userId, action: 'connector.delete', targetType: 'connector', targetId: id });
}

/** "Test connection": C-ECHO to the PACS as the connector's query-pool AE. Never throws for network failures. */
export async function echoConnector(actor: Actor, id: string): Promise<{ ok: boolean; ms?: number; message: string }> {
  // Loaded with the device's TLS key (decrypted only when the association opens), not the API's view.
  const c = await db.connector.findUnique({ where: { id }, include: sourceInclude });
  if (!c) throw new AppError('NOT_FOUND', 'Connector not found');
  if (c.type === 'DICOM' && !c.device) throw new AppError('VALIDATION', 'This connector has no PACS device');
  let result: { ok: boolean; ms?: number; message: string };
  try {
    const source = sourceFor(c);
    const r = await source.echo({ timeoutMs: 10_000 });
    result = { ok: true, ms: r.ms, message: `${source.kind === 'DICOM' ? 'C-ECHO' : 'The source'} answered in ${r.ms} ms by ${source.label}` };
  } catch (e) {
    result = { ok: false, message: publicMessage(e, 'C-ECHO failed') };
  }
  await audit({ userId: actor.userId, action: 'connector.echo', targetType: 'connector', targetId: id, detail: { ok: result.ok } });
  return result;
}

export async function echoDevice(deviceId: string, callingAe: string) {
  const d = await db.device.findUnique({ where: { id: deviceId } });
  if (!d) throw new AppError('NOT_FOUND', 'Device not found');
  try {
    const r = await echo(devicePeer(d), callingAe, { timeoutMs: 10_000 });
    return { ok: true, ms: r.ms, message: `C-ECHO answered in ${r.ms} ms` };
  } catch (e) {
    return { ok: false, message: publicMessage(e, 'C-ECHO failed') };
  }
}
