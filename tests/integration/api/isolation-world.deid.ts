/**
 * De-identification endpoints aimed at pool B: B's identity map, lookup tables, rule versions and a
 * quarantined instance (with its file), which none of pool A's members may read or change.
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
  return {
    params: { version: '1', table: `sites-b-${s.toLowerCase()}`, quarantineId: q.id },
    bodies: {
      updatePoolRules: { rules, baseVersion: 1 },
      checkPoolRules: { rules },
      previewRules: { rules: JSON.stringify(rules), file: new File([Buffer.alloc(200)], 'sample.dcm', { type: 'application/dicom' }) },
      uploadLookupTable: { kind: 'table', table: 'stolen', mode: 'replace', file: new File(['key,value\na,b\n'], 't.csv', { type: 'text/csv' }) },
      decideQuarantine: { ids: [q.id], decision: 'drop' },
    },
    markers: [`MRN-DEID-B-${s}`, `RID-DEID-B-${s}`, `RNAME-DEID-B-${s}`, `LK-ID-B-${s}`, `LV-ID-B-${s}`, `LK-SITE-B-${s}`, `LV-SITE-B-${s}`, `sites-b-${s.toLowerCase()}`, q.id, sop, `Q-FILE-B-${s}`],
    check: async () => {
      const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId }, select: { ruleVersion: true } });
      expect(pool.ruleVersion).toBe(1);
      expect(await db.poolRuleVersion.count({ where: { poolId } })).toBe(1);
      expect(await db.lookupEntry.count({ where: { poolId } })).toBe(2);
      expect(await db.patientIdentity.count({ where: { poolId } })).toBe(1);
      const after = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: q.id } });
      expect(after.decision).toBeNull();
      await expect(fs.stat(path.join(storageRoot(), rel))).resolves.toBeTruthy();
      expect(await db.auditEvent.count({ where: { poolId, action: { in: ['pool.identity-view', 'pool.identity-export', 'pool.rules-preview', 'pool.rules-update'] } } })).toBe(0);
    },
  };
};

export default extend;
