/**
 * The pool page records `pool.view` (once per user and pool per 10 minutes, shared with the REST
 * study list) and the study page `study.view`, with ids only. Pages are called in-process with
 * the session stubbed, as in isolation.test.ts (which explains why).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Actor } from '@/lib/auth/actor';
import { db } from '@/lib/db';
import { key, redis } from '@/lib/redis';
import { generateCorpus } from '@/lib/synthetic';
import { actorOf, makePool, makeUser } from '../../helpers/fixtures';
import { seedPool } from '../browse/seed';

vi.mock('server-only', () => ({}));
const session = vi.hoisted(() => ({ actor: null as Actor | null }));
vi.mock('@/lib/auth/actor', async (importOriginal) => ({ ...(await importOriginal<typeof import('@/lib/auth/actor')>()), actorFromSession: async () => session.actor }));

type Props = { params: Promise<Record<string, string>>; searchParams: Promise<Record<string, string>> };
async function render(file: string, actor: Actor, params: Record<string, string>, searchParams: Record<string, string> = {}) {
  session.actor = actor;
  try {
    const mod = (await import(/* @vite-ignore */ file)) as { default: (p: Props) => Promise<unknown> };
    return await mod.default({ params: Promise.resolve(params), searchParams: Promise.resolve(searchParams) });
  } finally {
    session.actor = null;
  }
}

let actor: Actor;
let poolId: string;
let studyId: string;
let secrets: string[];

beforeAll(async () => {
  const user = await makeUser('RESEARCHER');
  actor = actorOf(user);
  const pool = await makePool({ members: [{ userId: user.id, role: 'RESEARCHER' }] });
  poolId = pool.id;
  studyId = (await seedPool(poolId, generateCorpus({ seed: 43, patients: 1, seriesPerStudy: 1, instancesPerSeries: 1, rows: 16, columns: 16 }).instances.map((i) => i.buffer))).studyIds[0];
  const study = await db.study.findUniqueOrThrow({ where: { id: studyId } });
  secrets = [pool.name, user.email, user.name, study.patientId, study.patientName, study.studyInstanceUid];
});

describe('pages audit views', () => {
  it('the pool page writes one pool.view per window, with ids only', async () => {
    await redis().del(key('pool-view-audit', actor.userId, poolId));
    const t0 = new Date();
    await render('@/app/pools/[poolId]/page', actor, { poolId });
    await render('@/app/pools/[poolId]/page', actor, { poolId }, { page: '2', q: 'TRB' });
    const views = await db.auditEvent.findMany({ where: { at: { gte: t0 }, action: 'pool.view', poolId } });
    expect(views.map((e) => [e.userId, e.targetType, e.targetId, (e.detail as { via: string }).via])).toEqual([[actor.userId, 'pool', poolId, 'page']]);
    for (const s of secrets) expect(JSON.stringify(views)).not.toContain(s);
  });

  it('the study page writes study.view, with ids only', async () => {
    const t0 = new Date();
    await render('@/app/pools/[poolId]/studies/[studyId]/page', actor, { poolId, studyId });
    const views = await db.auditEvent.findMany({ where: { at: { gte: t0 }, action: 'study.view', poolId } });
    expect(views.map((e) => [e.userId, e.targetType, e.targetId])).toEqual([[actor.userId, 'study', studyId]]);
    for (const s of secrets) expect(JSON.stringify(views)).not.toContain(s);
  });
});
