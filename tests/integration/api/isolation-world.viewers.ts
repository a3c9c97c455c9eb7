/**
 * Viewer endpoints aimed at pool B: a Weasis launch for B's study. The manifest fetch is public
 * (its random id is the capability) and skipped by the isolation test; its parameter is given so
 * every path parameter has a value. The check: nothing was minted for pool B (no manifest and no
 * viewer token in Redis names it), also when the launch is asked for in pool A with B's study.
 */
import { key, redis } from '@/lib/redis';
import type { WorldExtension } from './isolation-world';

async function redisValuesMentioning(pattern: string, needle: string): Promise<number> {
  let cursor = '0';
  let found = 0;
  do {
    const [next, keys] = await redis().scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    for (const k of keys) {
      const type = await redis().type(k);
      const text = type === 'hash' ? JSON.stringify(await redis().hgetall(k)) : ((await redis().get(k)) ?? '');
      if (text.includes(needle)) found++;
    }
  } while (cursor !== '0');
  return found;
}

const extend: WorldExtension = async (w) => ({
  params: { manifestId: 'AAAAAAAAAAAAAAAAAAAAAAAA' },
  bodies: { createWeasisLaunch: { studyIds: [w.ids.studyB] } },
  // A launch in pool A for B's study: refused, no manifest, no viewer token.
  crossInputs: { createWeasisLaunch: { body: { studyIds: [w.ids.studyB] } } },
  check: async () => {
    const minted =
      (await redisValuesMentioning(key('weasis-manifest', '*'), w.poolB.id)) +
      (await redisValuesMentioning(key('viewer-token', '*'), w.poolB.id)) +
      (await redisValuesMentioning(key('viewer-token', '*'), w.ids.studyUidB));
    if (minted > 0) throw new Error(`a Weasis manifest or viewer token was minted for pool B (${minted})`);
  },
});

export default extend;
