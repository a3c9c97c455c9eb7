/**
 * GET /queries/{id} says until when a query waits for its connector's schedule window
 * (`scheduledFor`, the next window opening), and only while it is outside the window and has
 * work waiting. No worker runs here: the query's find job just waits in the queue.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call } from '../../helpers/api';
import { actorOf, makeConnector, makePool, makeUser } from '../../helpers/fixtures';

let token: string;
let coordinator: Awaited<ReturnType<typeof makeUser>>;
let poolId: string;

beforeAll(async () => {
  coordinator = await makeUser('COORDINATOR');
  poolId = (await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] })).id;
  token = (await createApiToken({ userId: coordinator.id, name: 't' })).token;
});

/** A window of one hour starting `inHours` from now (0 = the current hour: inside). */
const windowFromNow = (inHours: number) => {
  const start = (new Date().getHours() + inHours) % 24;
  return { start, schedule: `hour=${start}-${start} dayOfWeek=*` };
};

async function get(queryId: string) {
  const r = await call(api.getQuery, { id: queryId }, { token });
  expect(r.status).toBe(200);
  return r.json as { status: string; scheduledFor: string | null };
}

describe('GET /queries/{id} scheduledFor', () => {
  it('gives the next window opening while the query waits outside its window, and null inside it', async () => {
    const { start, schedule } = windowFromNow(3);
    const { connector } = await makeConnector({ pacsAe: 'NOWHERE', port: 1, schedule });
    const { createQuery } = await import('@/lib/queries/queries');
    const q = await createQuery(actorOf(coordinator), { poolId, connectorId: connector.id, items: [{ patientId: 'MRN-SCHED-1' }] });

    const waiting = await get(q.id);
    expect(waiting.status).toBe('PENDING');
    expect(waiting.scheduledFor).not.toBeNull();
    const at = new Date(waiting.scheduledFor!);
    expect(at.getHours()).toBe(start);
    expect(at.getMinutes()).toBe(0);
    expect(at.getTime()).toBeGreaterThan(Date.now());
    expect(at.getTime() - Date.now()).toBeLessThanOrEqual(3 * 3600_000);

    // The same query once the connector's window includes now: nothing to wait for.
    await db.connector.update({ where: { id: connector.id }, data: { schedule: windowFromNow(0).schedule } });
    expect((await get(q.id)).scheduledFor).toBeNull();
    await db.connector.update({ where: { id: connector.id }, data: { schedule: null } });
    expect((await get(q.id)).scheduledFor).toBeNull();
  });

  it('is null for a finished query with nothing waiting, even outside the window', async () => {
    const { connector } = await makeConnector({ pacsAe: 'NOWHERE', port: 1, schedule: windowFromNow(5).schedule });
    const { createQuery } = await import('@/lib/queries/queries');
    const q = await createQuery(actorOf(coordinator), { poolId, connectorId: connector.id, items: [{ patientId: 'MRN-SCHED-2' }] });
    expect((await get(q.id)).scheduledFor).not.toBeNull();
    await db.queryItem.updateMany({ where: { queryId: q.id }, data: { status: 'DONE' } });
    await db.query.update({ where: { id: q.id }, data: { status: 'DONE' } });
    expect((await get(q.id)).scheduledFor).toBeNull();
  });
});
