/**
 * Destinations (admin): where pools' exporters send studies. A DICOMweb endpoint (STOW-RS URL,
 * authentication, TLS) or a DICOM device (C-STORE). The stored secret (password, bearer token or
 * OAuth2 client secret) is write-only: the API and pages only say "set" or "not set".
 *
 * "Test destination": C-ECHO to the device (DICOM), or one authenticated GET on the STOW-RS URL
 * (DICOMweb) that reports credentials and certificate problems in words. Neither sends data.
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, Prisma } from '../db';
import { echo } from '../dicom/scu';
import { devicePeer } from '../devices/tls';
import { AppError, publicMessage } from '../errors';
import { HttpError, httpRequest, hostOf } from '../http/client';
import { webPeer } from '../http/peer';
import { nextSecret, secretState } from '../secrets';
import type { DestinationInput } from './schema';

/** Calling AE title of a destination test when no pool exports to it yet. */
export const TEST_CALLING_AE = 'TRIBUTARY';

function conflict(e: unknown): never {
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')
    throw new AppError('CONFLICT', 'A destination with this name already exists', { name: ['already in use'] });
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2003') throw new AppError('VALIDATION', 'The chosen device does not exist', { deviceId: ['unknown device'] });
  throw e;
}

// The device without its TLS private key (encrypted, but never returned: write-only).
const include = {
  device: { select: { id: true, name: true, aeTitle: true, host: true, port: true, tls: true } },
  _count: { select: { exporters: true } },
} as const;

type DestinationRow = Prisma.DestinationGetPayload<{ include: typeof include }>;

/** What leaves the server about a destination: everything but the secret, which is "set" or "not set". */
export function destinationView(d: DestinationRow) {
  const { webSecret, _count, ...rest } = d;
  return { ...rest, webHeaders: (rest.webHeaders ?? {}) as Record<string, string>, webSecret: secretState(webSecret), exporterCount: _count.exporters };
}
export type DestinationView = ReturnType<typeof destinationView>;

async function findDestination(id: string): Promise<DestinationRow> {
  const d = await db.destination.findUnique({ where: { id }, include });
  if (!d) throw new AppError('NOT_FOUND', 'Destination not found');
  return d;
}

export const listDestinations = async () => (await db.destination.findMany({ orderBy: { name: 'asc' }, include })).map(destinationView);

export async function getDestination(id: string) {
  return destinationView(await findDestination(id));
}

/**
 * The row to write: a DICOM destination keeps no DICOMweb settings; a DICOMweb one that
 * authenticates must end up holding its secret; one that does not keeps none.
 */
function toData(input: DestinationInput, stored: string | null) {
  const { webSecret, ...rest } = input;
  if (rest.type === 'DICOM') {
    return {
      ...rest,
      webStowUrl: null,
      webHeaders: {},
      webTlsCa: null,
      webTlsAllowAnyHost: false,
      webTlsTrustAll: false,
      webAuthType: 'NONE' as const,
      webUsername: null,
      webSecret: null,
      webTokenUrl: null,
      webScope: null,
    };
  }
  const secret = rest.webAuthType !== 'NONE' ? nextSecret(stored, webSecret) : null;
  if (rest.webAuthType !== 'NONE' && !secret) {
    const what = rest.webAuthType === 'BASIC' ? 'password' : rest.webAuthType === 'BEARER' ? 'token' : 'client secret';
    throw new AppError('VALIDATION', `The ${what} is required`, { webSecret: [`enter the ${what}`] });
  }
  return { ...rest, deviceId: null, storageCommitment: false, webSecret: secret };
}

async function checkDevice(input: DestinationInput) {
  if (input.deviceId && !(await db.device.findUnique({ where: { id: input.deviceId }, select: { id: true } })))
    throw new AppError('VALIDATION', 'Unknown device', { deviceId: ['unknown device'] });
}

export async function createDestination(actor: Actor, input: DestinationInput) {
  await checkDevice(input);
  const d = await db.destination.create({ data: toData(input, null), include }).catch(conflict);
  await audit({ userId: actor.userId, action: 'destination.create', targetType: 'destination', targetId: d.id });
  return destinationView(d);
}

