/**
 * Exporters (pool owner): a pool's named way out to one destination, with dcm4chee's exporter
 * properties (chunked, concurrency, transfer syntaxes, bearer-token / basic-auth overrides,
 * allow-any-hostname, disable-trust-manager), storage commitment, a schedule window and
 * auto-export. Only the pool's OWNER creates, changes and deletes them (lib/auth/access.ts need
 * 'exporters': administrators register destinations but never decide where a pool's data goes).
 *
 * The overrides bearerToken and basicAuth are encrypted (lib/secrets) and write-only: the API
 * and pages only say "set" or "not set". Members who may read the pool see names only.
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { decidePool } from '../auth/access';
import { db, Prisma, type PoolRole } from '../db';
import { AppError } from '../errors';
import { nextSecret, secretState } from '../secrets';
import type { ExporterInput } from './schema';

function conflict(e: unknown): never {
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')
    throw new AppError('CONFLICT', 'This pool already has an exporter with this name', { name: ['already in use'] });
  if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2003') throw new AppError('VALIDATION', 'The chosen destination does not exist', { destinationId: ['unknown destination'] });
  throw e;
}

const include = { destination: { select: { id: true, name: true, type: true, storageCommitment: true } } } as const;
type ExporterRow = Prisma.ExporterGetPayload<{ include: typeof include }>;

/** The owner's view: every setting, the two secrets as "set" / "not set". */
export function exporterView(x: ExporterRow) {
  const { bearerToken, basicAuth, ...rest } = x;
  return { ...rest, bearerToken: secretState(bearerToken), basicAuth: secretState(basicAuth) };
}
export type ExporterView = ReturnType<typeof exporterView>;

/** What any reader of the pool sees: enough to pick an exporter, nothing of its settings. */
export function exporterSummary(x: ExporterRow) {
  return { id: x.id, name: x.name, enabled: x.enabled, destination: { id: x.destination.id, name: x.destination.name, type: x.destination.type } };
}
export type ExporterSummary = ReturnType<typeof exporterSummary>;

async function findExporter(poolId: string, id: string): Promise<ExporterRow> {
  const x = await db.exporter.findUnique({ where: { id }, include });
  // Another pool's exporter does not exist for this pool (no probing of ids across pools).
  if (!x || x.poolId !== poolId) throw new AppError('NOT_FOUND', 'Exporter not found');
  return x;
}

export async function listExporters(poolId: string, view: 'owner' | 'summary') {
  const rows = await db.exporter.findMany({ where: { poolId }, orderBy: { name: 'asc' }, include });
  return view === 'owner' ? rows.map(exporterView) : rows.map(exporterSummary);
}

export async function getExporter(poolId: string, id: string) {
  return exporterView(await findExporter(poolId, id));
}

const STOW_ONLY = ['chunked', 'bearerToken', 'basicAuth', 'allowAnyHostname', 'disableTrustManager'] as const;

/** Checks the input against its destination, field by field; returns the row to write. */
async function toData(input: ExporterInput, stored: { bearerToken: string | null; basicAuth: string | null } | null) {
  const dest = await db.destination.findUnique({ where: { id: input.destinationId }, select: { type: true, storageCommitment: true } });
  if (!dest) throw new AppError('VALIDATION', 'Unknown destination', { destinationId: ['unknown destination'] });
  const fields: Record<string, string[]> = {};
  if (dest.type === 'DICOM') {
    for (const k of STOW_ONLY) if (input[k]) fields[k] = ['only for a DICOMweb (STOW-RS) destination'];
  } else if (input.storageCommitment) fields.storageCommitment = ['storage commitment is a DICOM (C-STORE) service'];
  if (dest.type === 'DICOM' && input.storageCommitment && !dest.storageCommitment)
    fields.storageCommitment = ['this destination does not support storage commitment (an administrator sets that on the destination)'];
  if (Object.keys(fields).length) throw new AppError('VALIDATION', 'Some settings do not fit this destination', fields);
  const { bearerToken, basicAuth, ...rest } = input;
  const data = {
    ...rest,
    bearerToken: dest.type === 'DICOMWEB' ? nextSecret(stored?.bearerToken, bearerToken) : null,
    basicAuth: dest.type === 'DICOMWEB' ? nextSecret(stored?.basicAuth, basicAuth) : null,
  };
  // One override at most: a new one replaces the other kind.
  if (bearerToken) data.basicAuth = null;
  if (basicAuth) data.bearerToken = null;
  return data;
}

export async function createExporter(actor: Actor, poolId: string, input: ExporterInput) {
  const data = await toData(input, null);
  const x = await db.exporter.create({ data: { ...data, poolId, createdById: actor.userId }, include }).catch(conflict);
  await audit({ userId: actor.userId, action: 'exporter.create', poolId, targetType: 'exporter', targetId: x.id, detail: { destinationId: x.destinationId } });
  return exporterView(x);
}

export async function updateExporter(actor: Actor, poolId: string, id: string, input: ExporterInput) {
  const before = await findExporter(poolId, id);
  const data = await toData(input, before);
  const x = await db.exporter.update({ where: { id }, data, include }).catch(conflict);
  await audit({
    userId: actor.userId,
    action: 'exporter.update',
    poolId,
    targetType: 'exporter',
    targetId: id,
    detail: { destinationId: x.destinationId, secretChanged: data.bearerToken !== before.bearerToken || data.basicAuth !== before.basicAuth },
  });
  return exporterView(x);
}

const ACTIVE_EXPORTS = ['QUEUED', 'SCHEDULED', 'RUNNING'] as const;

export async function deleteExporter(actor: Actor, poolId: string, id: string) {
  await findExporter(poolId, id);
  const active = await db.export.count({ where: { exporterId: id, state: { in: [...ACTIVE_EXPORTS] } } });
  if (active) throw new AppError('CONFLICT', `This exporter has ${active} export(s) queued or running; cancel them first`);
  // Exports cascade with their exporter: deleting one with a history would destroy the records its
  // receipts are built from. Disabling it keeps them.
  const past = await db.export.count({ where: { exporterId: id } });
  if (past) throw new AppError('CONFLICT', `This exporter has ${past} past export(s) whose records and receipts would be lost; disable it instead`);
  await db.exporter.delete({ where: { id } });
  await audit({ userId: actor.userId, action: 'exporter.delete', poolId, targetType: 'exporter', targetId: id });
}

/**
 * The exporters a page offers in its "Export…" dialog: the enabled ones, names only. Null when the
 * visitor may not export from this pool (lib/auth/access.ts need 'export': the owner and
 * researchers; not coordinators, not an administrator by being one). The button is a convenience:
 * POST /pools/{id}/exports decides again.
 */
export async function exportChoices(actor: Actor, access: { pool: { id: string }; poolRole: PoolRole | null }): Promise<ExporterSummary[] | null> {
  if (decidePool(actor, access.pool.id, access.poolRole, 'export') !== 'allow') return null;
  const rows = await db.exporter.findMany({ where: { poolId: access.pool.id, enabled: true }, orderBy: { name: 'asc' }, include });
  return rows.map(exporterSummary);
}
