/**
 * Notifications aimed at pool B: a notice to pool B's owner, which none of pool A's members may
 * read or mark read (the list is the caller's own; marking names B's notice by id).
 */
import { db } from '@/lib/db';
import { suffix } from '../../helpers/fixtures';
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => {
  const s = suffix();
  const n = await db.notification.create({ data: { userId: w.ids.ownerB, poolId: w.poolB.id, kind: 'pool.members-update', text: `NOTICE-B-${s}` } });
  return {
    bodies: { markNotificationsRead: { ids: [n.id] } },
    markers: [`NOTICE-B-${s}`, n.id],
    check: async () => {
      const row = await db.notification.findUniqueOrThrow({ where: { id: n.id } });
      if (row.readAt) throw new Error('pool B owner’s notification was marked read by someone else');
    },
  };
};

export default extend;
