/**
 * Precise quarantine end to end: in one retrieval, a CT coronal MPR (DERIVED\SECONDARY\REFORMATTED,
 * CT Image Storage) enters the pool while an ultrasound and a secondary capture are held, each with
 * its reason codes, which the owner's list shows with their text. A pool whose rules ignore
 * "ultrasound" and hold Image Type REFORMATTED does the opposite for those two.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { closeDeidPool } from '@/lib/receive/ingest';
import { runAnonymize } from '@/lib/retrievals/run-anonymize';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';
import { type SourceInstance, US_IMAGE, sourceInstance, stagedRetrieval, ultrasound } from './helpers';

const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
const SC_IMAGE = '1.2.840.10008.5.1.4.1.1.7';

afterAll(async () => {
  await closeDeidPool();
});

let seq = 0;
/** A study with a CT axial, a CT coronal MPR, an ultrasound and a secondary capture. */
function study(mrn: string): { instances: SourceInstance[]; sop: Record<'axial' | 'mpr' | 'us' | 'sc', string> } {
  const base = `1.2.826.0.1.3680043.9.8889.${Date.now() % 1e9}.${++seq}`;
  const s = `${base}.1`;
  const sop = { axial: `${base}.3`, mpr: `${base}.5`, us: `${base}.7`, sc: `${base}.9` };
  return {
    sop,
    instances: [
      sourceInstance({ mrn, study: s, series: `${base}.2`, sop: sop.axial }),
      sourceInstance({ mrn, study: s, series: `${base}.4`, sop: sop.mpr, extra: [{ tag: 0x00080008, vr: 'CS', value: 'DERIVED\\SECONDARY\\REFORMATTED' }] }),
      ultrasound({ mrn, study: s, series: `${base}.6`, sop: sop.us }),
      sourceInstance({
        mrn,
        study: s,
        series: `${base}.8`,
        sop: sop.sc,
        extra: [{ tag: 0x00080016, vr: 'UI', value: SC_IMAGE }, { tag: 0x00080060, vr: 'CS', value: 'OT' }, { tag: 0x00080064, vr: 'CS', value: 'WSD' }],
      }),
    ],
  };
}

/** The research SOP UIDs are remapped: find a pool's rows by SOP class (and series shape). */
async function outcome(poolId: string) {
  const stored = await db.instance.findMany({ where: { poolId }, include: { series: true } });
  const held = await db.quarantinedInstance.findMany({ where: { poolId } });
  return { stored, held };
}

describe('precise quarantine in a pool with the default rules', () => {
  let poolId: string;
  let token: string;
  const mrn = `MRN-PQ-${Date.now() % 1e6}`;

  beforeAll(async () => {
    const owner = await makeUser('RESEARCHER');
    const pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }] });
    poolId = pool.id;
    token = (await createApiToken({ userId: owner.id, name: 'pq' })).token;
    const r = await stagedRetrieval(pool.id, { mrn, instances: study(mrn).instances });
    await runAnonymize(r.retrieval.id, 0);
  });

  it('stores the CT axial and the coronal MPR, holds the ultrasound and the secondary capture with their reasons', async () => {
    const { stored, held } = await outcome(poolId);
    expect(stored).toHaveLength(2);
    expect(stored.every((i) => i.sopClassUid === CT_IMAGE)).toBe(true);
    expect(held.map((q) => [q.sopClassUid, q.reason]).sort()).toEqual([
      [SC_IMAGE, 'secondary-capture'],
      [US_IMAGE, 'ultrasound'],
    ].sort());
  });

  it('the owner saves the ignore / hold option through the API; a bad one is refused by the schema', async () => {
    const bad = await call(api.updatePoolRules, { id: poolId }, { token, body: { rules: { ...DEFAULT_RULES, quarantine: { ignore: ['no-such-reason'] } }, baseVersion: 1 } });
    expect([400, 422]).toContain(bad.status);
    expect(bad.text).toContain('quarantine');
    // The same rules with an empty option are the same version: nothing to save.
    const same = await call(api.updatePoolRules, { id: poolId }, { token, body: { rules: { ...DEFAULT_RULES, quarantine: { ignore: [], holdModalities: [] } }, baseVersion: 1 } });
    expect(same.json).toMatchObject({ ruleVersion: 1, unchanged: true });
    const quarantine = { ignore: ['secondary-capture'], holdModalities: ['NM'] };
    const saved = await call(api.updatePoolRules, { id: poolId }, { token, body: { rules: { ...DEFAULT_RULES, quarantine }, baseVersion: 1 } });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.json).toMatchObject({ ruleVersion: 2, unchanged: false });
    const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId } });
    expect((pool.rules as { quarantine?: unknown }).quarantine).toEqual(quarantine);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { poolId, action: 'pool.rules-update' }, orderBy: { at: 'desc' } });
    expect(audit.detail).toMatchObject({ quarantineIgnore: 'secondary-capture', quarantineAdded: 1 });
  });

  it("shows the owner each reason's code and text", async () => {
    const res = await call(api.listQuarantine, { id: poolId }, { token });
    expect(res.status, res.text).toBe(200);
    const rows = (res.json as { rows: { sopClassName: string; reason: string; reasonCodes: string[] }[] }).rows;
    const bySop = new Map(rows.map((r) => [r.sopClassName, r]));
    expect(bySop.get('Ultrasound Image')).toMatchObject({ reasonCodes: ['ultrasound'], reason: expect.stringMatching(/^ultrasound: the scanner burns patient details/) });
    expect(bySop.get('Secondary Capture Image')).toMatchObject({ reasonCodes: ['secondary-capture'], reason: expect.stringMatching(/^secondary capture: screenshots/) });
    expect(res.text).not.toContain(mrn);
  });
});

describe("precise quarantine narrowed and widened by the pool's rules", () => {
  let poolId: string;
  const mrn = `MRN-PW-${Date.now() % 1e6}`;

  beforeAll(async () => {
    const owner = await makeUser('RESEARCHER');
    const rules = { ...DEFAULT_RULES, quarantine: { ignore: ['ultrasound'], holdImageTypes: ['REFORMATTED'] } };
    const pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }], rules });
    poolId = pool.id;
    const r = await stagedRetrieval(pool.id, { mrn, instances: study(mrn).instances });
    await runAnonymize(r.retrieval.id, 0);
  });

  it('lets the ultrasound in and holds the MPR for the pool rule; the secondary capture is still held', async () => {
    const { stored, held } = await outcome(poolId);
    expect(stored.map((i) => i.sopClassUid).sort()).toEqual([CT_IMAGE, US_IMAGE].sort());
    expect(held.map((q) => [q.sopClassUid, q.reason]).sort()).toEqual([
      [CT_IMAGE, 'pool-rule'],
      [SC_IMAGE, 'secondary-capture'],
    ].sort());
  });
});
