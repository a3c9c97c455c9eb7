import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { db } from '@/lib/db';
import { redis } from '@/lib/redis';

export const GET = route(api.health, async () => {
  const [pg, rd] = await Promise.all([
    db.$queryRaw`SELECT 1`.then(() => 'ok').catch(() => 'down'),
    redis().ping().then(() => 'ok').catch(() => 'down'),
  ]);
  return { status: pg === 'ok' && rd === 'ok' ? 'ok' : 'degraded', postgres: pg, redis: rd };
});