export async function updateDestination(actor: Actor, id: string, input: DestinationInput) {
  const before = await findDestination(id);
  await checkDevice(input);
  if (before.type !== input.type && before._count.exporters > 0)
    throw new AppError('CONFLICT', `${before._count.exporters} exporter(s) send to this destination: its type cannot change while they do`, { type: ['in use by exporters'] });
  if (!input.storageCommitment && before.storageCommitment) {
    const asking = await db.exporter.count({ where: { destinationId: id, storageCommitment: true } });
    if (asking)
      throw new AppError('CONFLICT', `${asking} exporter(s) ask this destination for storage commitment; turn it off there first`, { storageCommitment: ['exporters ask for it'] });
  }
  const data = toData(input, before.webSecret);
  const d = await db.destination.update({ where: { id }, data, include }).catch(conflict);
  // Whether the secret changed is worth auditing; its value never is.
  await audit({ userId: actor.userId, action: 'destination.update', targetType: 'destination', targetId: id, detail: { secretChanged: data.webSecret !== before.webSecret } });
  return destinationView(d);
}

export async function deleteDestination(actor: Actor, id: string) {
  const d = await findDestination(id);
  if (d._count.exporters > 0) {
    const pools = await db.exporter.findMany({ where: { destinationId: id }, select: { pool: { select: { name: true } } }, distinct: ['poolId'] });
    throw new AppError(
      'CONFLICT',
      `${d._count.exporters} exporter(s) send to this destination (pool${pools.length === 1 ? '' : 's'} ${pools.map((p) => `“${p.pool.name}”`).join(', ')}); their owners must delete them or pick another destination first`,
    );
  }
  await db.destination.delete({ where: { id } });
  await audit({ userId: actor.userId, action: 'destination.delete', targetType: 'destination', targetId: id });
}

const AUTH_WORDS = { NONE: 'without authentication', BASIC: 'with the user name and password', BEARER: 'with the bearer token', OAUTH2: 'with an OAuth2 token' } as const;

/**
 * "Test destination". DICOM: C-ECHO to the device, as the AE title of a pool that exports to it
 * (else TRIBUTARY). DICOMweb: one authenticated GET on the STOW-RS URL; a server that answers
 * it at all (even "405 use POST") is reachable and took the credentials; 401/403, certificate and
 * network failures come back as sentences. Never throws for network failures; sends no data.
 */
export async function testDestination(actor: Actor, id: string): Promise<{ ok: boolean; ms?: number; message: string }> {
  const d = await db.destination.findUnique({ where: { id }, include: { device: true, exporters: { select: { pool: { select: { aeTitle: true } } }, take: 1 } } });
  if (!d) throw new AppError('NOT_FOUND', 'Destination not found');
  let result: { ok: boolean; ms?: number; message: string };
  const started = performance.now();
  try {
    if (d.type === 'DICOM') {
      if (!d.device) throw new AppError('VALIDATION', 'This destination has no DICOM device');
      const callingAe = d.exporters[0]?.pool.aeTitle ?? TEST_CALLING_AE;
      const r = await echo(devicePeer(d.device), callingAe, { timeoutMs: 10_000 });
      result = { ok: true, ms: r.ms, message: `C-ECHO as ${callingAe} answered in ${r.ms} ms by ${d.device.aeTitle} at ${d.device.host}:${d.device.port}${d.device.tls ? ' (TLS)' : ''}` };
    } else {
      if (!d.webStowUrl) throw new AppError('VALIDATION', 'This destination has no STOW-RS URL');
      const peer = { ...webPeer(d, { what: 'destination' }), connectTimeoutMs: Math.min(d.webConnectTimeoutMs, 10_000), readTimeoutMs: Math.min(d.webReadTimeoutMs, 15_000) };
      const url = new URL(d.webStowUrl);
      url.searchParams.set('limit', '1');
      // STOW-RS is POST only; a GET (QIDO-RS on most servers) is answered without storing anything.
      const res = await httpRequest(url, peer, { method: 'GET', headers: { accept: 'application/dicom+json' }, accept: (s) => s === 204 || s === 400 || s === 405 || s === 406 || s === 415 });
      res.discard();
      const ms = Math.round(performance.now() - started);
      result = { ok: true, ms, message: `${hostOf(url)} answered HTTP ${res.status} in ${ms} ms ${AUTH_WORDS[d.webAuthType]}${url.protocol === 'https:' ? (d.webTlsTrustAll ? ' (certificate NOT checked)' : ' over verified TLS') : ''}` };
    }
  } catch (e) {
    if (e instanceof HttpError && e.kind === 'not-found') result = { ok: false, message: `${hostOf(d.webStowUrl ?? '')} has no such resource (HTTP 404): check the STOW-RS URL (it usually ends in /studies)` };
    else result = { ok: false, message: publicMessage(e, d.type === 'DICOM' ? 'C-ECHO failed' : 'The request failed').replace(/connector/g, 'destination') };
  }
  await audit({ userId: actor.userId, action: 'destination.test', targetType: 'destination', targetId: id, detail: { ok: result.ok } });
  return result;
}
