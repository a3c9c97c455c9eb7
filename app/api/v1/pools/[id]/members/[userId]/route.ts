import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { removePoolMember } from '@/lib/pools/pools';

export const DELETE = route(api.removePoolMember, async ({ actor, params }) => removePoolMember(actor, params.id, params.userId));
