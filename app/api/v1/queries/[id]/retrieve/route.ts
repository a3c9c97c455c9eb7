import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { requestRetrieval } from '@/lib/retrievals/request';

export const POST = route(api.retrieveQuery, async ({ actor, params, body }) => requestRetrieval(actor, params.id, body.studyInstanceUids));
