import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { changePoolMemberRole, removePoolMember } from '@/lib/pools/pools';

export const PATCH = route(api.updatePoolMember, async ({ actor, params, body }) => changePoolMemberRole(actor, params.id, params.userId, body.role));

export const DELETE = route(api.removePoolMember, async ({ actor, params }) => removePoolMember(actor, params.id, params.userId));
