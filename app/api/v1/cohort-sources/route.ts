import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createCohortSource, listCohortSources } from '@/lib/cohorts/sources';

export const GET = route(api.listCohortSources, async ({ actor }) => listCohortSources(actor));
export const POST = route(api.createCohortSource, async ({ actor, body }) => createCohortSource(actor, body));
