/**
 * The identity map and the lookup tables are the pool owner's alone: researchers, coordinators and
 * administrators are refused (API and the page's access decision), the owner reads and exports,
 * every view and export is audited, and no audit row carries an MRN or a research ID.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { requirePool } from '@/lib/auth/access';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { resolvePatientIdentity } from '@/lib/pools/identity';
import { call } from '../../helpers/api';
import { actorOf, makePool, makeUser, suffix } from '../../helpers/fixtures';

let s: string;
let poolId: string;
let secret: string;
let mrn: string;
const tokens: Record<string, string> = {};
const actors: Record<string, ReturnType<typeof actorOf>> = {};

beforeAll(async () => {
  s = suffix();
  mrn = `MRN-MAP-${s}`;
  const owner = await makeUser('RESEARCHER');
  const coordinator = await makeUser('COORDINATOR');
  const researcher = await makeUser('RESEARCHER');
  const admin = await makeUser('ADMIN');
  const outsider = await makeUser('RESEARCHER');
  const pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: coordinator.id, role: 'COORDINATOR' }, { userId: researcher.id, role: 'RESEARCHER' }] });
  poolId = pool.id;
  secret = pool.secret;
  for (const [k, u] of Object.entries({ owner, coordinator, researcher, admin, outsider })) {
    tokens[k] = (await createApiToken({ userId: u.id, name: 'deid' })).token;
    actors[k] = actorOf(u);
  }
  tokens['owner token scoped to the pool'] = (await createApiToken({ userId: owner.id, name: 'scoped', poolId })).token;
  await db.patientIdentity.create({ data: { poolId, sourcePatientId: mrn, researchId: `RID-MAP-${s}`, researchName: `RNAME^MAP${s}`, dateOffsetDays: -42 } });
  await db.studyIdentity.create({ data: { poolId, sourceStudyUid: `1.2.3.${s.length}.77`, researchStudyUid: '2.25.123456', sourcePatientId: mrn } });
});

const refusers = ['coordinator', 'researcher', 'admin', 'outsider', 'owner token scoped to the pool'];

describe('identity map', () => {
  it('is refused to everyone but the owner, through the API and the page access decision', async () => {
    for (const who of refusers) {
      for (const ep of [api.getIdentityMap, api.exportIdentityMap, api.listLookupTables]) {
        const res = await call(ep, { id: poolId }, { token: tokens[who] });
        expect([403, 404], `${who} ${ep.path}`).toContain(res.status);
        expect(res.text).not.toContain(mrn);
      }
      const up = new FormData();
      up.set('kind', 'identity');
      up.set('file', new File([`MRN,ResearchID\n${mrn}-2,R2\n`], 'ids.csv', { type: 'text/csv' }));
      expect([403, 404], `${who} upload`).toContain((await call(api.uploadLookupTable, { id: poolId }, { token: tokens[who], form: up })).status);
    }
    // The identity page asks the same question (lib/auth/page.ts pagePool(poolId, 'identity')).
    for (const who of ['coordinator', 'researcher', 'admin', 'outsider']) {
      await expect(requirePool(actors[who], poolId, 'identity'), who).rejects.toMatchObject({ code: expect.stringMatching(/FORBIDDEN|NOT_FOUND/) });
    }
    await expect(requirePool(actors.owner, poolId, 'identity')).resolves.toMatchObject({ poolRole: 'OWNER' });
    expect(await db.auditEvent.count({ where: { poolId, action: { in: ['pool.identity-view', 'pool.identity-export'] } } })).toBe(0);
  });

  it('shows and exports the map to the owner, audited without PHI', async () => {
    const view = await call(api.getIdentityMap, { id: poolId }, { token: tokens.owner, query: { q: mrn } });
    expect(view.status).toBe(200);
    const body = view.json as { total: number; patients: { mrn: string; researchId: string; dateOffsetDays: number; studies: { sourceStudyUid: string; researchStudyUid: string }[] }[] };
    expect(body.total).toBe(1);
    expect(body.patients[0]).toMatchObject({ mrn, researchId: `RID-MAP-${s}`, dateOffsetDays: -42 });
    expect(body.patients[0].studies[0].researchStudyUid).toBe('2.25.123456');

    const csv = await call(api.exportIdentityMap, { id: poolId }, { token: tokens.owner, query: { table: 'patients' } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(csv.headers.get('cache-control')).toBe('no-store');
    expect(csv.text).toContain(`${mrn},RID-MAP-${s},RNAME^MAP${s},-42,`);
    const studies = await call(api.exportIdentityMap, { id: poolId }, { token: tokens.owner, query: { table: 'studies' } });
    expect(studies.text).toContain('2.25.123456');

    const events = await db.auditEvent.findMany({ where: { poolId } });
    expect(events.filter((e) => e.action === 'pool.identity-view')).toHaveLength(1);
    expect(events.filter((e) => e.action === 'pool.identity-export').map((e) => (e.detail as { table: string }).table).sort()).toEqual(['patients', 'studies']);
    const everything = JSON.stringify(events);
    expect(everything).not.toContain(mrn);
    expect(everything).not.toContain(`RID-MAP-${s}`);
    expect(everything).not.toContain('MAP' + s);
  });

  it('escapes cells a spreadsheet would run as formulas', async () => {
    await db.patientIdentity.create({ data: { poolId, sourcePatientId: `=HYPERLINK("x")${s}`, researchId: `RID-F-${s}`, researchName: 'F', dateOffsetDays: 3 } });
    const csv = await call(api.exportIdentityMap, { id: poolId }, { token: tokens.owner });
    expect(csv.text).toContain(`"'=HYPERLINK(""x"")${s}"`);
  });
});

describe('lookup tables', () => {
  it('stores an MRN -> ResearchID table, reports bad rows by number, refuses a research ID of another patient', async () => {
    const rows = [
      'MRN,ResearchID,ResearchName',
      `NEW-1-${s},R1-${s},SUBJ^ONE`,
      `NEW-2-${s},,`, // no research ID
      `NEW-3-${s},RID-MAP-${s},`, // held by the patient of the map
      `NEW-4-${s},R1-${s},`, // same research ID as row 2
      `NEW-5-${s},bad\\id,`, // backslash
      `${mrn},R9-${s},`, // already has an identity: kept, reported as a warning
    ];
    const form = new FormData();
    form.set('kind', 'identity');
    form.set('file', new File([rows.join('\n')], 'ids.csv', { type: 'text/csv' }));
    const res = await call(api.uploadLookupTable, { id: poolId }, { token: tokens.owner, form });
    expect(res.status, res.text).toBe(200);
    const out = res.json as { stored: number; invalid: { rowNumber: number; errors: string[] }[]; warnings: string[] };
    expect(out.invalid.map((r) => r.rowNumber)).toEqual([3, 4, 5, 6]);
    expect(out.invalid.find((r) => r.rowNumber === 4)!.errors.join(' ')).toMatch(/already assigned to another patient/);
    expect(out.warnings.join(' ')).toMatch(/already have a research identity/);
    expect(JSON.stringify(out)).not.toContain(`NEW-3-${s}`);
    const stored = await db.lookupEntry.findMany({ where: { poolId, table: { in: ['research-id', 'research-name'] } } });
    expect(stored.map((e) => `${e.table}:${e.key}=${e.value}`).sort()).toEqual(
      [`research-id:NEW-1-${s}=R1-${s}`, `research-id:${mrn}=R9-${s}`, `research-name:NEW-1-${s}=SUBJ^ONE`].sort(),
    );
    // The identity of a new patient now comes from the table; the old patient keeps theirs.
    expect((await resolvePatientIdentity({ poolId, poolSecret: secret, sourcePatientId: `NEW-1-${s}` })).researchId).toBe(`R1-${s}`);
    expect((await resolvePatientIdentity({ poolId, poolSecret: secret, sourcePatientId: mrn })).researchId).toBe(`RID-MAP-${s}`);

    const list = await call(api.listLookupTables, { id: poolId }, { token: tokens.owner });
    expect((list.json as { tables: { table: string; entries: number }[] }).tables.find((t) => t.table === 'research-id')?.entries).toBe(2);
    const audits = await db.auditEvent.findMany({ where: { poolId, action: 'pool.lookups-update' } });
    expect(audits).toHaveLength(1);
    expect(JSON.stringify(audits)).not.toContain('NEW-1');
  });

  it('stores a named table for lookup overrides, refuses a bad name, and deletes it', async () => {
    const bad = new FormData();
    bad.set('kind', 'table');
    bad.set('table', 'no spaces please');
    bad.set('file', new File(['from,to\na,b\n'], 't.csv'));
    const refused = await call(api.uploadLookupTable, { id: poolId }, { token: tokens.owner, form: bad });
    expect(refused.status).toBe(422);
    expect((refused.json as { error: { fields: Record<string, string[]> } }).error.fields.table).toBeDefined();

    const form = new FormData();
    form.set('kind', 'table');
    form.set('table', 'sites');
    form.set('mode', 'replace');
    form.set('file', new File(['Institution,Site\nSt Elsewhere,SITE-A\n,\nGeneral,SITE-B\nGeneral,SITE-C\n'], 'sites.csv', { type: 'text/csv' }));
    const res = await call(api.uploadLookupTable, { id: poolId }, { token: tokens.owner, form });
    expect(res.status, res.text).toBe(200);
    expect((res.json as { invalid: { rowNumber: number }[] }).invalid.map((r) => r.rowNumber)).toEqual([5]);
    expect(await db.lookupEntry.count({ where: { poolId, table: 'sites' } })).toBe(2);
    const del = await call(api.deleteLookupTable, { id: poolId, table: 'sites' }, { token: tokens.owner });
    expect(del.status).toBe(200);
    expect(await db.lookupEntry.count({ where: { poolId, table: 'sites' } })).toBe(0);
    expect((await call(api.deleteLookupTable, { id: poolId, table: 'sites' }, { token: tokens.owner })).status).toBe(404);
  });
});
