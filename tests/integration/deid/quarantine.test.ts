/**
 * Quarantine end to end: an ultrasound instance retrieved with a CT goes to quarantine (file
 * outside the pool, not in the index); the owner's release puts it into the pool's storage and
 * index exactly like a stored instance and updates the retrieval's record; drop deletes the file
 * and keeps the record. Admins may list but not decide; other members are refused.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { closeDeidPool } from '@/lib/receive/ingest';
import { runAnonymize } from '@/lib/retrievals/run-anonymize';
import { absolute } from '@/lib/storage';
import { call } from '../../helpers/api';
import { makePool, makeUser, suffix } from '../../helpers/fixtures';
import { US_IMAGE, readOutput, sourceInstance, stagedRetrieval, ultrasound } from './helpers';

let poolId: string;
let retrievalId: string;
const tokens: Record<string, string> = {};
let mrn: string;

afterAll(async () => {
  await closeDeidPool();
});

beforeAll(async () => {
  const s = suffix();
  mrn = `MRN-Q-${s}`;
  const owner = await makeUser('RESEARCHER');
  const coordinator = await makeUser('COORDINATOR');
  const admin = await makeUser('ADMIN');
  const pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: coordinator.id, role: 'COORDINATOR' }] });
  poolId = pool.id;
  for (const [k, u] of Object.entries({ owner, coordinator, admin })) tokens[k] = (await createApiToken({ userId: u.id, name: 'q' })).token;
  const base = `1.2.826.0.1.3680043.9.8888.${Date.now() % 1e9}`;
  const study = `${base}.1`;
  const r = await stagedRetrieval(pool.id, {
    mrn,
    instances: [
      sourceInstance({ mrn, study, series: `${base}.2`, sop: `${base}.3` }),
      ultrasound({ mrn, study, series: `${base}.4`, sop: `${base}.5` }),
      ultrasound({ mrn, study, series: `${base}.4`, sop: `${base}.6` }),
    ],
  });
  retrievalId = r.retrieval.id;
  await runAnonymize(retrievalId, 0);
});

describe('quarantine', () => {
  it('holds the ultrasound instances outside the pool', async () => {
    const r = await db.retrieval.findUniqueOrThrow({ where: { id: retrievalId } });
    expect(r.state).toBe('DONE');
    expect(r.stored).toBe(1);
    const held = await db.quarantinedInstance.findMany({ where: { poolId } });
    expect(held).toHaveLength(2);
    for (const q of held) {
      expect(q.modality).toBe('US');
      expect(q.reason).toBe('ultrasound');
      expect(q.path.startsWith(`quarantine/${poolId}/`)).toBe(true);
      await expect(fs.stat(absolute(q.path))).resolves.toBeTruthy();
      expect(await db.instance.count({ where: { poolId, sopInstanceUid: q.sopInstanceUid } })).toBe(0);
    }
    expect(await db.instance.count({ where: { poolId } })).toBe(1);
    // The identity map knows the study even for what is held.
    expect(await db.studyIdentity.count({ where: { poolId, sourcePatientId: mrn } })).toBe(1);
  });

  it('lists for owners and admins, with the reason, the SOP class and the rule version, without PHI', async () => {
    for (const who of ['owner', 'admin']) {
      const res = await call(api.listQuarantine, { id: poolId }, { token: tokens[who] });
      expect(res.status, who).toBe(200);
      const body = res.json as { pending: number; rows: { modality: string; sopClassName: string; reason: string; reasonCodes: string[]; ruleVersion: number; decision: null }[] };
      expect(body.pending).toBe(2);
      expect(body.rows[0]).toMatchObject({ modality: 'US', sopClassName: 'Ultrasound Image', reasonCodes: ['ultrasound'], reason: expect.stringMatching(/^ultrasound: /), ruleVersion: 1, decision: null });
      expect(res.text).not.toContain(mrn);
      expect(res.text).not.toContain('Doe');
    }
    expect((await call(api.listQuarantine, { id: poolId }, { token: tokens.coordinator })).status).toBe(403);
  });

  it('refuses release and drop to everyone but the owner', async () => {
    const q = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId } });
    for (const who of ['admin', 'coordinator']) {
      expect([403, 404]).toContain((await call(api.releaseQuarantined, { id: poolId, quarantineId: q.id }, { token: tokens[who] })).status);
      expect([403, 404]).toContain((await call(api.dropQuarantined, { id: poolId, quarantineId: q.id }, { token: tokens[who] })).status);
      expect([403, 404]).toContain((await call(api.decideQuarantine, { id: poolId }, { token: tokens[who], body: { ids: [q.id], decision: 'drop' } })).status);
    }
    expect((await db.quarantinedInstance.findUniqueOrThrow({ where: { id: q.id } })).decision).toBeNull();
  });

  it('release puts the instance into the pool index and storage, like a stored one', async () => {
    const [q] = await db.quarantinedInstance.findMany({ where: { poolId }, orderBy: { sopInstanceUid: 'asc' } });
    const res = await call(api.releaseQuarantined, { id: poolId, quarantineId: q.id }, { token: tokens.owner });
    expect(res.status, res.text).toBe(200);
    const inst = await db.instance.findUniqueOrThrow({ where: { poolId_sopInstanceUid: { poolId, sopInstanceUid: q.sopInstanceUid } }, include: { series: { include: { study: true } } } });
    expect(inst.path).toBe(`pools/${poolId}/${q.studyInstanceUid}/${q.seriesInstanceUid}/${q.sopInstanceUid}.dcm`);
    expect(inst.sopClassUid).toBe(US_IMAGE);
    expect(inst.ruleVersion).toBe(q.ruleVersion);
    expect(inst.series.modality).toBe('US');
    await expect(fs.stat(absolute(q.path))).rejects.toThrow();
    const out = await readOutput(absolute(inst.path));
    expect(out.get('SOPInstanceUID')).toBe(q.sopInstanceUid);
    expect(out.get('PatientID')).toBe(inst.series.study.patientId);
    expect(out.get('PatientID')).not.toBe(mrn);
    // Same study as the CT stored before: counts refreshed.
    expect(inst.series.study.numInstances).toBe(2);
    expect(inst.series.study.numSeries).toBe(2);
    const r = await db.retrieval.findUniqueOrThrow({ where: { id: retrievalId } });
    expect(r.stored).toBe(2);
    expect(await db.retrievalInstance.count({ where: { retrievalId, outcome: 'stored' } })).toBe(2);
    const after = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: q.id } });
    expect(after.decision).toBe('released');
    expect(after.decidedAt).not.toBeNull();
    // Decided once only.
    expect((await call(api.releaseQuarantined, { id: poolId, quarantineId: q.id }, { token: tokens.owner })).status).toBe(409);
    expect((await call(api.dropQuarantined, { id: poolId, quarantineId: q.id }, { token: tokens.owner })).status).toBe(409);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { poolId, action: 'quarantine.release', targetId: q.id } });
    expect(JSON.stringify(audit)).not.toContain(mrn);
  });

  it('drop deletes the file and keeps the record', async () => {
    const q = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId, decision: null } });
    const res = await call(api.decideQuarantine, { id: poolId }, { token: tokens.owner, body: { ids: [q.id, 'no-such-id'], decision: 'drop' } });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ done: [q.id], failed: [{ id: 'no-such-id' }] });
    await expect(fs.stat(absolute(q.path))).rejects.toThrow();
    const after = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: q.id } });
    expect(after.decision).toBe('dropped');
    expect(await db.instance.count({ where: { poolId, sopInstanceUid: q.sopInstanceUid } })).toBe(0);
    expect(await db.auditEvent.count({ where: { poolId, action: 'quarantine.drop', targetId: q.id } })).toBe(1);
    const list = await call(api.listQuarantine, { id: poolId }, { token: tokens.owner, query: { status: 'all' } });
    expect((list.json as { rows: { decision: string }[] }).rows.map((r) => r.decision).sort()).toEqual(['dropped', 'released']);
  });
});
