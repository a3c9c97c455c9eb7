/**
 * The quarantine of a pool: de-identified instances held back because their pixels may carry
 * burned-in text or faces (docs/deidentification.md, "Quarantine"). The files wait under
 * quarantine/<pool>/<sop>.dcm, outside the pool's storage and index.
 *
 * The pool owner decides, instance by instance (or a selection at once):
 * - release: the file moves into the pool's storage and is indexed exactly as a stored instance
 *   (lib/receive/ingest.ts indexDeidentified); the retrieval's per-instance record becomes 'stored'
 *   and its stored count is recounted;
 * - drop: the file is deleted.
 * The row stays either way with its decision, who and when: the record of what was held and why.
 * A decision is claimed atomically (decision IS NULL -> released/dropped), so two owners deciding
 * at once cannot both act on one instance. Every decision is audited, with ids only.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describeQuarantineReason } from '../anonymize/burned-in';
import { remapUid } from '../anonymize/engine';
import { readIndexFields } from '../anonymize/index-fields';
import { parsePart10 } from '../anonymize/parse';
import { sopClassName } from '../anonymize/sop-classes';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, type Pool, type Prisma } from '../db';
import { AppError } from '../errors';
import { logger } from '../logger';
import { absolute, ensureDir, poolInstanceRelPath, pruneEmptyDirs, storageRoot } from '../storage';
import { indexDeidentified, refreshStudyCounts } from '../receive/ingest';
import { provenanceUpsert, retrievalProvenance } from './provenance';

const log = logger('quarantine');

/** Parsed with quarantineListQuerySchema (lib/api/endpoints/deid.ts). */
export interface QuarantineListQuery {
  status: 'pending' | 'released' | 'dropped' | 'redacted' | 'all';
  page: number;
  pageSize: number;
}

export async function listQuarantine(poolId: string, query: QuarantineListQuery) {
  const where: Prisma.QuarantinedInstanceWhereInput = { poolId };
  if (query.status === 'pending') where.decision = null;
  else if (query.status !== 'all') where.decision = query.status;
  const [total, rows, pending] = await Promise.all([
    db.quarantinedInstance.count({ where }),
    db.quarantinedInstance.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
    }),
    db.quarantinedInstance.count({ where: { poolId, decision: null } }),
  ]);
  const deciders = await db.user.findMany({
    where: { id: { in: [...new Set(rows.map((r) => r.decidedById).filter((x): x is string => !!x))] } },
    select: { id: true, name: true },
  });
  const names = new Map(deciders.map((u) => [u.id, u.name]));
  const studies = await db.study.findMany({
    where: { poolId, studyInstanceUid: { in: [...new Set(rows.map((r) => r.studyInstanceUid))] } },
    select: { id: true, studyInstanceUid: true, patientId: true },
  });
  const studyByUid = new Map(studies.map((s) => [s.studyInstanceUid, s]));
  return {
    total,
    pending,
    page: query.page,
    pageSize: query.pageSize,
    rows: rows.map((r) => ({
      id: r.id,
      /** Why it is held, for the owner (the reason codes' texts; an older free-text reason as stored). */
      reason: describeQuarantineReason(r.reason).text,
      /** The stored reason codes (lib/anonymize/burned-in.ts); empty for a reason stored before them. */
      reasonCodes: describeQuarantineReason(r.reason).codes,
      modality: r.modality,
      sopClassUid: r.sopClassUid,
      sopClassName: sopClassName(r.sopClassUid),
      studyInstanceUid: r.studyInstanceUid,
      seriesInstanceUid: r.seriesInstanceUid,
      sopInstanceUid: r.sopInstanceUid,
      /** The study in the pool's index, when other instances of it were stored or released. */
      studyId: studyByUid.get(r.studyInstanceUid)?.id ?? null,
      researchId: studyByUid.get(r.studyInstanceUid)?.patientId ?? null,
      retrievalId: r.retrievalId,
      size: r.size,
      ruleVersion: r.ruleVersion,
      createdAt: r.createdAt,
      decision: r.decision as 'released' | 'dropped' | 'redacted' | null,
      /** OCR of the pixels (lib/ocr/run-ocr.ts): status and how many boxes of text it found (never the text). */
      ocr: { status: r.ocrStatus, boxes: r.ocrBoxCount, error: r.ocrError },
      decidedAt: r.decidedAt,
      decidedBy: r.decidedById ? (names.get(r.decidedById) ?? 'deleted user') : null,
    })),
  };
}

/** Who decides: a user, or null for the pool's own rule (release when OCR found no text). */
export type Decider = Pick<Actor, 'userId'> | null;

/** Claims the undecided row for this decision; NOT_FOUND / CONFLICT otherwise. */
export async function claim(actor: Decider, poolId: string, id: string, decision: 'released' | 'dropped' | 'redacted') {
  const { count } = await db.quarantinedInstance.updateMany({
    where: { id, poolId, decision: null },
    data: { decision, decidedAt: new Date(), decidedById: actor?.userId ?? null },
  });
  const row = await db.quarantinedInstance.findFirst({ where: { id, poolId } });
  if (!row) throw new AppError('NOT_FOUND', 'No such quarantined instance in this pool');
  if (count !== 1) throw new AppError('CONFLICT', `This instance was already ${row.decision}`);
  return row;
}

