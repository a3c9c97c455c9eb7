import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { studyZipName } from '@/lib/exports/download';
import { zipResponse } from '@/lib/exports/response';

export const GET = route(api.downloadStudy, async ({ actor, pool, params }) =>
  zipResponse({ actor, poolId: pool!.pool.id, studyIds: [params.studyId], fileName: (plan) => studyZipName(plan.studies[0]) }),
);
