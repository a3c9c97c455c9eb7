import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, Prisma } from '../db';
import { echo } from '../dicom/scu';
import { devicePeer } from '../devices/tls';
import { sourceFor, sourceInclude } from './sources';
import { AppError, publicMessage } from '../errors';
import { nextSecret, secretState } from '../secrets';
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

type ConnectorRow = Prisma.ConnectorGetPayload<{ include: typeof withParts }>;

/**
 * What leaves the server about a connector: everything but the stored secret, which is only
 * said to be "set" or "not set" (write-only, docs/security.md).
 */
export function connectorView<T extends { webSecret: string | null }>(c: T): Omit<T, 'webSecret'> & { webSecret: 'set' | 'not set' } {
  const { webSecret, ...rest } = c;
  return { ...rest, webSecret: secretState(webSecret) };
}

async function findConnector(id: string): Promise<ConnectorRow> {
  const c = await db.connector.findUnique({ where: { id }, include: withParts });
  if (!c) throw new AppError('NOT_FOUND', 'Connector not found');
  return c;
}

export const listConnectors = async () => (await db.connector.findMany({ orderBy: { name: 'asc' }, include: withParts })).map(connectorView);

export async function getConnector(id: string) {
  return connectorView(await findConnector(id));
}

/**
 * The row to write: the input with its write-only secret applied to the stored one. A DICOMweb
 * connector that authenticates must end up holding a secret (a password, a token or a client
 * secret); one that does not keeps none.
 */
function toData(input: ConnectorInput, stored: string | null) {
  const { webSecret, ...rest } = input;
  const secret = rest.type === 'DICOMWEB' && rest.webAuthType !== 'NONE' ? nextSecret(stored, webSecret) : null;
  if (rest.type === 'DICOMWEB' && rest.webAuthType !== 'NONE' && !secret) {
    const what = rest.webAuthType === 'BASIC' ? 'password' : rest.webAuthType === 'BEARER' ? 'token' : 'client secret';
    throw new AppError('VALIDATION', `The ${what} is required`, { webSecret: [`enter the ${what}`] });
  }
  return { ...rest, webSecret: secret };
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
  const c = await db.connector.create({ data: toData(input, null) }).catch(conflict);
  await audit({ userId: actor.userId, action: 'connector.create', targetType: 'connector', targetId: c.id });
  return connectorView(c);
}

export async function updateConnector(actor: Actor, id: string, input: ConnectorInput) {
  const before = await findConnector(id);
  await checkParts(input);
  const data = toData(input, before.webSecret);
  const c = await db.connector.update({ where: { id }, data }).catch(conflict);
  // Whether the secret changed is worth auditing; its value never is.
  await audit({ userId: actor.userId, action: 'connector.update', targetType: 'connector', targetId: id, detail: { secretChanged: data.webSecret !== before.webSecret } });
  return connectorView(c);
}

export async function deleteConnector(actor: Actor, id: string) {
  await findConnector(id);
  const active = await db.retrieval.count({ where: { connectorId: id, state: { in: ['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING'] } } });
  if (active) throw new AppError('CONFLICT', `This connector has ${active} retrieval(s) in progress; cancel them first`);
  const sources = await db.cohortSource.count({ where: { connectorId: id } });
  if (sources) throw new AppError('CONFLICT', `${sources} database cohort source(s) retrieve through this connector; pair them with another connector or delete them first`);
  await db.$transaction([db.query.deleteMany({ where: { connectorId: id } }), db.connector.delete({ where: { id } })]);
  await audit({ userId: actor.userId, action: 'connector.delete', targetType: 'connector', targetId: id });
}

/** "Test connection": C-ECHO to the PACS as the connector's query-pool AE. Never throws for network failures. */
export async function echoConnector(actor: Actor, id: string): Promise<{ ok: boolean; ms?: number; message: string }> {
  // The stored row with its secrets (the device's TLS key, a DICOMweb source's secret), decrypted
  // only for this one association or request; not the API's view.
  const c = await db.connector.findUnique({ where: { id }, include: sourceInclude });
  if (!c) throw new AppError('NOT_FOUND', 'Connector not found');
  if (c.type === 'DICOM' && !c.device) throw new AppError('VALIDATION', 'This connector has no PACS device');
  let result: { ok: boolean; ms?: number; message: string };
  try {
    const source = sourceFor(c);
    const r = await source.echo({ timeoutMs: 10_000 });
    result = { ok: true, ms: r.ms, message: `${source.kind === 'DICOM' ? 'C-ECHO' : source.kind === 'DICOMWEB' ? 'QIDO-RS' : 'The source'} answered in ${r.ms} ms by ${source.label}` };
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
