/**
 * The query page links a finished study to its research copy only for a viewer allowed to pair
 * the MRN it shows with the research ID: the pool's owner and the coordinator who ran the query.
 * The attack: another coordinator of the same pool, and an administrator, get no link (and so
 * no research ID for an MRN they did not retrieve).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { getQueryDetail } from '@/lib/queries/queries';
import { actorOf, makeConnector, makePool, makeUser, suffix } from '../../helpers/fixtures';

type U = Awaited<ReturnType<typeof makeUser>>;
let runner: U, otherCoordinator: U, owner: U, admin: U;
let queryId: string;
let studyId: string;

beforeAll(async () => {
  [runner, otherCoordinator, owner, admin] = await Promise.all([makeUser('COORDINATOR'), makeUser('COORDINATOR'), makeUser('RESEARCHER'), makeUser('ADMIN')]);
  const pool = await makePool({
    members: [
      { userId: runner.id, role: 'COORDINATOR' },
      { userId: otherCoordinator.id, role: 'COORDINATOR' },
      { userId: owner.id, role: 'OWNER' },
    ],
  });
  const { connector } = await makeConnector({ pacsAe: `P${suffix()}`, port: 104 });
  const sourceUid = `1.2.826.0.1.3680043.10.${Date.now()}`;
  const researchUid = `2.25.${Date.now()}`;
  const q = await db.query.create({
    data: { poolId: pool.id, connectorId: connector.id, createdById: runner.id, status: 'DONE', items: { create: { rowNumber: 1, patientId: 'MRN1', status: 'DONE', resultCount: 1 } } },
    include: { items: true },
  });
  queryId = q.id;
  const result = await db.queryResult.create({ data: { queryId, itemId: q.items[0].id, studyInstanceUid: sourceUid, patientId: 'MRN1', selected: true } });
  await db.retrieval.create({ data: { queryId, resultId: result.id, poolId: pool.id, connectorId: connector.id, studyInstanceUid: sourceUid, state: 'DONE' } });
  await db.studyIdentity.create({ data: { poolId: pool.id, sourceStudyUid: sourceUid, researchStudyUid: researchUid, sourcePatientId: 'MRN1' } });
  studyId = (await db.study.create({ data: { poolId: pool.id, studyInstanceUid: researchUid, patientId: 'TRB-1' } })).id;
});

describe('query page links to the pool study', () => {
  it('the coordinator who ran the query and the owner get the link', async () => {
    for (const u of [runner, owner]) {
      const d = await getQueryDetail(queryId, { viewer: actorOf(u) });
      expect(d.results.map((r) => r.poolStudyId), u.email).toEqual([studyId]);
    }
  });

  it('another coordinator of the pool and an administrator do not', async () => {
    for (const u of [otherCoordinator, admin]) {
      const d = await getQueryDetail(queryId, { viewer: actorOf(u) });
      expect(d.results.map((r) => r.poolStudyId), u.email).toEqual([null]);
      expect(JSON.stringify(d)).not.toContain(studyId);
    }
  });
});
