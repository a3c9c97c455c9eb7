import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { deleteCohortSource, getCohortSource, updateCohortSource } from '@/lib/cohorts/sources';

export const GET = route(api.getCohortSource, async ({ params }) => getCohortSource(params.id));
export const PATCH = route(api.updateCohortSource, async ({ actor, params, body }) => updateCohortSource(actor, params.id, body));
export const DELETE = route(api.deleteCohortSource, async ({ actor, params }) => deleteCohortSource(actor, params.id));
