/**
 * The admin queues page's actions through the API: retry a failed background job, remove a job.
 * Admins only; everyone else is refused and nothing changes.
 */
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { QUEUES } from '@/lib/jobs/catalogue';
import { bullPrefix, enqueue, queue } from '@/lib/jobs/queues';
import { createRedis } from '@/lib/redis';
import { call } from '../../helpers/api';
import { makeUser, waitFor } from '../../helpers/fixtures';

let admin: string;
let coordinator: string;
let researcher: string;
let failing: Worker | null = null;

beforeAll(async () => {
  admin = (await createApiToken({ userId: (await makeUser('ADMIN')).id, name: 'a' })).token;
  coordinator = (await createApiToken({ userId: (await makeUser('COORDINATOR')).id, name: 'c' })).token;
  researcher = (await createApiToken({ userId: (await makeUser('RESEARCHER')).id, name: 'r' })).token;
});

afterAll(async () => {
  await failing?.close();
});

/** A real failed job: a one-attempt anonymize job that a stand-in worker fails. */
async function failedJob(n: number): Promise<string> {
  const id = `anon-admin-test-${n}-${Date.now()}`;
  await enqueue('retrieval.anonymize', { retrievalId: `no-such-retrieval-${n}`, generation: 0 }, { jobId: id, attempts: 1 });
  failing ??= new Worker(
    QUEUES.anonymize,
    async (): Promise<void> => {
      throw new Error('stand-in failure');
    },
    { connection: createRedis(), prefix: bullPrefix() },
  );
  await waitFor(async () => ((await queue(QUEUES.anonymize).getJob(id))?.failedReason ? true : null), { what: 'the job to fail' });
  return id;
}

describe('admin queue actions (API)', () => {
  it('retries a failed job and removes a job, for admins only', async () => {
    const id = await failedJob(1);
    await failing!.close();
    failing = null;
    const params = { queue: QUEUES.anonymize, jobId: id };

    // Not signed in, a coordinator, a researcher: refused, the job untouched.
    expect((await call(api.retryJob, params)).status).toBe(401);
    for (const token of [coordinator, researcher]) {
      expect((await call(api.retryJob, params, { token })).status).toBe(403);
      expect((await call(api.removeJob, params, { token })).status).toBe(403);
    }
    expect(await (await queue(QUEUES.anonymize).getJob(id))!.getState()).toBe('failed');

    // An admin retries it: back to waiting, attempts reset, audited.
    const retried = await call(api.retryJob, params, { token: admin });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.json).toEqual({ id, state: 'waiting' });
    const job = await queue(QUEUES.anonymize).getJob(id);
    expect(await job!.getState()).toBe('waiting');
    expect(job!.attemptsMade).toBe(0);
    // Only failed jobs can be retried.
    expect((await call(api.retryJob, params, { token: admin })).status).toBe(409);

    // And removes it.
    const removed = await call(api.removeJob, params, { token: admin });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.json).toEqual({ id, removed: true });
    expect(await queue(QUEUES.anonymize).getJob(id)).toBeUndefined();
    expect((await call(api.removeJob, params, { token: admin })).status).toBe(404);
    expect((await call(api.retryJob, { queue: QUEUES.anonymize, jobId: 'no-such-job' }, { token: admin })).status).toBe(404);

    const events = await db.auditEvent.findMany({ where: { targetId: `${QUEUES.anonymize}/${id}` }, orderBy: { at: 'asc' } });
    expect(events.map((e) => e.action)).toEqual(['job.retry', 'job.remove']);
  });

  it('refuses an unknown queue with a 4xx', async () => {
    const r = await call(api.retryJob, { queue: 'nope', jobId: 'x' }, { token: admin });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });
});
