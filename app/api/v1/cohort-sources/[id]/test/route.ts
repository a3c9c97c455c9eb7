import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { testCohortSource } from '@/lib/cohorts/sources';

export const POST = route(api.testCohortSource, async ({ actor, params }) => testCohortSource(actor, params.id));
