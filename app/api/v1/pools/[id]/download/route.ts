import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { parseStudyIdsLink, selectionZipName } from '@/lib/exports/download';
import { zipResponse } from '@/lib/exports/response';

export const POST = route(api.downloadStudies, async ({ actor, pool, body }) =>
  zipResponse({ actor, poolId: pool!.pool.id, studyIds: body.studyIds, fileName: (plan) => selectionZipName(pool!.pool.name, plan.studies.length) }),
);

export const GET = route(api.downloadStudiesLink, async ({ actor, pool, query }) =>
  zipResponse({ actor, poolId: pool!.pool.id, studyIds: parseStudyIdsLink(query.studyIds), fileName: (plan) => selectionZipName(pool!.pool.name, plan.studies.length) }),
);