export async function unclaim(id: string) {
  await db.quarantinedInstance.update({ where: { id }, data: { decision: null, decidedAt: null, decidedById: null } }).catch(() => undefined);
}

/**
 * The retrieval's record of this instance (keyed by source SOP UID): found by remapping the
 * retrieval's quarantined source UIDs with the pool key (or equal, under Retain UIDs).
 */
export async function retrievalRecordFor(pool: Pick<Pool, 'secret'>, retrievalId: string, researchSop: string) {
  const records = await db.retrievalInstance.findMany({ where: { retrievalId, outcome: 'quarantined' }, select: { id: true, sourceSopUid: true } });
  return records.find((r) => r.sourceSopUid === researchSop || remapUid(r.sourceSopUid, pool.secret) === researchSop) ?? null;
}

export async function releaseQuarantined(actor: Decider, pool: Pick<Pool, 'id' | 'secret'>, id: string): Promise<{ id: string; instanceId: string; studyId: string }> {
  const row = await claim(actor, pool.id, id, 'released');
  const from = absolute(row.path);
  const rel = poolInstanceRelPath(pool.id, row.studyInstanceUid, row.seriesInstanceUid, row.sopInstanceUid);
  const to = absolute(rel);
  let moved = false;
  try {
    const bytes = await fs.readFile(from).catch(() => {
      throw new AppError('CONFLICT', 'The quarantined file is missing; it cannot be released');
    });
    const parsed = parsePart10(bytes);
    const index = readIndexFields(bytes);
    await ensureDir(path.dirname(to));
    await fs.rename(from, to);
    moved = true;
    const record = row.retrievalId ? await retrievalRecordFor(pool, row.retrievalId, row.sopInstanceUid) : null;
    const provenance = row.retrievalId ? await retrievalProvenance(row.retrievalId, 'existing') : undefined;
    const { studyId } = await indexDeidentified({
      poolId: pool.id,
      path: rel,
      size: bytes.length,
      sopClassUid: row.sopClassUid,
      transferSyntaxUid: parsed.transferSyntaxUid,
      targetUids: { study: row.studyInstanceUid, series: row.seriesInstanceUid, sop: row.sopInstanceUid },
      index,
      identity: { researchId: index.patientId ?? '', researchName: index.patientName ?? '' },
      ruleVersion: row.ruleVersion,
      alsoCommit: (studyId) => [
        ...(record ? [db.retrievalInstance.update({ where: { id: record.id }, data: { outcome: 'stored' } })] : []),
        // The retrieval that brought it is where the study came from (its identity was assigned then).
        ...(provenance ? [provenanceUpsert(studyId, pool.id, row.ruleVersion, provenance)] : []),
      ],
    });
    await refreshStudyCounts([studyId]);
    if (row.retrievalId) {
      const stored = await db.retrievalInstance.count({ where: { retrievalId: row.retrievalId, outcome: 'stored' } });
      await db.retrieval.update({ where: { id: row.retrievalId }, data: { stored } }).catch(() => undefined);
    }
    await pruneEmptyDirs(path.dirname(from), path.join(storageRoot(), 'quarantine'));
    const instance = await db.instance.findUniqueOrThrow({ where: { poolId_sopInstanceUid: { poolId: pool.id, sopInstanceUid: row.sopInstanceUid } }, select: { id: true } });
    await audit({
      userId: actor?.userId ?? null,
      action: actor ? 'quarantine.release' : 'quarantine.auto-release',
      poolId: pool.id,
      targetType: 'quarantined-instance',
      targetId: row.id,
      detail: { instanceId: instance.id, ruleVersion: row.ruleVersion, modality: row.modality },
    });
    return { id: row.id, instanceId: instance.id, studyId };
  } catch (e) {
    if (moved) await fs.rename(to, from).catch((err) => log.error('could not move a failed release back to quarantine', { id: row.id, err: (err as Error).name }));
    await unclaim(row.id);
    throw e;
  }
}

export async function dropQuarantined(actor: Actor, pool: Pick<Pool, 'id'>, id: string): Promise<{ id: string }> {
  const row = await claim(actor, pool.id, id, 'dropped');
  const file = absolute(row.path);
  try {
    await fs.rm(file, { force: true });
  } catch (e) {
    await unclaim(row.id);
    throw e;
  }
  await pruneEmptyDirs(path.dirname(file), path.join(storageRoot(), 'quarantine'));
  await audit({
    userId: actor.userId,
    action: 'quarantine.drop',
    poolId: pool.id,
    targetType: 'quarantined-instance',
    targetId: row.id,
    detail: { ruleVersion: row.ruleVersion, modality: row.modality },
  });
  return { id: row.id };
}

/** A decision on several instances: each one on its own; what could not be done is reported. */
export async function decideQuarantined(
  actor: Actor,
  pool: Pick<Pool, 'id' | 'secret'>,
  input: { ids: string[]; decision: 'release' | 'drop' },
): Promise<{ done: string[]; failed: { id: string; reason: string }[] }> {
  const done: string[] = [];
  const failed: { id: string; reason: string }[] = [];
  for (const id of [...new Set(input.ids)]) {
    try {
      if (input.decision === 'release') await releaseQuarantined(actor, pool, id);
      else await dropQuarantined(actor, pool, id);
      done.push(id);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      failed.push({ id, reason: e.message });
    }
  }
  return { done, failed };
}
