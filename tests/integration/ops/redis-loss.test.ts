/**
 * Redis holds only queues: when it comes back empty, the work PostgreSQL says is under way is
 * enqueued again, once (deterministic ids), and nothing that is finished is touched.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { QUEUES } from '@/lib/jobs/catalogue';
import { queue } from '@/lib/jobs/queues';
import { recoverJobsFromDatabase, watchForLostQueues } from '@/lib/jobs/recover';
import { key, redis } from '@/lib/redis';
import { makeConnector, makePool, suffix, waitFor } from '../../helpers/fixtures';

async function jobIds(name: (typeof QUEUES)[keyof typeof QUEUES]) {
  const jobs = await queue(name).getJobs(['waiting', 'delayed', 'prioritized', 'active']);
  return jobs.map((j) => j.id!).sort();
}

async function emptyQueues() {
  for (const q of Object.values(QUEUES)) await queue(q).obliterate({ force: true });
}

const madeQueries: string[] = [];
afterAll(async () => {
  // Leave no work "under way" behind: a later test file's worker would recover it.
  await db.query.deleteMany({ where: { id: { in: madeQueries } } });
  await emptyQueues();
});

describe('rebuilding the queues from the database', () => {
  it('enqueues open finds, moves and de-identifications once, and leaves finished work alone', async () => {
    await emptyQueues();
    const { connector } = await makeConnector({ pacsAe: `P${suffix()}`, port: 104, maxAssociations: 2 });
    const pool = await makePool();
    const mk = (status: 'PENDING' | 'DONE') =>
      db.query.create({
        data: {
          poolId: pool.id,
          connectorId: connector.id,
          status,
          generation: 1,
          items: { create: [{ rowNumber: 1, patientId: `X${suffix()}`, status: status === 'DONE' ? 'DONE' : 'PENDING' }] },
        },
        include: { items: true },
      });
    const open = await mk('PENDING');
    const done = await mk('DONE');
    madeQueries.push(open.id, done.id);
    const states = ['QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING', 'DONE', 'FAILED'] as const;
    const retrievals: Record<string, string> = {};
    for (const [i, state] of states.entries()) {
      const result = await db.queryResult.create({ data: { queryId: done.id, itemId: done.items[0].id, studyInstanceUid: `1.2.3.${i}`, patientId: 'X' } });
      const r = await db.retrieval.create({
        data: { queryId: done.id, resultId: result.id, poolId: pool.id, connectorId: connector.id, studyInstanceUid: `1.2.3.${i}`, state, attempts: 2 },
      });
      retrievals[state] = r.id;
    }

    // Other test files may have left work under way in the shared database: look at ours only.
    const ours = (ids: string[]) => ids.filter((id) => id.includes(open.id) || id.includes(done.id) || Object.values(retrievals).some((r) => id.includes(r)));
    const first = await recoverJobsFromDatabase();
    expect(first.finds).toBeGreaterThanOrEqual(1);
    expect(first.moves).toBeGreaterThanOrEqual(3);
    expect(first.anonymizes).toBeGreaterThanOrEqual(1);
    expect(ours(await jobIds(QUEUES.find))).toEqual([`find-${open.id}-1-0`]);
    expect(ours(await jobIds(QUEUES.move))).toEqual(['QUEUED', 'SCHEDULED', 'MOVING'].map((s) => `move-${retrievals[s]}-2`).sort());
    expect(ours(await jobIds(QUEUES.anonymize))).toEqual([`anon-${retrievals.ANONYMIZING}-2`]);

    // Again, with the jobs still there: nothing new.
    const before = { find: await jobIds(QUEUES.find), move: await jobIds(QUEUES.move), anonymize: await jobIds(QUEUES.anonymize) };
    await recoverJobsFromDatabase();
    expect(await jobIds(QUEUES.move)).toEqual(before.move);
    expect(await jobIds(QUEUES.find)).toEqual(before.find);
    expect(await jobIds(QUEUES.anonymize)).toEqual(before.anonymize);
  });

  it('notices that Redis lost its data and runs the recovery', async () => {
    const marker = key('queues-alive-test');
    let lost = 0;
    const w = watchForLostQueues({ redis: redis(), markerKey: marker, intervalMs: 100, onLost: async () => void lost++ });
    try {
      // First start on a Redis without the marker: recovery runs once, then the marker is there.
      await w.ready;
      expect(lost).toBe(1);
      expect(await redis().exists(marker)).toBe(1);
      await new Promise((r) => setTimeout(r, 400));
      expect(lost).toBe(1);
      await redis().del(marker);
      await waitFor(async () => lost === 2, { timeoutMs: 5_000, what: 'recovery after the flush' });
      await waitFor(async () => (await redis().exists(marker)) === 1, { what: 'marker written again' });
      await new Promise((r) => setTimeout(r, 400));
      expect(lost).toBe(2);
    } finally {
      w.stop();
    }
  });
});
