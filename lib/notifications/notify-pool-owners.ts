/**
 * Owners are told of every membership or rule change to their pool that they did not make
 * themselves (docs/deidentification.md, "Who can do what"): one notification per other owner.
 * The text names the actor, the pool and the change (roles, versions, identifier keywords),
 * never PHI.
 */
import type { Actor } from '../auth/actor';
import { db } from '../db';
import { logger } from '../logger';
import { createNotifications } from './create';

const log = logger('notifications');

export async function notifyPoolOwners(actor: Actor, poolId: string, kind: 'pool.members-update' | 'pool.rules-update' | 'pool.owner-account-update', change: (poolName: string) => string): Promise<number> {
  try {
    const pool = await db.pool.findUnique({
      where: { id: poolId },
      select: { name: true, members: { where: { role: 'OWNER', userId: { not: actor.userId } }, select: { userId: true } } },
    });
    if (!pool || !pool.members.length) return 0;
    const who = actor.role === 'ADMIN' ? `${actor.name} (administrator)` : actor.name;
    const text = `${who} ${change(pool.name)}`;
    return await createNotifications(pool.members.map((m) => ({ userId: m.userId, poolId, kind, text })));
  } catch (err) {
    // A failed notice must be visible, but must not undo a completed change (the audit row has it).
    log.error('owner notification failed', { kind, poolId, err });
    return 0;
  }
}
