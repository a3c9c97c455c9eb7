/**
 * Issue 9, finding 1: identity lookup through STOW-RS. Whoever may store into a pool can send a
 * tiny object with any PatientID and read back, over QIDO, that MRN's research ID (created on the
 * spot, or taken from the owner's lookup table) and, from the shifted StudyDate, its date offset.
 * Only the pool's owner (who sees the identity map anyway) may store; coordinators, researchers,
 * administrators and pool-scoped tokens are refused before anything is read or written, and every
 * STOW that creates or uses an identity-map entry is audited like an identity view.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudonymFor } from '@/lib/anonymize/pseudonym';
import { createApiToken } from '@/lib/auth/tokens';
import { db, type Pool } from '@/lib/db';
import { RESEARCH_ID_TABLE } from '@/lib/pools/lookups';
import { storageRoot } from '@/lib/storage';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { makePool, makeUser } from '../../helpers/fixtures';
import { bodyOf, dw, filesUnder, stowObjects } from './helpers';
import { readDicom } from './objects';

let pool: Pool;
let corpus: Corpus;
const tokens: Record<string, string> = {};
/** An MRN the owner mapped to a chosen research ID in the pool's lookup table. */
const LOOKUP_MRN = 'VICTIM-MRN-4711';
const LOOKUP_RESEARCH_ID = 'STUDY-SUBJ-007';
/** An MRN the pool has never seen: a STOW would create its identity on the spot. */
const FRESH_MRN = 'VICTIM-MRN-0815';

/** A small object of the corpus carrying another PatientID (what an attacker would send). */
function objectFor(mrn: string, index: number): Buffer {
  const d = readDicom(corpus.instances[index].buffer);
  d.dict['00100020'] = { vr: 'LO', Value: [mrn] };
  return Buffer.from(d.write());
}

async function poolTraces() {
  return {
    identities: await db.patientIdentity.count({ where: { poolId: pool.id } }),
    studyIdentities: await db.studyIdentity.count({ where: { poolId: pool.id } }),
    studies: await db.study.count({ where: { poolId: pool.id } }),
    instances: await db.instance.count({ where: { poolId: pool.id } }),
    quarantined: await db.quarantinedInstance.count({ where: { poolId: pool.id } }),
    files: [
      ...(await filesUnder(path.join(storageRoot(), 'pools', pool.id))),
      ...(await filesUnder(path.join(storageRoot(), 'quarantine', pool.id))),
    ],
  };
}

beforeAll(async () => {
  const [owner, coordinator, researcher, admin, adminMember] = await Promise.all([
    makeUser('RESEARCHER'),
    makeUser('COORDINATOR'),
    makeUser('RESEARCHER'),
    makeUser('ADMIN'),
    makeUser('ADMIN'),
  ]);
  pool = await makePool({
    members: [
      { userId: owner.id, role: 'OWNER' },
      { userId: coordinator.id, role: 'COORDINATOR' },
      { userId: researcher.id, role: 'RESEARCHER' },
      { userId: adminMember.id, role: 'COORDINATOR' },
    ],
  });
  await db.lookupEntry.create({ data: { poolId: pool.id, table: RESEARCH_ID_TABLE, key: LOOKUP_MRN, value: LOOKUP_RESEARCH_ID } });
  tokens.owner = (await createApiToken({ userId: owner.id, name: 'o' })).token;
  tokens['pool token of the owner'] = (await createApiToken({ userId: owner.id, name: 'p', poolId: pool.id })).token;
  tokens.coordinator = (await createApiToken({ userId: coordinator.id, name: 'c' })).token;
  tokens['pool token of the coordinator'] = (await createApiToken({ userId: coordinator.id, name: 'cp', poolId: pool.id })).token;
  tokens.researcher = (await createApiToken({ userId: researcher.id, name: 'r' })).token;
  tokens.admin = (await createApiToken({ userId: admin.id, name: 'a' })).token;
  tokens['admin who coordinates the pool'] = (await createApiToken({ userId: adminMember.id, name: 'am' })).token;
  corpus = generateCorpus({ seed: 91, patients: 1, rows: 8, columns: 8, instancesPerSeries: 3, seriesPerStudy: 1 });
});

describe('STOW-RS is no identity oracle', () => {
  it('refuses every caller but the owner before anything is stored or any identity is made', async () => {
    const before = await poolTraces();
    expect(before.identities).toBe(0);
    for (const [who, token] of Object.entries(tokens)) {
      if (who === 'owner') continue;
      const res = await stowObjects(pool.id, token, [objectFor(LOOKUP_MRN, 0), objectFor(FRESH_MRN, 1)]);
      expect(res.status, `${who} stored into the pool`).toBe(403);
      // What the attacker would read next: the pool's QIDO answer (as far as they may read it).
      const qido = await dw('GET', `/dicomweb/${pool.id}/studies?includefield=all`, { token, headers: { accept: 'application/dicom+json' } });
      const text = (await bodyOf(qido)).toString('utf8');
      for (const secret of [LOOKUP_RESEARCH_ID, pseudonymFor(pool.secret, FRESH_MRN), pseudonymFor(pool.secret, LOOKUP_MRN)]) {
        expect(text.includes(secret), `${who} learned a research ID`).toBe(false);
      }
      expect(await poolTraces(), `${who} left traces`).toEqual(before);
    }
    expect(await db.patientIdentity.count({ where: { poolId: pool.id, sourcePatientId: { in: [LOOKUP_MRN, FRESH_MRN] } } })).toBe(0);
    expect(await db.auditEvent.count({ where: { poolId: pool.id, action: { in: ['dicomweb.stow', 'pool.identity-view'] } } })).toBe(0);
  });

  it('lets the owner store, and audits the identity-map entries it created or used (counts only)', async () => {
    const first = await stowObjects(pool.id, tokens.owner, [objectFor(LOOKUP_MRN, 0), objectFor(FRESH_MRN, 1)]);
    expect(first.status, first.text).toBe(202);
    expect(first.stored).toHaveLength(2);
    const ids = await db.patientIdentity.findMany({ where: { poolId: pool.id }, select: { sourcePatientId: true, researchId: true } });
    expect(ids.find((i) => i.sourcePatientId === LOOKUP_MRN)?.researchId).toBe(LOOKUP_RESEARCH_ID);
    expect(ids).toHaveLength(2);
    const views = async () => db.auditEvent.findMany({ where: { poolId: pool.id, action: 'pool.identity-view' }, orderBy: { at: 'asc' } });
    const [created] = await views();
    expect(created.detail).toEqual({ via: 'stow', patients: 2, created: 2, reused: 0 });

    // The same patient again: the entry is used (not created), and that is audited too.
    const again = await stowObjects(pool.id, tokens.owner, [objectFor(LOOKUP_MRN, 2)]);
    expect(again.status, again.text).toBe(202);
    const all = await views();
    expect(all).toHaveLength(2);
    expect(all[1].detail).toEqual({ via: 'stow', patients: 1, created: 0, reused: 1 });
    expect(all[1].userId).not.toBeNull();
    for (const e of all) {
      const row = JSON.stringify(e);
      for (const phi of [LOOKUP_MRN, FRESH_MRN, LOOKUP_RESEARCH_ID]) expect(row.includes(phi)).toBe(false);
    }
  });
});
