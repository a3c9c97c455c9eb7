/**
 * STOW-RS into a pool (PS3.18 10.5): `POST /dicomweb/{poolId}/studies` with
 * `multipart/related; type="application/dicom"`. The body is streamed part by part into
 * temporary files (never held in memory; at most STOW_MAX_BYTES), then every object goes through
 * the pool's de-identification exactly like a retrieval (lib/receive/ingest.ts, identity from
 * lib/pools/identity.ts deidIdentityFor), and the temporary files are removed.
 *
 * Objects that are already research data of this pool — typically a viewer saving an SR, SEG or
 * presentation state made on pool images — must not be remapped again: a second UID remap would
 * break their references to the pool's images, and a second date shift would move them away
 * from the study. The rule: an object whose StudyInstanceUID is a study of this pool AND whose
 * PatientID is that study's research PatientID is "pool-side" data. It is de-identified with the
 * pool's rules plus Retain UIDs, the study's research identity and no date shift (private tags,
 * names and other PHI are still handled by the rules). Anything else (including an object
 * carrying a pool study's UID with another PatientID) is new data: research identity from its
 * PatientID, UIDs remapped, dates shifted, like any ingest.
 *
 * Who may store: the pool's owner only (need 'ingest', lib/auth/access.ts). What a STOW stores
 * answers the research identity of whatever PatientID it carries (the research ID in QIDO, the
 * date offset in the shifted dates), so every request that creates or uses identity-map entries
 * is audited as 'pool.identity-view' (via 'stow', counts only).
 *
 * Nothing stored is ever replaced: an object whose research SOP Instance UID is already in the
 * pool (indexed or held in quarantine) fails with 0x0111 (duplicate SOP instance), its stored
 * bytes stay as they are, and the attempt is audited ('dicomweb.stow-duplicate'). UIDs that an
 * object keeps (pool-side data, Retain UIDs) must pass lib/dicom/uids.ts (0xC000 otherwise).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { remapUid } from '../anonymize/engine';
import { ruleSetSchema, type RuleSet } from '../anonymize/rules';
import { audit } from '../audit';
import { readObjectIds, type ObjectIds } from '../dicom/object-ids';
import { requireSafeUid } from '../dicom/uids';
import { db } from '../db';
import { env } from '../env';
import { AppError } from '../errors';
import { logger } from '../logger';
import type { DeidIdentity } from '../anonymize/engine';
import { assertPoolOpen } from '../pools/closeout';
import { deidIdentityFor, type IdentitySource } from '../pools/identity';
import { stowProvenance } from '../pools/provenance';
import { DuplicateInstanceError, refreshStudyCounts, storeDeidentified, type IngestOutcome } from '../receive/ingest';
import { storageRoot } from '../storage';
import { parseMediaType } from './accept';
import { badRequest } from './errors';
import { type DicomJson, jsonResponse, num, seq, str, TAGS } from './json';
import { receiveMultipart, type ReceivedPart } from './multipart';
import type { DicomwebContext } from './route';
import { mapLimited } from './map-limited';

const log = logger('dicomweb');

/** Failure reasons (PS3.18 I.2.2 / PS3.4 B.2.3) and the warning we use. */
export const STOW_STATUS = {
  ProcessingFailure: 0x0110,
  /** The SOP instance is already in the pool: not replaced (PS3.4 "Duplicate SOP Instance"). */
  DuplicateSopInstance: 0x0111,
  SopClassNotSupported: 0x0122,
  CannotUnderstand: 0xc000,
  /** Warning: coercion of data elements (the object was stored under new UIDs, or held for review). */
  Coercion: 0xb000,
} as const;

/**
 * StudyIdentity rows written for pool-side objects map a research UID to itself: they carry this
 * marker as source PatientID and are removed in the same transaction. A backslash cannot occur in
 * a real (single-valued LO) PatientID, so no real row can match it.
 */
const POOL_SIDE_MARKER = 'tributary\\pool-side';

type Outcome =
  | { kind: 'stored'; ids: ObjectIds; sopUid: string; retrieveUrl: string | null; remapped: boolean; studyId: string; poolSide: boolean }
  | { kind: 'quarantined'; ids: ObjectIds; sopUid: string }
  | { kind: 'failed'; ids: ObjectIds | null; reason: number };

/** Identity-map entries a request created or used (for the identity audit), and refused duplicates. */
interface StowTally {
  identitiesCreated: number;
  identitiesReused: number;
  duplicates: number;
}

function failureReasonOf(e: unknown): number {
  if (e instanceof DuplicateInstanceError) return STOW_STATUS.DuplicateSopInstance;
  if (e instanceof AppError && e.code === 'BAD_REQUEST') return STOW_STATUS.CannotUnderstand;
  if (e instanceof AppError && e.code === 'UNSUPPORTED_MEDIA_TYPE') return STOW_STATUS.SopClassNotSupported;
  return STOW_STATUS.ProcessingFailure;
}


