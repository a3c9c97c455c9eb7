/**
 * De-identification endpoints aimed at pool B: B's identity map, lookup tables, rule versions, a
 * quarantined instance (with its file) and a staged preview sample, which none of pool A's members
 * may read or change — in pool B's path, or named by id/name/version inside pool A's.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import { db } from '@/lib/db';
import { storageRoot } from '@/lib/storage';
import { suffix } from '../../helpers/fixtures';
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => {
  const s = suffix();
  const poolId = w.poolB.id;
  await db.patientIdentity.create({ data: { poolId, sourcePatientId: `MRN-DEID-B-${s}`, researchId: `RID-DEID-B-${s}`, researchName: `RNAME-DEID-B-${s}`, dateOffsetDays: 17 } });
  await db.studyIdentity.create({ data: { poolId, sourceStudyUid: `1.2.3.4.${Date.now()}`, researchStudyUid: `2.25.77${Date.now()}`, sourcePatientId: `MRN-DEID-B-${s}` } });
  await db.lookupEntry.createMany({
    data: [
      { poolId, table: 'research-id', key: `LK-ID-B-${s}`, value: `LV-ID-B-${s}` },
      { poolId, table: `sites-b-${s.toLowerCase()}`, key: `LK-SITE-B-${s}`, value: `LV-SITE-B-${s}` },
    ],
  });
  const sop = `2.25.66${Date.now()}`;
  const rel = path.join('quarantine', poolId, `${sop}.dcm`);
  await fs.mkdir(path.join(storageRoot(), 'quarantine', poolId), { recursive: true });
  await fs.writeFile(path.join(storageRoot(), rel), Buffer.concat([Buffer.alloc(128), Buffer.from(`DICM Q-FILE-B-${s}`)]));
  const q = await db.quarantinedInstance.create({
    data: { poolId, reason: 'Modality US: ultrasound', studyInstanceUid: `2.25.55${Date.now()}`, seriesInstanceUid: `2.25.44${Date.now()}`, sopInstanceUid: sop, sopClassUid: '1.2.840.10008.5.1.4.1.1.6.1', modality: 'US', path: rel, size: 140, ruleVersion: 1 },
  });
  const rules = { ...DEFAULT_RULES, overrides: [{ selector: 'PatientSex', action: 'keep' }] };
  // A saved version only pool B has (A has version 1 only).
  await db.poolRuleVersion.create({ data: { poolId, version: 7, rules: { ...DEFAULT_RULES, overrides: [{ selector: 'PatientSex', action: 'keep' }], note: `RULES-B-${s}` } } });
  // A staged preview sample of B's retrieval (kept out of storage/staging, removed afterwards).
  const stagedPath = path.join(storageRoot(), 'isolation-staged', `${s}.dcm`);
  await fs.mkdir(path.dirname(stagedPath), { recursive: true });
  await fs.writeFile(stagedPath, Buffer.concat([Buffer.alloc(128), Buffer.from(`DICM STAGED-B-${s}`)]));
  const connector = await db.connector.findUniqueOrThrow({ where: { id: w.ids.connector } });
  const staged = await db.stagedInstance.create({
    data: { receivingPoolId: connector.receivingPoolId, retrievalId: w.retrievalB, callingAeTitle: 'ISO_PACS', studyInstanceUid: `2.25.33${Date.now()}`, sopInstanceUid: `2.25.22${Date.now()}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1', path: stagedPath, size: 150 },
  });
  const tableB = `sites-b-${s.toLowerCase()}`;
  return {
    params: { version: '7', table: tableB, quarantineId: q.id },
    subIds: {
      version: async (p) => (await db.poolRuleVersion.count({ where: { poolId: p, version: 7 } })) > 0,
      table: async (p) => (await db.lookupEntry.count({ where: { poolId: p, table: tableB } })) > 0,
      quarantineId: async (p) => (await db.quarantinedInstance.count({ where: { id: q.id, poolId: p } })) > 0,
    },
    crossInputs: {
      previewRules: { body: { stagedInstanceId: staged.id } },
      // rules.stamps.clinicalTrial.protocolId / siteId are the trial's own text written into
      // (0012,0020) / (0012,0030), not ids of rows: nothing of pool B can be named by them.
      updatePoolRules: { exempt: 'its only "Id" fields are the clinical trial protocol and site identifiers (protocol text for DICOM, not row ids)' },
      checkPoolRules: { exempt: 'its only "Id" fields are the clinical trial protocol and site identifiers (protocol text for DICOM, not row ids)' },
      // Works item by item: B's id is reported as not found, nothing is done.
      decideQuarantine: {
        body: { ids: [q.id], decision: 'drop' },
        answer: (res, who) => {
          if (res.status !== 200) return expect([403, 404], `${who}: decideQuarantine answered ${res.status}`).toContain(res.status);
          const json = res.json as { done: string[]; failed: { id: string; reason: string }[] };
          expect(json.done, who).toEqual([]);
          expect(json.failed.map((f) => f.id)).toEqual([q.id]);
          expect(json.failed[0].reason).toMatch(/not found|no such/i);
        },
      },
    },
    bodies: {
      updatePoolRules: { rules, baseVersion: 1 },
      checkPoolRules: { rules },
      previewRules: { rules: JSON.stringify(rules), file: new File([Buffer.alloc(200)], 'sample.dcm', { type: 'application/dicom' }) },
      uploadLookupTable: { kind: 'table', table: 'stolen', mode: 'replace', file: new File(['key,value\na,b\n'], 't.csv', { type: 'text/csv' }) },
      decideQuarantine: { ids: [q.id], decision: 'drop' },
      redactQuarantined: { regions: [{ x: 0, y: 0, width: 10, height: 10 }] },
    },
    markers: [`RULES-B-${s}`, staged.id, `STAGED-B-${s}`, `MRN-DEID-B-${s}`, `RID-DEID-B-${s}`, `RNAME-DEID-B-${s}`, `LK-ID-B-${s}`, `LV-ID-B-${s}`, `LK-SITE-B-${s}`, `LV-SITE-B-${s}`, `sites-b-${s.toLowerCase()}`, q.id, sop, `Q-FILE-B-${s}`],
    check: async () => {
      const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId }, select: { ruleVersion: true } });
      expect(pool.ruleVersion).toBe(1);
      expect(await db.poolRuleVersion.count({ where: { poolId } })).toBe(2);
      expect(await db.lookupEntry.count({ where: { poolId } })).toBe(2);
      expect(await db.patientIdentity.count({ where: { poolId } })).toBe(1);
      const after = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: q.id } });
      expect(after.decision).toBeNull();
      await expect(fs.stat(path.join(storageRoot(), rel))).resolves.toBeTruthy();
      expect(await db.auditEvent.count({ where: { poolId, action: { in: ['pool.identity-view', 'pool.identity-export', 'pool.rules-preview', 'pool.rules-update'] } } })).toBe(0);
      expect(await db.auditEvent.count({ where: { targetId: staged.id } })).toBe(0);
      await expect(fs.stat(stagedPath)).resolves.toBeTruthy();
    },
    cleanup: async () => {
      await db.stagedInstance.deleteMany({ where: { id: staged.id } });
      await fs.rm(stagedPath, { force: true });
    },
  };
};

export default extend;
