/**
 * The audit CSV (/api/v1/admin/audit/export) has the audit page's visibility: administrators
 * only. The attack: a pool's coordinator, owner or researcher (by session or token), or an
 * administrator's pool-scoped token, asking for their own or another pool's audit, gets 403 and
 * no event. For an administrator: the filters (pool, user, action, date range) select the same
 * events as the page, names and research IDs replace ids, and
 * cells that a spreadsheet would run as formulas are defused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { db } from '@/lib/db';
import { csvCell, listAuditEvents } from '@/lib/audit-log/list';
import { createToken } from '@/lib/users/tokens';
import { call, sessionCookie } from '../../helpers/api';
import { actorOf, makePool, makeUser, suffix } from '../../helpers/fixtures';

type U = Awaited<ReturnType<typeof makeUser>>;
let admin: U;
let coordinator: U;
let owner: U;
let researcher: U;
let poolA: { id: string; name: string };
let poolB: { id: string; name: string };
const marker = `m${suffix()}`;
let studyId: string;

beforeAll(async () => {
  [admin, coordinator, owner, researcher] = await Promise.all([makeUser('ADMIN'), makeUser('COORDINATOR'), makeUser('RESEARCHER'), makeUser('RESEARCHER')]);
  poolA = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }, { userId: owner.id, role: 'OWNER' }, { userId: researcher.id, role: 'RESEARCHER' }] });
  poolB = await makePool();
  const study = await db.study.create({ data: { poolId: poolA.id, studyInstanceUid: `2.25.${Date.now()}`, patientId: `RID-${marker}`, patientName: `Research^${marker}` } });
  studyId = study.id;
  await db.auditEvent.createMany({
    data: [
      { at: new Date('2026-03-01T10:00:00Z'), userId: coordinator.id, action: 'study.view', poolId: poolA.id, targetType: 'study', targetId: studyId, detail: { marker } },
      { at: new Date('2026-03-02T10:00:00Z'), userId: researcher.id, action: 'study.download', poolId: poolA.id, targetType: 'study', targetId: studyId, detail: { marker, note: '=HYPERLINK("http://evil")' } },
      { at: new Date('2026-03-05T10:00:00Z'), userId: admin.id, action: 'pool.update', poolId: poolB.id, targetType: 'pool', targetId: poolB.id, detail: { marker } },
    ],
  });
});

const csvOf = async (cookie: string | undefined, query: Record<string, string>, token?: string) => call(api.exportAudit, {}, { cookie, token, query: { ...query } });
const markerRows = (csv: string) => csv.split('\r\n').filter((l) => l.includes(marker));

describe('audit CSV authorization', () => {
  it('refuses every pool role, by session or token, for their own pool and another one', async () => {
    for (const u of [coordinator, owner, researcher]) {
      const cookie = await sessionCookie(u.id);
      for (const pool of [poolA.id, poolB.id, undefined]) {
        const r = await csvOf(cookie, pool ? { pool } : {});
        expect(r.status, `${u.email} pool ${pool}`).toBe(403);
        expect(r.text).not.toContain(marker);
      }
      const { token } = await createToken(actorOf(u), { name: 'csv attack', poolId: poolA.id });
      const r = await csvOf(undefined, { pool: poolA.id }, token);
      expect(r.status).toBe(403);
      expect(r.text).not.toContain(marker);
    }
    expect((await csvOf(undefined, {})).status).toBe(401);
  });

  it("refuses an administrator's pool-scoped token (a token reaches its pool's studies, not the audit log)", async () => {
    const { token } = await createToken(actorOf(admin), { name: 'scoped', poolId: poolA.id });
    const r = await csvOf(undefined, { pool: poolA.id }, token);
    expect(r.status).toBe(403);
    expect(r.text).not.toContain(marker);
  });

  it('the page decides the same: only an administrator lists events', async () => {
    await expect(listAuditEvents(actorOf(coordinator), { pool: poolA.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const page = await listAuditEvents(actorOf(admin), { pool: poolA.id });
    expect(page.rows.filter((r) => r.detail.some(([, v]) => v === marker))).toHaveLength(2);
  });
});

describe('audit CSV for an administrator', () => {
  it('filters by pool, user, action and date range', async () => {
    const cookie = await sessionCookie(admin.id);
    const all = await csvOf(cookie, { from: '2026-03-01', to: '2026-03-05' });
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(all.headers.get('cache-control')).toBe('no-store');
    expect(markerRows(all.text)).toHaveLength(3);
    expect(markerRows((await csvOf(cookie, { pool: poolA.id })).text)).toHaveLength(2);
    expect(markerRows((await csvOf(cookie, { user: researcher.id })).text)).toHaveLength(1);
    expect(markerRows((await csvOf(cookie, { action: 'pool.update', pool: poolB.id })).text)).toHaveLength(1);
    // Date range: both days included, UTC.
    expect(markerRows((await csvOf(cookie, { from: '2026-03-02', to: '2026-03-02' })).text)).toHaveLength(1);
    expect(markerRows((await csvOf(cookie, { from: '2026-03-03' })).text)).toHaveLength(1);
    expect(markerRows((await csvOf(cookie, { to: '2026-02-28' })).text)).toHaveLength(0);
  });

  it('shows readable events, names and research IDs; formulas are defused', async () => {
    const cookie = await sessionCookie(admin.id);
    const r = await csvOf(cookie, { pool: poolA.id, action: 'study.download' });
    const [row] = markerRows(r.text);
    expect(row).toContain('"Downloaded a study"');
    expect(row).toContain(`"${researcher.name}"`);
    expect(row).toContain(`"${poolA.name}"`);
    expect(row).toContain(`"research ID RID-${marker}"`);
    // The study's research name is not shown either: the research ID identifies it for the reader.
    expect(r.text).not.toContain(`Research^${marker}`);
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1')).toBe(`"'+1"`);
    expect(csvCell('plain')).toBe('"plain"');
    const header = r.text.split('\r\n')[0];
    expect(header).toBe('time_utc,event,action,user,user_email,pool,pool_id,target_type,target,target_id,detail');
  });
});
