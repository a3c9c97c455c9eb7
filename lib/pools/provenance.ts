/**
 * Study provenance (issue 12, docs/exports.md "Provenance and close-out"): where each study of a
 * pool came from. One StudyProvenance row per event that brought instances of the study in — a
 * retrieval (connector, query, method, times), a push from a device, a STOW-RS upload — with the
 * pool rule version(s) applied and where the research identity came from (lib/pools/identity.ts:
 * an existing identity-map entry, the query row, a lookup table, or the pseudonym).
 *
 * Written by the ingest itself (lib/receive/ingest.ts), in the same transaction as the instance's
 * index row, as an INSERT … ON CONFLICT that only widens the row (rule versions merged, last time
 * moved on): a retried or resumed ingest never adds a second row for one event.
 *
 * Never a source identifier: no MRN, patient name, accession number or source UID is written here
 * or read into the document (the spreadsheet's file name is left out too: people name files after
 * patients). Only Tributary's own ids and names, times and counts.
 */
import { randomUUID } from 'node:crypto';
import { db, Prisma } from '../db';
import { AppError } from '../errors';
import type { IdentitySource } from './identity';

export type ProvenanceSourceKind = 'MRN_LIST' | 'SPREADSHEET' | 'COHORT_SOURCE' | 'PUSH' | 'STOW';
export type ProvenanceMethod = 'CMOVE' | 'CGET' | 'WADORS' | 'PUSH' | 'STOW';

/** What one ingest event knows about where its instances came from (no source identifiers). */
export interface ProvenanceEvent {
  eventKey: string;
  sourceKind: ProvenanceSourceKind;
  method: ProvenanceMethod;
  identitySource: IdentitySource;
  connectorId?: string | null;
  connectorName?: string | null;
  queryId?: string | null;
  cohortSourceId?: string | null;
  cohortSourceName?: string | null;
  retrievalId?: string | null;
  deviceId?: string | null;
  deviceName?: string | null;
  callingAeTitle?: string | null;
  userId?: string | null;
  requestedAt?: Date | null;
  startedAt?: Date | null;
}

export const SOURCE_KIND_LABEL: Record<ProvenanceSourceKind, string> = {
  MRN_LIST: 'MRN list (query form)',
  SPREADSHEET: 'Spreadsheet',
  COHORT_SOURCE: 'Cohort source (database)',
  PUSH: 'Push from a device (C-STORE)',
  STOW: 'STOW-RS upload',
};

export const IDENTITY_SOURCE_LABEL: Record<string, string> = {
  existing: 'Identity map (assigned at an earlier ingest)',
  'query-row': 'Query row (research ID column)',
  lookup: 'Lookup table "research-id"',
  pseudonym: 'Pseudonym (derived from the pool key)',
};

const day = (d = new Date()) => d.toISOString().slice(0, 10);

/**
 * The statement recording `ev` for a study, for the index transaction: creates the event's row
 * or widens it (rule version added, lastStoredAt moved). Idempotent.
 */
export function provenanceUpsert(studyId: string, poolId: string, ruleVersion: number, ev: ProvenanceEvent): Prisma.PrismaPromise<number> {
  return db.$executeRaw(provenanceUpsertSql([studyId], poolId, ruleVersion, ev));
}

/**
 * The same for several studies, as SQL (no RETURNING) to embed: a pipelined batch writes it as
 * one more CTE of its index statement (lib/receive/ingest.ts indexPlacedBatch).
 */
