/** Every key and every value under the test's Redis prefix, whatever its type (for scans of job data). */
import { Redis } from 'ioredis';

export async function redisTexts(prefix = process.env.REDIS_PREFIX ?? ''): Promise<string[]> {
  const r = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const out: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        out.push(key);
        const type = await r.type(key);
        if (type === 'string') out.push(String(await r.get(key)));
        else if (type === 'hash') out.push(JSON.stringify(await r.hgetall(key)));
        else if (type === 'list') out.push(JSON.stringify(await r.lrange(key, 0, -1)));
        else if (type === 'set') out.push(JSON.stringify(await r.smembers(key)));
        else if (type === 'zset') out.push(JSON.stringify(await r.zrange(key, 0, -1)));
        else if (type === 'stream') out.push(JSON.stringify(await r.xrange(key, '-', '+')));
      }
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return out;
}
