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

/**
 * `formerOwners`: owners the change removed or demoted; they are told too, so a pool cannot be
 * taken from its owners (and handed to someone else) without them learning of it.
 */
export async function notifyPoolOwners(
  actor: Actor,
  poolId: string,
  kind: 'pool.members-update' | 'pool.rules-update' | 'pool.owner-account-update',
  change: (poolName: string) => string,
  formerOwners: string[] = [],
): Promise<number> {
  try {
    const pool = await db.pool.findUnique({
      where: { id: poolId },
      select: { name: true, members: { where: { role: 'OWNER' }, select: { userId: true } } },
    });
    if (!pool) return 0;
    const to = [...new Set([...pool.members.map((m) => m.userId), ...formerOwners])].filter((id) => id !== actor.userId);
    if (!to.length) return 0;
    const who = actor.role === 'ADMIN' ? `${actor.name} (administrator)` : actor.name;
    const text = `${who} ${change(pool.name)}`;
    return await createNotifications(to.map((userId) => ({ userId, poolId, kind, text })));
  } catch (err) {
    // A failed notice must be visible, but must not undo a completed change (the audit row has it).
    log.error('owner notification failed', { kind, poolId, err });
    return 0;
  }
}