export async function stow(c: DicomwebContext<Record<string, string>>): Promise<Response> {
  // A closed pool (project close-out) takes no new data; the index refuses it too (lib/pools/closeout.ts).
  assertPoolOpen(c.pool);
  const { mediaType, params } = parseMediaType(c.req.headers.get('content-type') ?? '');
  if (mediaType !== 'multipart/related') throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send multipart/related; type="application/dicom"');
  if ((params.type ?? 'application/dicom').toLowerCase() !== 'application/dicom') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Only application/dicom parts are accepted (DICOM JSON or XML with bulk data is not supported)');
  }
  if (!params.boundary) throw badRequest('The multipart Content-Type has no boundary');
  const max = env().STOW_MAX_BYTES;
  const declared = Number(c.req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) throw new AppError('PAYLOAD_TOO_LARGE', `STOW-RS requests are limited to ${max} bytes`);

  const dir = path.join(storageRoot(), 'tmp', `stow-${randomUUID()}`);
  await fs.mkdir(dir, { recursive: true });
  try {
    const parts = await receiveMultipart(c.req.body, params.boundary, dir, max);
    if (!parts.length) throw badRequest('The multipart body has no parts');
    const rules = ruleSetSchema.parse(c.pool.rules);
    const identities = new Map<string, Promise<{ identity: DeidIdentity; source: IdentitySource }>>();
    const tally: StowTally = { identitiesCreated: 0, identitiesReused: 0, duplicates: 0 };
    let outcomes: Outcome[];
    try {
      outcomes = await mapLimited(parts, 4, (p) => storePart(c, p, rules, identities, tally));
    } finally {
      // The caller learned (or could now learn) the research identity of every PatientID it sent.
      const used = tally.identitiesCreated + tally.identitiesReused;
      if (used) {
        await audit({
          userId: c.actor.userId,
          action: 'pool.identity-view',
          poolId: c.pool.id,
          targetType: 'pool',
          targetId: c.pool.id,
          detail: { via: 'stow', patients: used, created: tally.identitiesCreated, reused: tally.identitiesReused },
        });
      }
    }
    const studyIds = outcomes.flatMap((o) => (o.kind === 'stored' ? [o.studyId] : []));
    if (studyIds.length) await refreshStudyCounts(studyIds);
    const counts = {
      stored: outcomes.filter((o) => o.kind === 'stored').length,
      quarantined: outcomes.filter((o) => o.kind === 'quarantined').length,
      failed: outcomes.filter((o) => o.kind === 'failed').length,
      poolSide: outcomes.filter((o) => o.kind === 'stored' && o.poolSide).length,
      duplicates: tally.duplicates,
    };
    await audit({ userId: c.actor.userId, action: 'dicomweb.stow', poolId: c.pool.id, targetType: 'pool', targetId: c.pool.id, detail: counts });
    return stowResponse(outcomes);
  } finally {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function storePart(
  c: DicomwebContext<Record<string, string>>,
  part: ReceivedPart,
  rules: RuleSet,
  identities: Map<string, Promise<{ identity: DeidIdentity; source: IdentitySource }>>,
  tally: StowTally,
): Promise<Outcome> {
  if (part.contentType && parseMediaType(part.contentType).mediaType !== 'application/dicom') {
    return { kind: 'failed', ids: null, reason: STOW_STATUS.CannotUnderstand };
  }
  const ids = await readObjectIds(part.path);
  if (!ids) return { kind: 'failed', ids: null, reason: STOW_STATUS.CannotUnderstand };
  const pool = c.pool;
  try {
    const existing = await db.study.findUnique({
      where: { poolId_studyInstanceUid: { poolId: pool.id, studyInstanceUid: ids.studyUid } },
      select: { patientId: true, patientName: true },
    });
    const poolSide = existing !== null && existing.patientId === ids.patientId;
    const retain = poolSide || rules.options.includes('retainUids');
    if (retain) {
      // Kept UIDs become storage paths: refuse ".", "..", "a/b" and the like before anything is written.
      requireSafeUid(ids.studyUid, 'Study Instance UID');
      requireSafeUid(ids.seriesUid, 'Series Instance UID');
      requireSafeUid(ids.sopInstanceUid, 'SOP Instance UID');
    }
    let outcome: IngestOutcome;
    if (poolSide) {
      outcome = await storeDeidentified({
        pool,
        rules: { ...rules, options: [...new Set([...rules.options, 'retainUids' as const])] },
        // Already research data: keep its research identity, shift nothing (its dates were shifted on the
        // way in) and look nothing up (lookup tables map source values, which it no longer holds).
        identity: { researchId: existing.patientId, researchName: existing.patientName || existing.patientId, dateOffsetDays: 0 },
        inPath: part.path,
        sourcePatientId: POOL_SIDE_MARKER,
        replace: false,
        provenance: stowProvenance({ userId: c.actor.userId, identitySource: 'existing' }),
        alsoCommit: (tx) => [tx.studyIdentity.deleteMany({ where: { poolId: pool.id, sourceStudyUid: ids.studyUid, sourcePatientId: POOL_SIDE_MARKER } })],
      });
    } else {
      // Without a PatientID there is no one to pseudonymise consistently: refuse rather than merge strangers.
      if (!ids.patientId) return { kind: 'failed', ids, reason: STOW_STATUS.CannotUnderstand };
      // The research identity (created on first use) and the lookup tables the rules name, as for a retrieval.
      let identity = identities.get(ids.patientId);
      if (!identity) {
        let source: IdentitySource = 'existing';
        identity = deidIdentityFor(pool, rules, { sourcePatientId: ids.patientId }, {
          onEntry: ({ created, source: s }) => {
            source = s;
            if (created) tally.identitiesCreated++;
            else tally.identitiesReused++;
          },
        }).then((d) => ({ identity: d, source }));
        identities.set(ids.patientId, identity);
      }
      const found = await identity;
      outcome = await storeDeidentified({
        pool,
        rules,
        identity: found.identity,
        inPath: part.path,
        sourcePatientId: ids.patientId,
        replace: false,
        provenance: stowProvenance({ userId: c.actor.userId, identitySource: found.source }),
      });
    }
    const targetSop = retain ? ids.sopInstanceUid : remapUid(ids.sopInstanceUid, pool.secret);
    if (outcome.kind === 'quarantined') return { kind: 'quarantined', ids, sopUid: targetSop };
    // Read the stored row back (by the predicted research UID, or the original if an override kept it).
    const row =
      (await db.instance.findUnique({
        where: { poolId_sopInstanceUid: { poolId: pool.id, sopInstanceUid: targetSop } },
        select: { sopInstanceUid: true, series: { select: { seriesInstanceUid: true, study: { select: { studyInstanceUid: true } } } } },
      })) ??
      (await db.instance.findUnique({
        where: { poolId_sopInstanceUid: { poolId: pool.id, sopInstanceUid: ids.sopInstanceUid } },
        select: { sopInstanceUid: true, series: { select: { seriesInstanceUid: true, study: { select: { studyInstanceUid: true } } } } },
      }));
    const retrieveUrl = row ? `${c.root}/studies/${row.series.study.studyInstanceUid}/series/${row.series.seriesInstanceUid}/instances/${row.sopInstanceUid}` : null;
    return {
      kind: 'stored',
      ids,
      sopUid: row?.sopInstanceUid ?? targetSop,
      retrieveUrl,
      remapped: (row?.sopInstanceUid ?? targetSop) !== ids.sopInstanceUid,
      studyId: outcome.studyId,
      poolSide,
    };
  } catch (e) {
    if (e instanceof DuplicateInstanceError) {
      tally.duplicates++;
      await audit({
        userId: c.actor.userId,
        action: 'dicomweb.stow-duplicate',
        poolId: pool.id,
        targetType: e.instanceId ? 'instance' : 'pool',
        targetId: e.instanceId ?? pool.id,
        detail: { part: part.index },
      });
    }
    // Our messages (AppError) name tags and offsets, never values; anything else is logged by name only,
    // since a database error could quote the arguments of its query (a source PatientID).
    log.warn('STOW-RS object refused', { poolId: pool.id, part: part.index, err: e });
    return { kind: 'failed', ids, reason: failureReasonOf(e) };
  }
}

/** The Store Instances Response Module (PS3.18 Annex I) and the status of Table 10.5.3-1. */
export function stowResponse(outcomes: Outcome[]): Response {
  const referenced: DicomJson[] = [];
  const failed: DicomJson[] = [];
  let warnings = 0;
  for (const o of outcomes) {
    if (o.kind === 'failed') {
      const item: DicomJson = { [TAGS.FailureReason]: num('US', o.reason) };
      if (o.ids) {
        item[TAGS.ReferencedSOPClassUID] = str('UI', o.ids.sopClassUid);
        item[TAGS.ReferencedSOPInstanceUID] = str('UI', o.ids.sopInstanceUid);
      }
      failed.push(item);
      continue;
    }
    const item: DicomJson = {
      [TAGS.ReferencedSOPClassUID]: str('UI', o.ids.sopClassUid),
      [TAGS.ReferencedSOPInstanceUID]: str('UI', o.sopUid),
      [TAGS.RetrieveURL]: str('UR', o.kind === 'stored' ? o.retrieveUrl : null),
    };
    // Stored under new UIDs (de-identification), or held for the owner's review: the client must know.
    if (o.kind === 'quarantined' || o.remapped) {
      item[TAGS.WarningReason] = num('US', STOW_STATUS.Coercion);
      warnings++;
    }
    referenced.push(item);
  }
  const studies = new Set(outcomes.flatMap((o) => (o.kind === 'stored' && o.retrieveUrl ? [o.retrieveUrl.split('/series/')[0]] : [])));
  const body: DicomJson = { [TAGS.RetrieveURL]: str('UR', studies.size === 1 ? [...studies][0] : null) };
  if (failed.length) body[TAGS.FailedSOPSequence] = seq(failed);
  if (referenced.length) body[TAGS.ReferencedSOPSequence] = seq(referenced);
  const status = referenced.length === 0 ? 409 : failed.length || warnings ? 202 : 200;
  return jsonResponse(body, status);
}
