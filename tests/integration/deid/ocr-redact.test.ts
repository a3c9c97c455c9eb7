/**
 * OCR and redaction through the pool: an ultrasound with a name, a date and an MRN burned into
 * its pixels is held; the OCR step (the worker's job function) stores boxes and categories, never
 * the text; the owner sees them over the image and redacts-and-releases with a drawn rectangle;
 * the new instance (new SOP UID) is in the pool, the text is gone from its pixels. Who may: the
 * pool's researcher and another pool's owner get 403/404 for the boxes, the image and the
 * redaction (the attack). The planted strings never reach the database, the API's JSON, the audit
 * or the logs. A pool that asks for it releases an image without text automatically. A re-run
 * after a crash replaces the boxes, it does not add to them.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { readNaturalized } from '@/lib/imaging/dcmjs';
import { runQuarantineOcr } from '@/lib/ocr/run-ocr';
import { ocrFile } from '@/lib/ocr/scan';
import { closeDeidPool } from '@/lib/receive/ingest';
import { runAnonymize } from '@/lib/retrievals/run-anonymize';
import { absolute } from '@/lib/storage';
import { call } from '../../helpers/api';
import { burnedInstance, closeRenderer, overlaps, renderImages, testUid, textSpecs, type RenderedImage } from '../../helpers/burned-text';
import { makePool, makeUser } from '../../helpers/fixtures';
import { sourceInstance, stagedRetrieval } from './helpers';

let img: RenderedImage;
const logs: string[] = [];
const origWrite = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  [img] = await renderImages(textSpecs(1, 2));
  await closeRenderer();
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (origWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write);
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await closeDeidPool();
});

describe('OCR, boxes over the image, redact and release', () => {
  let poolId: string;
  let otherPoolId: string;
  let owner: string;
  let researcher: string;
  let otherOwner: string;
  let ownerId: string;
  let heldId: string;
  const mrn = `MRN-OCR-${Date.now() % 1e6}`;

  beforeAll(async () => {
    const o = await makeUser('RESEARCHER');
    const r = await makeUser('RESEARCHER');
    const x = await makeUser('RESEARCHER');
    ownerId = o.id;
    const pool = await makePool({ members: [{ userId: o.id, role: 'OWNER' }, { userId: r.id, role: 'RESEARCHER' }] });
    const other = await makePool({ members: [{ userId: x.id, role: 'OWNER' }] });
    poolId = pool.id;
    otherPoolId = other.id;
    owner = (await createApiToken({ userId: o.id, name: 'ocr-owner' })).token;
    researcher = (await createApiToken({ userId: r.id, name: 'ocr-researcher' })).token;
    otherOwner = (await createApiToken({ userId: x.id, name: 'ocr-other' })).token;
    const us = burnedInstance({ img, layout: 'rgb', kind: 'us', mrn, manufacturer: 'ACME', model: 'Sono 1' });
    const st = await stagedRetrieval(pool.id, { mrn, instances: [us] });
    await runAnonymize(st.retrieval.id, 0);
    const held = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId } });
    heldId = held.id;
  }, 60_000);

  it('holds the ultrasound with OCR pending, then the OCR step stores boxes with categories over every planted string', async () => {
    const before = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: heldId } });
    expect(before.ocrStatus).toBe('pending');
    const out = await runQuarantineOcr(heldId);
    expect(out).toMatchObject({ status: 'done', released: false });
    const row = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: heldId } });
    expect(row.ocrStatus).toBe('done');
    expect(row.ocrFrames).toBe(1);
    const boxes = await db.ocrBox.findMany({ where: { quarantinedInstanceId: heldId } });
    expect(row.ocrBoxCount).toBe(boxes.length);
    for (const p of img.planted) expect(boxes.some((b) => overlaps(b, p)), p.kind).toBe(true);
    const cats = new Set(boxes.map((b) => b.category));
    expect(cats.has('date')).toBe(true);
    expect(cats.has('id')).toBe(true);
  }, 60_000);

  it('a run again (a worker killed mid-OCR) replaces the boxes instead of adding to them', async () => {
    const first = await db.ocrBox.count({ where: { quarantinedInstanceId: heldId } });
    await db.quarantinedInstance.update({ where: { id: heldId }, data: { ocrStatus: 'pending' } });
    await runQuarantineOcr(heldId);
    expect(await db.ocrBox.count({ where: { quarantinedInstanceId: heldId } })).toBe(first);
  }, 60_000);

  it('the owner gets the boxes (categories, no text) and the image; the list shows the OCR status', async () => {
    const res = await call(api.getQuarantineOcr, { id: poolId, quarantineId: heldId }, { token: owner });
    expect(res.status).toBe(200);
    const body = res.json as { ocr: { status: string }; boxes: { category: string; x: number }[]; image: { rows: number; columns: number } };
    expect(body.ocr.status).toBe('done');
    expect(body.image).toEqual({ rows: img.rows, columns: img.columns, frameCount: 1 });
    expect(body.boxes.length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(body.boxes[0]).sort()).toEqual(['category', 'categoryText', 'confidence', 'frame', 'height', 'width', 'x', 'y']);
    const image = await call(api.getQuarantineImage, { id: poolId, quarantineId: heldId }, { token: owner });
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(image.text.slice(1, 4)).toBe('PNG');
    const list = await call(api.listQuarantine, { id: poolId }, { token: owner });
    const row = (list.json as { rows: { id: string; ocr: { status: string; boxes: number } }[] }).rows.find((r) => r.id === heldId)!;
    expect(row.ocr.status).toBe('done');
    expect(row.ocr.boxes).toBe(body.boxes.length);
  });

  it('the pool’s researcher and another pool’s owner cannot see the boxes, the image, or redact (the attack)', async () => {
    const p = { id: poolId, quarantineId: heldId };
    for (const token of [researcher, otherOwner]) {
      for (const ep of [api.getQuarantineOcr, api.getQuarantineImage]) {
        expect([403, 404]).toContain((await call(ep, p, { token })).status);
      }
      expect([403, 404]).toContain((await call(api.redactQuarantined, p, { token, body: { regions: [{ x: 0, y: 0, width: 10, height: 10 }] } })).status);
    }
    // The other pool's owner names their own pool with this pool's quarantine id: not found there.
    for (const ep of [api.getQuarantineOcr, api.getQuarantineImage]) {
      expect((await call(ep, { id: otherPoolId, quarantineId: heldId }, { token: otherOwner })).status).toBe(404);
    }
    expect((await call(api.redactQuarantined, { id: otherPoolId, quarantineId: heldId }, { token: otherOwner, body: {} })).status).toBe(404);
    const row = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: heldId } });
    expect(row.decision).toBeNull();
  });

  it('a region outside the image or a frame that does not exist is refused, nothing decided', async () => {
    const p = { id: poolId, quarantineId: heldId };
    const outside = await call(api.redactQuarantined, p, { token: owner, body: { regions: [{ x: img.columns + 5, y: 0, width: 10, height: 10 }] } });
    expect(outside.status).toBe(422);
    const frame = await call(api.redactQuarantined, p, { token: owner, body: { regions: [{ frame: 3, x: 0, y: 0, width: 10, height: 10 }] } });
    expect(frame.status).toBe(422);
    expect((await db.quarantinedInstance.findUniqueOrThrow({ where: { id: heldId } })).decision).toBeNull();
  });

  it('redact and release: OCR boxes plus an owner-drawn rectangle blanked into a new instance in the pool; the text is gone', async () => {
    const drawn = { x: img.columns - 60, y: img.rows - 40, width: 50, height: 30 };
    const res = await call(api.redactQuarantined, { id: poolId, quarantineId: heldId }, { token: owner, body: { regions: [drawn] } });
    expect(res.status).toBe(200);
    const out = res.json as { instanceId: string; sopInstanceUid: string; regions: number; lossy: boolean };
    expect(out.lossy).toBe(false);
    const held = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: heldId } });
    expect(held.decision).toBe('redacted');
    expect(held.decidedById).toBe(ownerId);
    expect(fs.existsSync(absolute(held.path))).toBe(false);
    expect(out.sopInstanceUid).not.toBe(held.sopInstanceUid);
    const inst = await db.instance.findUniqueOrThrow({ where: { id: out.instanceId } });
    expect(inst.sopInstanceUid).toBe(out.sopInstanceUid);
    const bytes = fs.readFileSync(absolute(inst.path));
    const ds = readNaturalized(bytes).dataset;
    expect(ds.SOPInstanceUID).toBe(out.sopInstanceUid);
    expect(ds.BurnedInAnnotation).toBe('NO');
    expect(ds.PatientID).not.toBe(mrn);
    const again = await ocrFile(absolute(inst.path));
    for (const p of img.planted) expect(again.boxes.some((b) => overlaps(b, p)), p.kind).toBe(false);
    const redaction = await db.redaction.findFirstOrThrow({ where: { quarantinedInstanceId: heldId } });
    expect(redaction).toMatchObject({ poolId, instanceId: out.instanceId, sopInstanceUid: out.sopInstanceUid, ownerRegions: 1, lossy: false });
    expect(redaction.ocrRegions).toBeGreaterThanOrEqual(3);
    expect(redaction.regionCount).toBe(out.regions);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { poolId, action: 'quarantine.redact', targetId: heldId } });
    expect(audit.userId).toBe(ownerId);
    // Decided: a second redaction is a conflict.
    expect((await call(api.redactQuarantined, { id: poolId, quarantineId: heldId }, { token: owner, body: {} })).status).toBe(409);
  }, 60_000);

  it('the planted strings are nowhere: boxes, redactions, audit, API answers, logs', async () => {
    const planted = img.planted.flatMap((p) => [p.text, ...p.text.split(/[\s^,]+/).filter((w) => w.length >= 4)]);
    const rows = JSON.stringify([
      await db.ocrBox.findMany({ where: { poolId } }),
      await db.redaction.findMany({ where: { poolId } }),
      await db.auditEvent.findMany({ where: { poolId } }),
      await db.quarantinedInstance.findMany({ where: { poolId } }),
      (await call(api.getQuarantineOcr, { id: poolId, quarantineId: heldId }, { token: owner })).text,
      (await call(api.listQuarantine, { id: poolId }, { token: owner, query: { status: 'all' } })).text,
    ]);
    for (const s of planted) {
      expect(rows.toUpperCase()).not.toContain(s.toUpperCase());
      expect(logs.join('').toUpperCase()).not.toContain(s.toUpperCase());
    }
  });
});

describe('pool rules: OCR first for chosen modalities, release when no text', () => {
  it('a CT image without text, held for OCR by the pool’s rule, is released automatically; one with text waits', async () => {
    const o = await makeUser('RESEARCHER');
    const rules = { ...DEFAULT_RULES, quarantine: { ocrModalities: ['CT'], releaseIfNoText: true } };
    const pool = await makePool({ rules, members: [{ userId: o.id, role: 'OWNER' }] });
    const mrn = `MRN-OCR2-${Date.now() % 1e6}`;
    const study = testUid();
    const plain = sourceInstance({ mrn, study, series: testUid(), sop: testUid() });
    const text = burnedInstance({ img, layout: 'grey8', kind: 'us', mrn, uids: { study } });
    const st = await stagedRetrieval(pool.id, { mrn, instances: [plain, text] });
    await runAnonymize(st.retrieval.id, 0);
    const held = await db.quarantinedInstance.findMany({ where: { poolId: pool.id } });
    expect(held.map((h) => h.reason).sort()).toEqual(['ocr-scan', 'ultrasound']);
    for (const h of held) await runQuarantineOcr(h.id);
    const ct = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId: pool.id, reason: 'ocr-scan' } });
    const us = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId: pool.id, reason: 'ultrasound' } });
    expect(ct).toMatchObject({ ocrStatus: 'done', ocrBoxCount: 0, decision: 'released', decidedById: null });
    expect(us.decision).toBeNull();
    expect(us.ocrBoxCount).toBeGreaterThan(0);
    expect(await db.instance.count({ where: { poolId: pool.id, sopInstanceUid: ct.sopInstanceUid } })).toBe(1);
    expect(await db.auditEvent.count({ where: { poolId: pool.id, action: 'quarantine.auto-release', targetId: ct.id } })).toBe(1);
  }, 90_000);

  it('the same image in a pool without the rule is stored as before (CT is not held)', async () => {
    const o = await makeUser('RESEARCHER');
    const pool = await makePool({ members: [{ userId: o.id, role: 'OWNER' }] });
    const mrn = `MRN-OCR3-${Date.now() % 1e6}`;
    const st = await stagedRetrieval(pool.id, { mrn, instances: [sourceInstance({ mrn, study: testUid(), series: testUid(), sop: testUid() })] });
    await runAnonymize(st.retrieval.id, 0);
    expect(await db.quarantinedInstance.count({ where: { poolId: pool.id } })).toBe(0);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(1);
  });
});
