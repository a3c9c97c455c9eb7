/**
 * Redact and release, the owner's third choice for a quarantined instance (after release and drop):
 * the pixels in the regions are blanked into a NEW instance (lib/imaging/redact.ts) that enters
 * the pool's storage and index under its new SOP Instance UID; the quarantined file is deleted and
 * its row is decided 'redacted'. The regions come from
 * - the device signature rules that match the instance (lib/ocr/signatures.ts), unless useSignatures is false;
 * - the OCR boxes of the instance, padded by a quarter of their height (at least 2 px) and applied
 *   to every frame (burned-in labels stay put from frame to frame), unless useOcr is false;
 * - the rectangles the owner drew on the quarantine view (a frame each, or every frame).
 * A Redaction row records what was done (regions with their source, counts, syntaxes; no image
 * content) for the de-identification report; the audit event has the counts.
 * The decision is claimed atomically first, so two owners cannot both act; any failure gives it back.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { readIndexFields } from '../anonymize/index-fields';
import { audit } from '../audit';
import { db, type Pool } from '../db';
import { AppError } from '../errors';
import { openPixelFile } from '../imaging/pixel-file';
import { redactFile, RedactionRefusedError, type RedactRegion } from '../imaging/redact';
import { str } from '../imaging/dcmjs';
import { env } from '../env';
import { logger } from '../logger';
import { ocrFile, type OcrScanOptions } from '../ocr/scan';
import { tesseractAvailable } from '../ocr/tesseract';
import { matchSignatures } from '../ocr/signatures';
import { absolute, ensureDir, poolInstanceRelPath, pruneEmptyDirs, storageRoot } from '../storage';
import { indexDeidentified, refreshStudyCounts } from '../receive/ingest';
import { claim, retrievalRecordFor, unclaim, type Decider } from './quarantine';
import { currentRules } from './rules';

const log = logger('redact');

export const ownerRegionSchema = z.object({
  /** 0-based frame; absent = every frame. */
  frame: z.number().int().min(0).max(100_000).optional(),
  x: z.number().int().min(0).max(65_535),
  y: z.number().int().min(0).max(65_535),
  width: z.number().int().min(1).max(65_535),
  height: z.number().int().min(1).max(65_535),
});

export const redactRequestSchema = z.object({
  /** Rectangles drawn by the owner, in pixels of the full-size image. */
  regions: z.array(ownerRegionSchema).max(500, 'At most 500 regions').default([]),
  /** Blank the boxes OCR found (default yes). */
  useOcr: z.boolean().default(true),
  /** Blank the regions of matching device signature rules (default yes). */
  useSignatures: z.boolean().default(true),
});
export type RedactRequest = z.infer<typeof redactRequestSchema>;

/** Padding around an OCR box: a quarter of its height, at least 2 px (descenders, anti-aliasing). */
export function padOcrBox(b: { x: number; y: number; width: number; height: number }): { x: number; y: number; width: number; height: number } {
  const p = Math.max(2, Math.round(b.height * 0.25));
  const x = Math.max(0, b.x - p);
  const y = Math.max(0, b.y - p);
  return { x, y, width: b.x + b.width + p - x, height: b.y + b.height + p - y };
}

