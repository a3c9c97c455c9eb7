import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createUser, listUsers } from '@/lib/users/users';

export const GET = route(api.listUsers, async () => listUsers());
export const POST = route(api.createUser, async ({ actor, body }) => createUser(actor, body));
