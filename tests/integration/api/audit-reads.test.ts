/**
 * Every view, download and token creation is audited (issue 6), with ids only: a study view, an
 * instance and a zip download, a Weasis launch, creating and revoking a pool token, and looking at
 * a pool's study list (`pool.view`, once per user and pool per 10 minutes). The events carry the
 * database ids of user, pool and target, never names, e-mail addresses, descriptions, UIDs,
 * research IDs, token names or token values. (The pool page's own pool.view and study.view are
 * checked in tests/integration/pages/audit.test.ts.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { POOL_VIEW_AUDIT_WINDOW_SECONDS } from '@/lib/pools/studies';
import { key, redis } from '@/lib/redis';
import { generateCorpus } from '@/lib/synthetic';
import { createToken } from '@/lib/users/tokens';
import { call } from '../../helpers/api';
import { actorOf, makePool, makeUser } from '../../helpers/fixtures';
import { seedPool } from '../browse/seed';

type U = Awaited<ReturnType<typeof makeUser>>;
let user: U;
let other: U;
let poolId: string;
let token: string;
let studyId: string;
let instanceId: string;
/** What must never be in an audit event. */
let secrets: string[];

async function eventsSince(t0: Date, where: Record<string, unknown> = {}) {
  return db.auditEvent.findMany({ where: { at: { gte: t0 }, ...where }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
}

function expectIdsOnly(events: unknown[]) {
  const text = JSON.stringify(events);
  for (const s of secrets) expect(text.includes(s), `audit reveals ${s}`).toBe(false);
}

beforeAll(async () => {
  [user, other] = await Promise.all([makeUser('RESEARCHER'), makeUser('RESEARCHER')]);
  const pool = await makePool({ members: [{ userId: user.id, role: 'RESEARCHER' }, { userId: other.id, role: 'RESEARCHER' }] });
  poolId = pool.id;
  const seeded = await seedPool(poolId, generateCorpus({ seed: 41, patients: 1, seriesPerStudy: 1, instancesPerSeries: 2, rows: 16, columns: 16 }).instances.map((i) => i.buffer));
  studyId = seeded.studyIds[0];
  const study = await db.study.findUniqueOrThrow({ where: { id: studyId }, include: { series: { include: { instances: true } } } });
  instanceId = study.series[0].instances[0].id;
  token = (await createApiToken({ userId: user.id, name: 'reader' })).token;
  secrets = [
    pool.name,
    pool.aeTitle,
    user.email,
    user.name,
    study.patientId,
    study.patientName,
    study.studyInstanceUid,
    ...(study.studyDescription ? [study.studyDescription] : []),
    study.series[0].seriesInstanceUid,
    ...study.series[0].instances.map((i) => i.sopInstanceUid),
    token,
  ].filter((s) => s.length >= 4);
});

describe('reads are audited with ids only', () => {
  it('study view, instance download and zip download', async () => {
    const t0 = new Date();
    expect((await call(api.getStudy, { id: poolId, studyId }, { token })).status).toBe(200);
    expect((await call(api.getInstanceFile, { id: poolId, instanceId }, { token })).status).toBe(200);
    const zip = await call(api.downloadStudy, { id: poolId, studyId }, { token });
    expect(zip.status).toBe(200);
    const events = await eventsSince(t0, { poolId });
    expect(events.map((e) => [e.action, e.userId, e.targetType, e.targetId])).toEqual([
      ['study.view', user.id, 'study', studyId],
      ['study.download', user.id, 'instance', instanceId],
      ['study.download', user.id, 'study', studyId],
    ]);
    expectIdsOnly(events);
  });

  it('a Weasis launch', async () => {
    const t0 = new Date();
    expect((await call(api.createWeasisLaunch, { id: poolId }, { token, body: { studyIds: [studyId] } })).status).toBe(201);
    const events = await eventsSince(t0, { poolId });
    expect(events.map((e) => [e.action, e.userId, e.targetId])).toEqual([['study.viewer-launch', user.id, studyId]]);
    expectIdsOnly(events);
  });

  it('creating and revoking a pool token (its name and value stay out)', async () => {
    const t0 = new Date();
    const name = `OHIF for ${user.name}`;
    const created = await createToken(actorOf(user), { name, poolId });
    const revoked = await call(api.revokeToken, { id: created.id }, { token });
    expect(revoked.status).toBe(200);
    const events = await eventsSince(t0, { userId: user.id, action: { in: ['token.create', 'token.revoke'] } });
    expect(events.map((e) => [e.action, e.poolId, e.targetType, e.targetId])).toEqual([
      ['token.create', poolId, 'token', created.id],
      ['token.revoke', null, 'token', created.id],
    ]);
    expect(JSON.stringify(events)).not.toContain(name);
    expect(JSON.stringify(events)).not.toContain(created.token);
    expect(JSON.stringify(events)).not.toContain(created.prefix);
    expectIdsOnly(events);
  });

  it('the study list writes one pool.view per user and pool per window, whatever is paged or searched', async () => {
    await redis().del(key('pool-view-audit', user.id, poolId), key('pool-view-audit', other.id, poolId));
    const t0 = new Date();
    const search = secrets.find((s) => s.startsWith('TRB')) ?? 'TRB';
    for (const query of [{}, { page: '2' }, { sort: 'patientId', dir: 'asc' }, { q: search }] as Record<string, string>[]) {
      expect((await call(api.listStudies, { id: poolId }, { token, query })).status).toBe(200);
    }
    let views = await eventsSince(t0, { action: 'pool.view', poolId });
    expect(views.map((e) => [e.userId, e.targetType, e.targetId, (e.detail as { via: string }).via])).toEqual([[user.id, 'pool', poolId, 'api']]);

    // Another user is recorded on their own.
    const otherToken = (await createApiToken({ userId: other.id, name: 'o' })).token;
    expect((await call(api.listStudies, { id: poolId }, { token: otherToken })).status).toBe(200);
    views = await eventsSince(t0, { action: 'pool.view', poolId });
    expect(views.map((e) => e.userId)).toEqual([user.id, other.id]);

    // The window: the flag lives POOL_VIEW_AUDIT_WINDOW_SECONDS; once it is gone, the next view is recorded.
    const ttl = await redis().ttl(key('pool-view-audit', user.id, poolId));
    expect(ttl).toBeGreaterThan(POOL_VIEW_AUDIT_WINDOW_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(POOL_VIEW_AUDIT_WINDOW_SECONDS);
    await redis().del(key('pool-view-audit', user.id, poolId));
    expect((await call(api.listStudies, { id: poolId }, { token })).status).toBe(200);
    views = await eventsSince(t0, { action: 'pool.view', poolId });
    expect(views.map((e) => e.userId)).toEqual([user.id, other.id, user.id]);
    expectIdsOnly(views);
    expect(JSON.stringify(views)).not.toContain(search);
  });
});