export function provenanceUpsertSql(studyIds: string[], poolId: string, ruleVersion: number, ev: ProvenanceEvent): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO "StudyProvenance" ("id", "studyId", "poolId", "eventKey", "sourceKind", "method", "identitySource",
      "connectorId", "connectorName", "queryId", "cohortSourceId", "cohortSourceName", "retrievalId",
      "deviceId", "deviceName", "callingAeTitle", "userId", "requestedAt", "startedAt", "ruleVersions")
    SELECT gen_random_uuid()::text, sid, ${poolId}, ${ev.eventKey}, ${ev.sourceKind}, ${ev.method}, ${ev.identitySource},
      ${ev.connectorId ?? null}, ${ev.connectorName ?? null}, ${ev.queryId ?? null}, ${ev.cohortSourceId ?? null}, ${ev.cohortSourceName ?? null}, ${ev.retrievalId ?? null},
      ${ev.deviceId ?? null}, ${ev.deviceName ?? null}, ${ev.callingAeTitle ?? null}, ${ev.userId ?? null}, ${ev.requestedAt ?? null}::timestamp, ${ev.startedAt ?? null}::timestamp,
      ARRAY[${ruleVersion}]::integer[]
    FROM unnest(${studyIds}::text[]) AS sid
    ON CONFLICT ("studyId", "eventKey") DO UPDATE SET
      "lastStoredAt" = now(),
      "ruleVersions" = (SELECT coalesce(array_agg(DISTINCT v ORDER BY v), ARRAY[]::integer[])
                        FROM unnest("StudyProvenance"."ruleVersions" || EXCLUDED."ruleVersions") AS v)`;
}

/** The provenance of a retrieval's instances (connector, query, method, times). */
export async function retrievalProvenance(retrievalId: string, identitySource: IdentitySource): Promise<ProvenanceEvent | undefined> {
  const r = await db.retrieval.findUnique({
    where: { id: retrievalId },
    select: {
      id: true,
      createdAt: true,
      startedAt: true,
      query: { select: { id: true, source: true, cohortSource: { select: { id: true, name: true } } } },
      connector: { select: { id: true, name: true, type: true, retrieveMethod: true } },
    },
  });
  if (!r) return undefined;
  const sourceKind: ProvenanceSourceKind = r.query.source === 'SPREADSHEET' ? 'SPREADSHEET' : r.query.source === 'DB' ? 'COHORT_SOURCE' : 'MRN_LIST';
  return {
    eventKey: `retrieval:${r.id}`,
    sourceKind,
    method: r.connector.type === 'DICOMWEB' ? 'WADORS' : r.connector.retrieveMethod,
    identitySource,
    connectorId: r.connector.id,
    connectorName: r.connector.name,
    queryId: r.query.id,
    cohortSourceId: r.query.cohortSource?.id ?? null,
    cohortSourceName: r.query.cohortSource?.name ?? null,
    retrievalId: r.id,
    requestedAt: r.createdAt,
    startedAt: r.startedAt,
  };
}

/** A push from a device: one event per sending device (or AE title) and day. */
export function pushProvenance(opts: { callingAe: string; deviceId?: string | null; deviceName?: string | null; identitySource: IdentitySource }): ProvenanceEvent {
  return {
    eventKey: `push:${opts.deviceId ?? opts.callingAe}:${day()}`,
    sourceKind: 'PUSH',
    method: 'PUSH',
    identitySource: opts.identitySource,
    deviceId: opts.deviceId ?? null,
    deviceName: opts.deviceName ?? null,
    callingAeTitle: opts.callingAe,
  };
}

/** A STOW-RS upload: one event per user and day. */
export function stowProvenance(opts: { userId: string; identitySource: IdentitySource }): ProvenanceEvent {
  return { eventKey: `stow:${opts.userId}:${day()}`, sourceKind: 'STOW', method: 'STOW', identitySource: opts.identitySource, userId: opts.userId };
}

/** A retrieval ended: its provenance rows learn when. */
export async function markRetrievalProvenanceFinished(retrievalId: string, finishedAt: Date): Promise<void> {
  await db.$executeRaw`
    UPDATE "StudyProvenance" SET "finishedAt" = ${finishedAt.toISOString()}::timestamp(3), "lastStoredAt" = ${lastStoredSql(retrievalId)}
    WHERE "retrievalId" = ${retrievalId}`;
}

/**
 * A batched ingest writes a study's row once per step (lib/receive/ingest.ts indexPlacedBatch, not
 * at each batch): lastStoredAt is moved when the step ends (the move's pipeline, a cancelled
 * anonymize step) and when the retrieval finishes, to when its last new instance was committed
 * (its per-instance record's time), never back.
 */
export async function markRetrievalProvenanceStored(retrievalId: string): Promise<void> {
  await db.$executeRaw`UPDATE "StudyProvenance" SET "lastStoredAt" = ${lastStoredSql(retrievalId)} WHERE "retrievalId" = ${retrievalId}`;
}

function lastStoredSql(retrievalId: string): Prisma.Sql {
  return Prisma.sql`greatest("lastStoredAt", coalesce(
    (SELECT max("createdAt") FROM "RetrievalInstance" WHERE "retrievalId" = ${retrievalId} AND "outcome" = 'stored'), "lastStoredAt"))`;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/**
 * The provenance document of studies of the pool — one format for the study page, provenance.json
 * and the PROVENANCE.json of a zip: { format, pool, studies: [{ study, events }] }. Throws
 * NOT_FOUND when a study is not in the pool.
 */
export async function provenanceFile(poolId: string, studyIds: string[]) {
  const ids = [...new Set(studyIds)];
  const studies = await db.study.findMany({
    where: { poolId, id: { in: ids } },
    select: { id: true, studyInstanceUid: true, patientId: true, provenance: { orderBy: [{ firstStoredAt: 'asc' }, { id: 'asc' }] } },
  });
  if (studies.length !== ids.length) throw new AppError('NOT_FOUND', 'Study not found');
  const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId }, select: { id: true, name: true } });
  const userIds = [...new Set(studies.flatMap((s) => s.provenance.map((p) => p.userId).filter((x): x is string => !!x)))];
  const users = new Map((await db.user.findMany({ where: { id: { in: userIds } }, select: { id: true, name: true } })).map((u) => [u.id, u.name]));
  const order = new Map(ids.map((id, i) => [id, i]));
  studies.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return {
    format: 'tributary-provenance/1' as const,
    pool: { id: pool.id, name: pool.name },
    studies: studies.map((s) => ({
      study: { id: s.id, studyInstanceUid: s.studyInstanceUid, researchPatientId: s.patientId },
      events: s.provenance.map((p) => ({
        source: { kind: p.sourceKind, label: SOURCE_KIND_LABEL[p.sourceKind as ProvenanceSourceKind] ?? p.sourceKind },
        method: p.method,
        connector: p.connectorId ? { id: p.connectorId, name: p.connectorName } : null,
        query: p.queryId ? { id: p.queryId } : null,
        cohortSource: p.cohortSourceId ? { id: p.cohortSourceId, name: p.cohortSourceName } : null,
        retrieval: p.retrievalId ? { id: p.retrievalId, requestedAt: iso(p.requestedAt), startedAt: iso(p.startedAt), finishedAt: iso(p.finishedAt) } : null,
        device: p.callingAeTitle ? { id: p.deviceId, name: p.deviceName, aeTitle: p.callingAeTitle } : null,
        storedBy: p.userId ? { id: p.userId, name: users.get(p.userId) ?? null } : null,
        firstStoredAt: iso(p.firstStoredAt),
        lastStoredAt: iso(p.lastStoredAt),
        ruleVersions: p.ruleVersions,
        identitySource: { kind: p.identitySource, label: IDENTITY_SOURCE_LABEL[p.identitySource] ?? p.identitySource },
      })),
    })),
  };
}

export type ProvenanceFile = Awaited<ReturnType<typeof provenanceFile>>;
export type ProvenanceEventView = ProvenanceFile['studies'][number]['events'][number];
