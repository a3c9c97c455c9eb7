/**
 * The pool's study list (GET /pools/{id}/studies, used by the pool page): search, modality
 * filter, every sort, pagination that is complete and stable, and only this pool's studies.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { STUDY_SORTS } from '@/lib/pools/schema';
import { STUDY_SEARCH_COUNT_EXACT_UP_TO } from '@/lib/pools/studies';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';

interface Row {
  id: string;
  patientId: string;
  studyDate: string;
  studyDescription: string;
  modalities: string;
  numInstances: number;
}
interface Page {
  rows: Row[];
  total: number;
  totalEstimated: boolean;
}

let token: string;
let poolA: string;
let poolB: string;
let poolC: string;
const N = 57;
/** Pool C: more search matches than STUDY_SEARCH_COUNT_EXACT_UP_TO counts exactly. */
const BIG = STUDY_SEARCH_COUNT_EXACT_UP_TO + 50;

beforeAll(async () => {
  const user = await makeUser('RESEARCHER');
  poolA = (await makePool({ members: [{ userId: user.id, role: 'RESEARCHER' }] })).id;
  poolB = (await makePool()).id;
  poolC = (await makePool({ members: [{ userId: user.id, role: 'RESEARCHER' }] })).id;
  await db.$executeRaw`INSERT INTO "Study" (id, "poolId", "studyInstanceUid", "patientId", "studyDescription", "studyDate", "updatedAt")
    SELECT 'big-' || g, ${poolC}, '2.25.88' || g, 'TRB-B' || g, 'BIG STUDY', to_char(date '2020-01-01' + g, 'YYYYMMDD'), now() FROM generate_series(1, ${BIG}) g`;
  await db.$executeRaw`ANALYZE "Study"`;
  token = (await createApiToken({ userId: user.id, name: 'list' })).token;
  const descriptions = ['CT CHEST', 'MR KNEE 100%', 'CT HEAD_PLAIN', 'OCT RETINA'];
  const modalities = ['CT', 'MR', 'CT\\SR', 'OCT'];
  await db.study.createMany({
    data: Array.from({ length: N }, (_, i) => ({
      poolId: poolA,
      studyInstanceUid: `2.25.77${i}`,
      patientId: `TRB-${String((i * 7) % 20).padStart(3, '0')}`,
      studyDate: `20${10 + (i % 10)}0${1 + (i % 9)}1${i % 10}`,
      studyDescription: descriptions[i % 4],
      modalities: modalities[i % 4],
      numSeries: 1 + (i % 3),
      numInstances: (i * 13) % 50,
    })),
  });
  await db.study.create({ data: { poolId: poolB, studyInstanceUid: '2.25.99', patientId: 'TRB-000', studyDescription: 'CT CHEST' } });
});

const list = async (query: Record<string, string>, pool = poolA) => {
  const res = await call(api.listStudies, { id: pool }, { token, query });
  expect(res.status).toBe(200);
  return res.json as Page;
};

