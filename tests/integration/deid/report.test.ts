/**
 * The de-identification report end to end: a retrieval into a pool with stamps on stores CT
 * instances (stamped) and quarantines an ultrasound one; the report counts actions, method codes,
 * quarantine reasons and decisions by rule version; de-identifying the same instance again does
 * not count it twice; owners and admins read it (JSON, CSV, PDF), other members cannot; none of
 * it carries an identifier of the source.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, type RuleSet, ruleSetSchema } from '@/lib/anonymize/rules';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { deidIdentityFor } from '@/lib/pools/identity';
import { closeDeidPool, storeDeidentified } from '@/lib/receive/ingest';
import type { DeidReport } from '@/lib/reports/get-deid-report';
import { runAnonymize } from '@/lib/retrievals/run-anonymize';
import { absolute } from '@/lib/storage';
import { call } from '../../helpers/api';
import { makePool, makeUser, suffix } from '../../helpers/fixtures';
import { readOutput, sourceInstance, stagedRetrieval, ultrasound } from './helpers';

let poolId: string;
let rules: RuleSet;
let mrn: string;
let ct: ReturnType<typeof sourceInstance>;
const tokens: Record<string, string> = {};
const phi: string[] = [];

afterAll(async () => {
  await closeDeidPool();
});

beforeAll(async () => {
  const s = suffix();
  mrn = `MRN-R-${s}`;
  rules = ruleSetSchema.parse({
    ...DEFAULT_RULES,
    stamps: {
      clinicalTrial: { sponsorName: 'Example Sponsor', protocolId: 'EX-01', timePoint: { table: 'tp', descriptions: { BL: 'Baseline' } } },
      longitudinal: { eventType: 'ENROLLMENT', anchorTable: 'enrolled' },
    },
  });
  const owner = await makeUser('RESEARCHER');
  const coordinator = await makeUser('COORDINATOR');
  const admin = await makeUser('ADMIN');
  const outsider = await makeUser('RESEARCHER');
  const pool = await makePool({ rules, members: [{ userId: owner.id, role: 'OWNER' }, { userId: coordinator.id, role: 'COORDINATOR' }] });
  await makePool({ members: [{ userId: outsider.id, role: 'OWNER' }] });
  poolId = pool.id;
  for (const [k, u] of Object.entries({ owner, coordinator, admin, outsider })) tokens[k] = (await createApiToken({ userId: u.id, name: 'r' })).token;
  const base = `1.2.826.0.1.3680043.9.8889.${Date.now() % 1e9}`;
  const study = `${base}.1`;
  const accession = `ACC${s}`.slice(0, 16);
  await db.lookupEntry.createMany({
    data: [
      { poolId, table: 'enrolled', key: mrn, value: '20200105' },
      { poolId, table: 'tp', key: accession, value: 'BL' },
    ],
  });
  const acc = [{ tag: 0x00080050, vr: 'SH', value: accession }];
  ct = sourceInstance({ mrn, study, series: `${base}.2`, sop: `${base}.3`, extra: acc });
  phi.push(mrn, 'Doe', accession, study, `${base}.2`, `${base}.3`, `${base}.5`, '20200115', '20200105');
  const r = await stagedRetrieval(pool.id, {
    mrn,
    instances: [ct, sourceInstance({ mrn, study, series: `${base}.2`, sop: `${base}.4`, extra: acc }), ultrasound({ mrn, study, series: `${base}.4`, sop: `${base}.5`, extra: acc })],
  });
  await runAnonymize(r.retrieval.id, 0);
});

async function report(): Promise<DeidReport> {
  const res = await call(api.getDeidReport, { id: poolId }, { token: tokens.owner });
  expect(res.status, res.text).toBe(200);
  return res.json as DeidReport;
}

/** The text a PDF draws: its (deflated) content streams' hex strings, decoded. */
function pdfStrings(pdf: Buffer): string {
  const out: string[] = [];
  const re = /stream\r?\n/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(pdf.toString('latin1')))) {
    const start = m.index + m[0].length;
    const end = pdf.indexOf('endstream', start);
    let data = pdf.subarray(start, end);
    try {
      data = inflateSync(data);
    } catch {
      // not deflated
    }
    for (const h of data.toString('latin1').matchAll(/<([0-9A-Fa-f]*)>\s*Tj/g)) out.push(Buffer.from(h[1], 'hex').toString('latin1'));
  }
  return out.join('\n');
}

