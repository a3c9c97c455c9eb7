import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createDestination, listDestinations } from '@/lib/exports/destinations';

export const GET = route(api.listDestinations, async () => listDestinations());
export const POST = route(api.createDestination, async ({ actor, body }) => createDestination(actor, body));
