/**
 * Project close-out aimed at pool B: pool A's members (its owner included) send pool B's exact
 * name to B's purge endpoint and must be refused; pool B must stay open, its data in place.
 * (Provenance of B's study is reached through the shared {studyId} sample.)
 */
import { db } from '@/lib/db';
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => ({
  bodies: { purgePool: { confirm: w.poolB.name } },
  check: async () => {
    const pool = await db.pool.findUniqueOrThrow({ where: { id: w.poolB.id }, select: { closedAt: true, purgedAt: true } });
    if (pool.closedAt || pool.purgedAt) throw new Error('pool B was closed by a purge from someone else');
    if (await db.poolPurge.count({ where: { poolId: w.poolB.id } })) throw new Error('a purge of pool B was started by someone else');
  },
});

export default extend;