describe('de-identification report', () => {
  it('stamps the stored instances', async () => {
    const inst = await db.instance.findFirstOrThrow({ where: { poolId }, include: { series: { include: { study: true } } } });
    const out = await readOutput(absolute(inst.path));
    expect(out.get('ClinicalTrialSponsorName')).toBe('Example Sponsor');
    expect(out.get('ClinicalTrialSubjectID')).toBe(inst.series.study.patientId);
    expect(out.get('ClinicalTrialTimePointID')).toBe('BL');
    expect(out.get('ClinicalTrialTimePointDescription')).toBe('Baseline');
    expect(out.get('LongitudinalTemporalOffsetFromEvent')).toBe('10');
    expect(out.get('LongitudinalTemporalEventType')).toBe('ENROLLMENT');
  });

  it('counts actions, options and quarantine reasons by rule version', async () => {
    const r = await report();
    expect(r.currentRuleVersion).toBe(1);
    const v = r.versions.find((x) => x.ruleVersion === 1)!;
    expect(v).toMatchObject({ deidentified: 3, stored: 2, quarantined: 1, indexed: 2, stamps: { clinicalTrial: true, longitudinal: true } });
    expect(v.options).toEqual(['Retain Longitudinal Temporal Information with Modified Dates Option']);
    expect(v.methodCodes).toEqual([
      { code: '113100', meaning: 'Basic Application Confidentiality Profile', instances: 3 },
      { code: '113107', meaning: 'Retain Longitudinal Temporal Information Modified Dates Option', instances: 3 },
    ]);
    const rows = await db.deidInstanceSummary.findMany({ where: { poolId } });
    expect(rows).toHaveLength(3);
    for (const a of ['removed', 'shifted', 'uidRemapped', 'added', 'kept', 'replaced'] as const) {
      expect(v.actions[a], a).toBe(rows.reduce((n, x) => n + x[a], 0));
      expect(v.actions[a], a).toBeGreaterThan(0);
    }
    expect(v.quarantine).toMatchObject({ held: 1, pending: 1, released: 0, dropped: 0 });
    expect(v.quarantine.reasons).toEqual([{ code: 'ultrasound', text: expect.stringMatching(/ultrasound/i), pending: 1, released: 0, redacted: 0, dropped: 0 }]);
    expect(v.ocr).toEqual({ scanned: 0, withText: 0, findings: [] });
    expect(v.redactions).toEqual({ instances: 0, lossy: 0, sources: [] });
    expect(r.totals).toMatchObject({ deidentified: 3, stored: 2, quarantined: 1 });
  });

  it('does not count an instance twice when it is de-identified again', async () => {
    const before = await report();
    const tmp = path.join(os.tmpdir(), `report-${suffix()}.dcm`);
    await fs.writeFile(tmp, ct.bytes);
    try {
      const identity = await deidIdentityFor({ id: poolId, secret: (await db.pool.findUniqueOrThrow({ where: { id: poolId } })).secret }, rules, { sourcePatientId: mrn });
      const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId } });
      await storeDeidentified({ pool, rules, identity, inPath: tmp, sourcePatientId: mrn });
    } finally {
      await fs.rm(tmp, { force: true });
    }
    const after = await report();
    expect(after.totals.deidentified).toBe(before.totals.deidentified);
    expect(after.totals.actions).toEqual(before.totals.actions);
    expect(await db.deidInstanceSummary.count({ where: { poolId } })).toBe(3);
  });

  it('shows releases', async () => {
    const q = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId } });
    expect((await call(api.releaseQuarantined, { id: poolId, quarantineId: q.id }, { token: tokens.owner })).status).toBe(200);
    const v = (await report()).versions.find((x) => x.ruleVersion === 1)!;
    expect(v.quarantine).toMatchObject({ held: 1, pending: 0, released: 1 });
    expect(v.quarantine.reasons[0]).toMatchObject({ code: 'ultrasound', pending: 0, released: 1 });
    expect(v.indexed).toBe(3);
  });

  it('shows OCR findings and redactions by category and region source, counts only', async () => {
    const q = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId } });
    await db.quarantinedInstance.update({ where: { id: q.id }, data: { ocrStatus: 'done', ocrBoxCount: 3 } });
    const box = { quarantinedInstanceId: q.id, poolId, frame: 0, y: 2, width: 40, height: 10, confidence: 90 };
    await db.ocrBox.createMany({
      data: [
        { ...box, x: 1, category: 'name' },
        { ...box, x: 50, category: 'date' },
        { ...box, x: 99, category: 'date' },
      ],
    });
    await db.redaction.create({
      data: {
        poolId,
        quarantinedInstanceId: q.id,
        sourceSopInstanceUid: `1.2.3.${suffix()}`,
        sopInstanceUid: `1.2.4.${suffix()}`,
        transferSyntaxIn: '1.2.840.10008.1.2.1',
        transferSyntaxOut: '1.2.840.10008.1.2.1',
        regions: [],
        regionCount: 3,
        signatureRegions: 1,
        ocrRegions: 2,
        ownerRegions: 0,
        signatureRuleIds: ['us-banner'],
        framesRedacted: 1,
        ruleVersion: 1,
      },
    });
    const v = (await report()).versions.find((x) => x.ruleVersion === 1)!;
    expect(v.ocr).toMatchObject({ scanned: 1, withText: 1 });
    expect(v.ocr.findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ category: 'date', instances: 1, boxes: 2 }), expect.objectContaining({ category: 'name', instances: 1, boxes: 1 })]),
    );
    expect(v.redactions).toMatchObject({ instances: 1, lossy: 0 });
    expect(v.redactions.sources).toEqual(
      expect.arrayContaining([expect.objectContaining({ source: 'signature', instances: 1, regions: 1 }), expect.objectContaining({ source: 'ocr', instances: 1, regions: 2 })]),
    );
    expect(v.redactions.sources.find((x) => x.source === 'owner')).toBeUndefined();
  });

  it('is for owners and admins only', async () => {
    expect((await call(api.getDeidReport, { id: poolId }, { token: tokens.admin })).status).toBe(200);
    expect((await call(api.exportDeidReport, { id: poolId }, { token: tokens.admin, query: { format: 'csv' } })).status).toBe(200);
    expect((await call(api.getDeidReport, { id: poolId }, { token: tokens.coordinator })).status).toBe(403);
    expect((await call(api.exportDeidReport, { id: poolId }, { token: tokens.coordinator })).status).toBe(403);
    expect((await call(api.getDeidReport, { id: poolId }, { token: tokens.outsider })).status).toBe(404);
    expect((await call(api.exportDeidReport, { id: poolId }, { token: tokens.outsider, query: { format: 'pdf' } })).status).toBe(404);
    expect((await call(api.getDeidReport, { id: poolId }, {})).status).toBe(401);
  });

  it('exports CSV and PDF without any source identifier, and audits the export', async () => {
    const json = await call(api.getDeidReport, { id: poolId }, { token: tokens.owner });
    const csv = await call(api.exportDeidReport, { id: poolId }, { token: tokens.owner, query: { format: 'csv' } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="deid-report-.*\.csv"/);
    const csvText = Buffer.from(csv.text, 'latin1').toString('utf8');
    expect(csvText).toContain('method_code,1,Retain Longitudinal Temporal Information Modified Dates Option,113107,3');
    expect(csvText).toContain('quarantine_reason,1,released,ultrasound,1');
    const pdf = await call(api.exportDeidReport, { id: poolId }, { token: tokens.owner });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const pdfBytes = Buffer.from(pdf.text, 'latin1');
    expect(pdfBytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pdfText = pdfStrings(pdfBytes);
    expect(pdfText).toContain('De-identification report');
    expect(pdfText).toContain('113107');
    expect(pdfText).toMatch(/Rule version 1 \(current\)/);
    for (const p of phi) {
      expect(json.text, p).not.toContain(p);
      expect(csvText, p).not.toContain(p);
      expect(pdfText, p).not.toContain(p);
    }
    // The admin's CSV in the access test, and these two.
    expect(await db.auditEvent.count({ where: { poolId, action: 'pool.deid-report-export' } })).toBe(3);
  });
});
