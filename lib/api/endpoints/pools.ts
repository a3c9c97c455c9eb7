/**
 * Pool membership managed by the pool's owners (and administrators): add a user by exact e-mail
 * (owners cannot list users), change a member's role. Removal is DELETE /pools/{id}/members/{userId}
 * (lib/api/contract.ts). A pool that has an owner keeps at least one: the last owner cannot be
 * removed or demoted by a non-administrator (409). See docs/browsing.md, "Members".
 */
import { z } from 'zod';
import { poolRoleSchema } from '../../pools/schema';
import { e, type Endpoint } from '../endpoint';

const id = z.string().min(1).max(64);

export const addMemberSchema = z.object({
  email: z.string().trim().toLowerCase().email('Enter the member’s e-mail address').max(200),
  role: poolRoleSchema.default('RESEARCHER'),
});

export const memberRoleSchema = z.object({ role: poolRoleSchema });

export const poolMemberEndpoints = {
  addPoolMember: e({
    method: 'post',
    path: '/pools/{id}/members',
    summary: 'Add a user to the pool by their exact e-mail address, with a pool role (422 when no active account has that e-mail, 409 when already a member)',
    tag: 'pools',
    access: 'pool:own',
    params: z.object({ id }),
    body: addMemberSchema,
    status: 201,
  }),
  updatePoolMember: e({
    method: 'patch',
    path: '/pools/{id}/members/{userId}',
    summary: 'Change a member’s pool role (409 when it would leave the pool without an owner)',
    tag: 'pools',
    access: 'pool:own',
    params: z.object({ id, userId: id }),
    body: memberRoleSchema,
  }),
} satisfies Record<string, Endpoint>;
