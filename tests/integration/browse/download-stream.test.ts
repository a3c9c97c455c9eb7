/**
 * The study download is streamed: with 300 instances the handler answers before it has read the
 * files, and it reads them as the client pulls. Proof: after the first chunk has arrived, the
 * last file is rewritten on disk (same size, new bytes) — the archive then carries the new
 * bytes, which it could not if it had been built before the response started.
 */
import fs from 'node:fs/promises';
import { beforeAll, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { absolute } from '@/lib/storage';
import { generateCtStudy } from '@/lib/synthetic';
import { fillPath, routeFileFor } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';
import { seedPool } from './seed';
import { unzip } from './unzip';

const N = 300;
let token: string;
let poolId: string;
let studyId: string;

beforeAll(async () => {
  const user = await makeUser('RESEARCHER');
  const pool = await makePool({ members: [{ userId: user.id, role: 'RESEARCHER' }] });
  poolId = pool.id;
  token = (await createApiToken({ userId: user.id, name: 'stream' })).token;
  const seeded = await seedPool(poolId, (function* () {
    for (const i of generateCtStudy({ instances: N, rows: 128, columns: 128, seed: 9 })) yield i.buffer;
  })());
  studyId = seeded.studyIds[0];
}, 120_000);

it(`streams a ${N}-instance study: the response starts before the files are read`, async () => {
  const mod = (await import(routeFileFor(api.downloadStudy.path))) as { GET: (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response> };
  const params = { id: poolId, studyId };
  const t0 = performance.now();
  const res = await mod.GET(new Request(`http://localhost/api/v1${fillPath(api.downloadStudy.path, params)}`, { headers: { authorization: `Bearer ${token}` } }), {
    params: Promise.resolve(params),
  });
  const headersMs = performance.now() - t0;
  expect(res.status).toBe(200);
  const length = Number(res.headers.get('content-length'));
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);

  // The last instance in the archive: rewrite it now, keeping its size.
  const last = await db.instance.findFirstOrThrow({ where: { poolId }, orderBy: { instanceNumber: 'desc' } });
  const original = await fs.readFile(absolute(last.path));
  const changed = Buffer.from(original);
  for (let i = changed.length - 1000; i < changed.length; i++) changed[i] ^= 0xff;
  await fs.writeFile(absolute(last.path), changed);

  const chunks: Buffer[] = [Buffer.from(first.value!)];
  let biggest = first.value!.length;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    biggest = Math.max(biggest, value.length);
  }
  const zip = Buffer.concat(chunks);
  expect(zip.length).toBe(length);
  const { entries } = await unzip(zip);
  expect(entries).toHaveLength(N + 1); // and PROVENANCE.json
  const tail = entries[entries.length - 1];
  expect(tail.name).toMatch(new RegExp(`/${String(last.instanceNumber).padStart(5, '0')}_${last.sopInstanceUid.replace(/\./g, '\\.')}\\.dcm$`));
  expect(tail.data.equals(changed)).toBe(true);
  expect(tail.data.equals(original)).toBe(false);
  // Chunks are read-sized, never a whole archive or a whole series.
  expect(biggest).toBeLessThanOrEqual(256 * 1024);
  console.info(`[download-stream] ${N} instances, ${(length / 1024 / 1024).toFixed(1)} MB: headers after ${headersMs.toFixed(0)} ms`);
}, 120_000);
