import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createQuery } from '@/lib/queries/queries';

export const POST = route(api.createQuery, async ({ actor, body }) => createQuery(actor, body));
