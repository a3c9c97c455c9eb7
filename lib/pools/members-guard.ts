/**
 * Separation of duties for pool membership (docs/deidentification.md, "Who can do what"):
 *
 * - An account whose global role is ADMIN never holds pool role OWNER: an owner reads the
 *   identity map and saves the rules, an administrator manages the system. Refused when a member
 *   is added or changed (here) and when an owner is promoted to ADMIN (lib/users/users.ts); the
 *   access decision (lib/auth/access.ts) refuses 'identity' and 'rules' to an ADMIN account
 *   whatever its membership says, so a row written around these checks grants nothing.
 * - Nobody grants themselves a pool role (joins a pool, or changes their own role) unless they
 *   already own the pool: an administrator cannot add themselves anywhere.
 *
 * Removing a member is never a grant and is not checked here.
 */
import type { Actor } from '../auth/actor';
import type { Tx } from '../db';
import { AppError } from '../errors';

type MemberRole = 'OWNER' | 'COORDINATOR' | 'RESEARCHER';

export interface MemberGrant {
  userId: string;
  role: MemberRole;
}

/**
 * Checks the grants a membership change makes. `current` is the pool's roles before the change
 * (read under the pool's row lock); grants that leave a member's role as it was are not checked.
 */
export async function checkMemberGrants(tx: Tx, actor: Actor, current: ReadonlyMap<string, MemberRole>, grants: MemberGrant[]): Promise<void> {
  const changed = grants.filter((g) => current.get(g.userId) !== g.role);
  if (!changed.length) return;
  const self = changed.find((g) => g.userId === actor.userId);
  if (self && current.get(actor.userId) !== 'OWNER') {
    throw new AppError('FORBIDDEN', 'You cannot give yourself a role in a pool: ask one of its owners', { role: ['you cannot grant yourself a pool role'] });
  }
  const owners = changed.filter((g) => g.role === 'OWNER').map((g) => g.userId);
  if (!owners.length) return;
  const admins = await tx.user.count({ where: { id: { in: owners }, role: 'ADMIN' } });
  if (admins) {
    throw new AppError('VALIDATION', 'An administrator cannot own a pool: the owner reads the identity map, an administrator runs the system. Choose another owner.', {
      role: ['administrators cannot be pool owners'],
    });
  }
}
