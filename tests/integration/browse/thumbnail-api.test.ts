/**
 * GET /pools/{id}/series/{seriesId}/thumbnail through the real handler: the PNG of the series'
 * middle instance, cached under <storage root>/thumbs/<poolId>/<seriesId>.png and renewed when
 * the series grows, placeholders for series without images or with a missing file (not cached),
 * and 404 for a series of another pool.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { thumbnailOfFile } from '@/lib/imaging/thumbnail';
import { absolute, storageRoot } from '@/lib/storage';
import { generateCorpus, generateCtStudy } from '@/lib/synthetic';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';
import { craftDicom, decodePng } from '../../unit/imaging/helpers';
import { seedPool } from './seed';

let token: string;
let poolA: string;
let poolB: string;
let ctSeries: string;
let mrSeries: string;
let seriesB: string;

const thumb = (pool: string, series: string) => call(api.getSeriesThumbnail, { id: pool, seriesId: series }, { token });
const cacheFile = (pool: string, series: string) => path.join(storageRoot(), 'thumbs', pool, `${series}.png`);

beforeAll(async () => {
  const user = await makeUser('RESEARCHER');
  poolA = (await makePool({ members: [{ userId: user.id, role: 'RESEARCHER' }] })).id;
  poolB = (await makePool()).id;
  token = (await createApiToken({ userId: user.id, name: 'thumbs' })).token;
  // Five CT slices whose inner disc differs per slice: the middle one (instance 3) is the face.
  const ct = await seedPool(poolA, [...generateCtStudy({ instances: 5, rows: 96, columns: 96, seed: 3 })].map((i) => i.buffer));
  ctSeries = (await db.series.findFirstOrThrow({ where: { studyId: ct.studyIds[0] } })).id;
  const mr = await seedPool(poolA, generateCorpus({ seed: 8, patients: 1, studiesPerPatient: 2, seriesPerStudy: 1, instancesPerSeries: 2 }).instances.filter((i) => i.modality === 'MR').map((i) => i.buffer));
  mrSeries = (await db.series.findFirstOrThrow({ where: { studyId: mr.studyIds[0] } })).id;
  const b = await seedPool(poolB, [...generateCtStudy({ instances: 1, rows: 32, columns: 32, seed: 4 })].map((i) => i.buffer));
  seriesB = (await db.series.findFirstOrThrow({ where: { studyId: b.studyIds[0] } })).id;
});

describe('series thumbnails', () => {
  it('renders the middle instance as a PNG and caches it on disk', async () => {
    const res = await thumb(poolA, ctSeries);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect(res.headers.get('x-thumbnail')).toBe('image');
    const png = Buffer.from(res.text, 'latin1');
    const decoded = decodePng(png);
    expect([decoded.width, decoded.height]).toEqual([128, 128]);
    expect(new Set(decoded.data).size).toBeGreaterThan(2);
    const middle = await db.instance.findFirstOrThrow({ where: { seriesId: ctSeries, instanceNumber: 3 } });
    const direct = await thumbnailOfFile(absolute(middle.path));
    expect(png.equals(direct.png)).toBe(true);
    const first = await db.instance.findFirstOrThrow({ where: { seriesId: ctSeries, instanceNumber: 1 } });
    expect(png.equals((await thumbnailOfFile(absolute(first.path))).png)).toBe(false);
    expect((await fs.readFile(cacheFile(poolA, ctSeries))).equals(png)).toBe(true);
  });

  it('serves the cached file until the series changes', async () => {
    await thumb(poolA, mrSeries);
    const file = cacheFile(poolA, mrSeries);
    // Mark the cache so a re-render is visible.
    const marker = Buffer.concat([await fs.readFile(file), Buffer.from('cached')]);
    await fs.writeFile(file, marker);
    const again = await thumb(poolA, mrSeries);
    expect(Buffer.from(again.text, 'latin1').equals(marker)).toBe(true);
    // An instance arrives later than the cached file: the thumbnail is rendered again.
    await db.instance.updateMany({ where: { seriesId: mrSeries, instanceNumber: 1 }, data: { createdAt: new Date(Date.now() + 60_000) } });
    const fresh = await thumb(poolA, mrSeries);
    expect(Buffer.from(fresh.text, 'latin1').equals(marker)).toBe(false);
    expect(decodePng(Buffer.from(fresh.text, 'latin1')).width).toBe(128);
  });

  it('is 404 for a series of another pool, and nothing is cached for it', async () => {
    const res = await thumb(poolA, seriesB);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    await expect(fs.stat(cacheFile(poolA, seriesB))).rejects.toThrow();
    await expect(fs.stat(cacheFile(poolB, seriesB))).rejects.toThrow();
    expect((await thumb(poolB, seriesB)).status).toBe(404);
    expect((await thumb(poolA, 'no-such-series')).status).toBe(404);
  });

  it('a series without images gets the "no image" placeholder', async () => {
    const buf = craftDicom({ rows: 1, columns: 1 });
    const seeded = await seedPool(poolA, [buf]);
    const series = await db.series.findFirstOrThrow({ where: { studyId: seeded.studyIds[0] } });
    // Non-image objects carry no Rows in the index.
    await db.instance.updateMany({ where: { seriesId: series.id }, data: { rows: null, columns: null } });
    const res = await thumb(poolA, series.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-thumbnail')).toBe('placeholder; reason=no-image');
  });

  it('a missing file gives a placeholder that is not cached', async () => {
    const seeded = await seedPool(poolA, [...generateCtStudy({ instances: 1, rows: 32, columns: 32, seed: 12 })].map((i) => i.buffer));
    const series = await db.series.findFirstOrThrow({ where: { studyId: seeded.studyIds[0] }, include: { instances: true } });
    await fs.rm(absolute(series.instances[0].path));
    const res = await thumb(poolA, series.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-thumbnail')).toMatch(/^placeholder/);
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    await expect(fs.stat(cacheFile(poolA, series.id))).rejects.toThrow();
  });
});
