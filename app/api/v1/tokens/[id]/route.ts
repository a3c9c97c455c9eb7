import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { revokeToken } from '@/lib/users/tokens';

export const DELETE = route(api.revokeToken, async ({ actor, params }) => revokeToken(actor, params.id));