describe('study list', () => {
  it('pages through every study exactly once, for every sort and direction', async () => {
    for (const sort of STUDY_SORTS) {
      for (const dir of ['asc', 'desc']) {
        const seen: Row[] = [];
        for (let page = 1; page <= 3; page++) {
          const p = await list({ sort, dir, page: String(page), pageSize: '25' });
          expect(p.total).toBe(N);
          seen.push(...p.rows);
        }
        expect(new Set(seen.map((r) => r.id)).size, `${sort} ${dir}`).toBe(N);
        const key = (r: Row) => (r as unknown as Record<string, string | number>)[sort];
        for (let i = 1; i < seen.length; i++) {
          const a = key(seen[i - 1]);
          const b = key(seen[i]);
          if (a !== b) expect(dir === 'asc' ? a < b : a > b, `${sort} ${dir} at ${i}`).toBe(true);
        }
      }
    }
  });

  it('searches research ID and description, case-insensitively, with % and _ taken literally', async () => {
    expect((await list({ q: 'trb-007' })).rows.every((r) => r.patientId === 'TRB-007')).toBe(true);
    const knee = await list({ q: 'knee' });
    expect(knee.total).toBe(Math.ceil((N - 1) / 4));
    expect((await list({ q: '100%' })).total).toBe(knee.total);
    expect((await list({ q: '%' })).total).toBe(knee.total);
    expect((await list({ q: '_' })).total).toBe((await list({ q: 'HEAD_PLAIN' })).total);
    expect((await list({ q: 'nothing like this' })).total).toBe(0);
  });

  it('a search under the exact bound (page and count from one pass) pages like the whole list, filtered, for every sort', async () => {
    for (const sort of STUDY_SORTS) {
      for (const dir of ['asc', 'desc']) {
        const all: Row[] = [];
        for (let page = 1; page <= 3; page++) all.push(...(await list({ sort, dir, page: String(page), pageSize: '25' })).rows);
        const expected = all.filter((r) => r.studyDescription.includes('CHEST')).map((r) => r.id);
        const seen: string[] = [];
        for (let page = 1; page <= 3; page++) {
          const p = await list({ q: 'chest', sort, dir, page: String(page), pageSize: '7' });
          expect(p).toMatchObject({ total: expected.length, totalEstimated: false });
          seen.push(...p.rows.map((r) => r.id));
        }
        expect(seen, `${sort} ${dir}`).toEqual(expected.slice(0, 21));
        const past = await list({ q: 'chest', sort, dir, page: '9', pageSize: '7' });
        expect(past).toMatchObject({ rows: [], total: expected.length, totalEstimated: false });
      }
    }
  });

  it('filters by whole modality codes', async () => {
    const ct = await list({ modality: 'CT', pageSize: '200' });
    expect(ct.rows.every((r) => r.modalities.split('\\').includes('CT'))).toBe(true);
    expect(ct.total).toBe(Math.ceil(N / 4) + Math.ceil((N - 2) / 4));
    expect((await list({ modality: 'sr', pageSize: '200' })).total).toBe(Math.ceil((N - 2) / 4));
    expect((await list({ modality: 'OCT' })).total).toBe(Math.ceil((N - 3) / 4));
    expect((await list({ modality: 'T' })).total).toBe(0);
  });

  it('lists only the pool’s own studies', async () => {
    const all = await list({ pageSize: '200' });
    expect(all.rows.map((r) => r.studyDescription)).not.toContain(undefined);
    expect(all.total).toBe(N);
    const b = await call(api.listStudies, { id: poolB }, { token });
    expect(b.status).toBe(404);
  });

  it('past the exact bound says the total is an estimate, and still pages through every match once', async () => {
    const exact = await list({ pageSize: '200' }, poolC);
    expect(exact).toMatchObject({ total: BIG, totalEstimated: false });
    const first = await list({ q: 'big study', pageSize: '200' }, poolC);
    expect(first.totalEstimated).toBe(true);
    expect(first.total).toBeGreaterThan(STUDY_SEARCH_COUNT_EXACT_UP_TO);
    const seen = new Set<string>();
    const dates: string[] = [];
    for (let page = 1; page <= Math.ceil(BIG / 200) + 1; page++) {
      const p = await list({ q: 'big study', sort: 'studyDate', dir: 'asc', page: String(page), pageSize: '200' }, poolC);
      for (const r of p.rows) {
        seen.add(r.id);
        dates.push(r.studyDate);
      }
    }
    expect(seen.size).toBe(BIG);
    expect(dates).toEqual([...dates].sort());
    // Exactly counted pages read from the other end in the second half: same rows as forwards.
    const last = await list({ sort: 'studyDate', dir: 'asc', page: String(Math.ceil(BIG / 200)), pageSize: '200' }, poolC);
    expect(last.rows.map((r) => r.studyDate)).toEqual(dates.slice(200 * (Math.ceil(BIG / 200) - 1)));
  });

  it('refuses unknown sorts and page sizes beyond 200', async () => {
    expect((await call(api.listStudies, { id: poolA }, { token, query: { sort: 'patientName' } })).status).toBe(422);
    expect((await call(api.listStudies, { id: poolA }, { token, query: { pageSize: '500' } })).status).toBe(422);
  });
});
