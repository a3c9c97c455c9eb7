import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { updateUser } from '@/lib/users/users';

export const PATCH = route(api.updateUser, async ({ actor, params, body }) => updateUser(actor, params.id, body));
