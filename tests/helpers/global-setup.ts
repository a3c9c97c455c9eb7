/**
 * Vitest global setup: a fresh PostgreSQL database for this run (tributary_test by default),
 * migrated with the project's own migrations; Redis keys under the test prefix removed before
 * and after; the run's storage root removed after.
 */
import fs from 'node:fs/promises';
import { Redis } from 'ioredis';
import { resetTestDatabase } from './database';

async function clearRedis(prefix: string) {
  const r = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

export default async function setup() {
  const prefix = process.env.TEST_REDIS_PREFIX ?? 'tributary-test';
  await resetTestDatabase();
  await clearRedis(prefix);
  return async () => {
    await clearRedis(prefix);
    if (process.env.STORAGE_ROOT?.includes('tributary-test-storage-')) await fs.rm(process.env.STORAGE_ROOT, { recursive: true, force: true });
  };
}
