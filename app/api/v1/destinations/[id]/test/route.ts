import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { testDestination } from '@/lib/exports/destinations';

export const POST = route(api.testDestination, async ({ actor, params }) => testDestination(actor, params.id));