/** The regions a redaction of this quarantined instance would blank (also shown to the owner before deciding). */
export async function plannedRegions(row: { id: string; path: string }, input: Pick<RedactRequest, 'regions' | 'useOcr' | 'useSignatures'>) {
  let file;
  try {
    file = openPixelFile(absolute(row.path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('CONFLICT', 'The quarantined file is missing; it cannot be redacted');
    throw new AppError('VALIDATION', 'This instance has no pixel data that can be redacted');
  }
  const { attrs, dataset, frameCount } = file;
  file.close();
  const regions: RedactRegion[] = [];
  const signatureIds: string[] = [];
  if (input.useSignatures) {
    const rules = matchSignatures({
      manufacturer: str(dataset.Manufacturer),
      model: str(dataset.ManufacturerModelName),
      sopClassUid: str(dataset.SOPClassUID) ?? '',
      modality: str(dataset.Modality),
      rows: attrs.rows,
      columns: attrs.columns,
    });
    for (const r of rules) {
      signatureIds.push(r.id);
      for (const g of r.regions) regions.push({ frame: null, ...clip(g, attrs), source: 'signature', ruleId: r.id });
    }
  }
  if (input.useOcr) {
    const boxes = await db.ocrBox.findMany({ where: { quarantinedInstanceId: row.id }, orderBy: [{ frame: 'asc' }, { y: 'asc' }, { x: 'asc' }] });
    for (const b of boxes) regions.push({ frame: null, ...clip(padOcrBox(b), attrs), source: 'ocr' });
  }
  for (const r of input.regions) {
    if (r.frame !== undefined && r.frame >= frameCount) throw new AppError('VALIDATION', `Frame ${r.frame} does not exist: this instance has ${frameCount} frame${frameCount === 1 ? '' : 's'}`);
    if (r.x >= attrs.columns || r.y >= attrs.rows) throw new AppError('VALIDATION', `A region starts outside the image (${attrs.columns} × ${attrs.rows} pixels)`);
    regions.push({ frame: r.frame ?? null, ...clip(r, attrs), source: 'owner' });
  }
  return { regions: regions.filter((r) => r.width > 0 && r.height > 0), signatureIds, rows: attrs.rows, columns: attrs.columns, frameCount };
}

/**
 * Redacts, then reads the result with OCR again (up to two more passes): text OCR finds in the
 * redacted pixels (a word next to a blanked one, read only once its neighbour is gone) is added as
 * OCR regions and the source is redacted again. Without tesseract, one pass.
 */
export async function redactVerified(
  absPath: string,
  regions: RedactRegion[],
  /** tmpDir: where the result is written for OCR (default STORAGE_ROOT/tmp: it may still show text). */
  opts: { sourceSopUid: string; allowLossy: boolean; recheck: boolean; ocr?: OcrScanOptions; tmpDir?: string },
): Promise<{ out: Awaited<ReturnType<typeof redactFile>>; regions: RedactRegion[] }> {
  let out = await redactFile(absPath, regions, opts);
  if (!opts.recheck || !(await tesseractAvailable())) return { out, regions };
  const tmpDir = opts.tmpDir ?? path.join(storageRoot(), 'tmp');
  await ensureDir(tmpDir);
  for (let pass = 0; pass < 2; pass++) {
    const tmp = path.join(tmpDir, `${randomUUID()}.redacted.dcm`);
    let found;
    try {
      await fs.writeFile(tmp, out.bytes);
      found = await ocrFile(tmp, opts.ocr);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    if (!found.boxes.length) break;
    const a = { rows: found.rows, columns: found.columns };
    regions = [...regions, ...found.boxes.map((b) => ({ frame: null, ...clip(padOcrBox(b), a), source: 'ocr' as const }))];
    out = await redactFile(absPath, regions, opts);
  }
  return { out, regions };
}

function clip(r: { x: number; y: number; width: number; height: number }, a: { rows: number; columns: number }) {
  const x = Math.min(Math.max(0, r.x), a.columns);
  const y = Math.min(Math.max(0, r.y), a.rows);
  return { x, y, width: Math.min(a.columns, r.x + r.width) - x, height: Math.min(a.rows, r.y + r.height) - y };
}

export async function redactAndRelease(
  actor: NonNullable<Decider>,
  pool: Pick<Pool, 'id' | 'secret' | 'rules'>,
  id: string,
  input: RedactRequest,
): Promise<{ id: string; redactionId: string; instanceId: string; studyId: string; sopInstanceUid: string; regions: number; transferSyntaxUid: string; lossy: boolean }> {
  const existing = await db.quarantinedInstance.findFirst({ where: { id, poolId: pool.id } });
  if (!existing) throw new AppError('NOT_FOUND', 'No such quarantined instance in this pool');
  if (existing.decision !== null) throw new AppError('CONFLICT', `This instance was already ${existing.decision}`);
  const plan = await plannedRegions(existing, input);
  if (!plan.regions.length) throw new AppError('VALIDATION', 'Nothing to redact: no region was drawn, OCR found no text and no device signature matches');
  const allowLossy = currentRules(pool).quarantine?.allowLossyRedaction === true;
  const row = await claim(actor, pool.id, id, 'redacted');
  let written: string | null = null;
  try {
    const from = absolute(row.path);
    let out;
    try {
      const e = env();
      const done = await redactVerified(from, plan.regions, {
        sourceSopUid: row.sopInstanceUid,
        allowLossy,
        recheck: input.useOcr,
        ocr: { maxFrames: e.OCR_MAX_FRAMES, minConfidence: e.OCR_MIN_CONFIDENCE },
      });
      out = done.out;
      plan.regions = done.regions;
    } catch (e) {
      if (e instanceof RedactionRefusedError) throw new AppError('VALIDATION', `Not redacted: ${e.message}`, { redaction: [e.code] });
      throw e;
    }
    const rel = poolInstanceRelPath(pool.id, row.studyInstanceUid, row.seriesInstanceUid, out.sopInstanceUid);
    const to = absolute(rel);
    await ensureDir(path.dirname(to));
    const tmp = `${to}.tmp`;
    await fs.writeFile(tmp, out.bytes);
    const fh = await fs.open(tmp, 'r+');
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, to);
    written = to;
    const index = readIndexFields(out.bytes);
    const record = row.retrievalId ? await retrievalRecordFor(pool, row.retrievalId, row.sopInstanceUid) : null;
    const count = (s: RedactRegion['source']) => plan.regions.filter((r) => r.source === s).length;
    const { studyId } = await indexDeidentified({
      poolId: pool.id,
      path: rel,
      size: out.bytes.length,
      sopClassUid: row.sopClassUid,
      transferSyntaxUid: out.transferSyntaxOut,
      targetUids: { study: row.studyInstanceUid, series: row.seriesInstanceUid, sop: out.sopInstanceUid },
      index,
      identity: { researchId: index.patientId ?? '', researchName: index.patientName ?? '' },
      ruleVersion: row.ruleVersion,
      alsoCommit: () => [
        db.redaction.upsert({
          where: { poolId_sopInstanceUid: { poolId: pool.id, sopInstanceUid: out.sopInstanceUid } },
          create: {
            poolId: pool.id,
            quarantinedInstanceId: row.id,
            sourceSopInstanceUid: row.sopInstanceUid,
            sopInstanceUid: out.sopInstanceUid,
            transferSyntaxIn: out.transferSyntaxIn,
            transferSyntaxOut: out.transferSyntaxOut,
            regions: plan.regions.map((r) => ({ ...r, ruleId: r.ruleId ?? null })),
            regionCount: plan.regions.length,
            signatureRegions: count('signature'),
            ocrRegions: count('ocr'),
            ownerRegions: count('owner'),
            signatureRuleIds: plan.signatureIds,
            framesRedacted: out.framesRedacted,
            lossy: out.lossy,
            ruleVersion: row.ruleVersion,
            createdById: actor.userId,
          },
          update: {},
        }),
        ...(record ? [db.retrievalInstance.update({ where: { id: record.id }, data: { outcome: 'stored' } })] : []),
      ],
    });
    await refreshStudyCounts([studyId]);
    if (row.retrievalId) {
      const stored = await db.retrievalInstance.count({ where: { retrievalId: row.retrievalId, outcome: 'stored' } });
      await db.retrieval.update({ where: { id: row.retrievalId }, data: { stored } }).catch(() => undefined);
    }
    const instance = await db.instance.findUniqueOrThrow({ where: { poolId_sopInstanceUid: { poolId: pool.id, sopInstanceUid: out.sopInstanceUid } }, select: { id: true } });
    const redaction = await db.redaction.update({ where: { poolId_sopInstanceUid: { poolId: pool.id, sopInstanceUid: out.sopInstanceUid } }, data: { instanceId: instance.id } });
    await fs.rm(from, { force: true });
    await pruneEmptyDirs(path.dirname(from), path.join(storageRoot(), 'quarantine'));
    await audit({
      userId: actor.userId,
      action: 'quarantine.redact',
      poolId: pool.id,
      targetType: 'quarantined-instance',
      targetId: row.id,
      detail: {
        instanceId: instance.id,
        redactionId: redaction.id,
        regions: plan.regions.length,
        signatureRegions: count('signature'),
        ocrRegions: count('ocr'),
        ownerRegions: count('owner'),
        lossy: out.lossy,
        ruleVersion: row.ruleVersion,
      },
    });
    return { id: row.id, redactionId: redaction.id, instanceId: instance.id, studyId, sopInstanceUid: out.sopInstanceUid, regions: plan.regions.length, transferSyntaxUid: out.transferSyntaxOut, lossy: out.lossy };
  } catch (e) {
    if (written) {
      // Nothing of it may stay in the pool: the index rows (if committed) and the file go.
      await db.instance.deleteMany({ where: { poolId: pool.id, path: path.relative(storageRoot(), written) } }).catch(() => undefined);
      await db.redaction.deleteMany({ where: { poolId: pool.id, quarantinedInstanceId: row.id } }).catch(() => undefined);
      await fs.rm(written, { force: true }).catch((err) => log.error('could not remove a failed redaction', { id: row.id, err: (err as Error).name }));
    }
    await unclaim(row.id);
    throw e;
  }
}
