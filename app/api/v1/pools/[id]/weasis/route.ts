import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createWeasisLaunch, parentTokenId } from '@/lib/viewers/weasis';

export const POST = route(api.createWeasisLaunch, async ({ req, actor, pool, body }) =>
  createWeasisLaunch({ actor, pool: pool!.pool, studyIds: body.studyIds, parentTokenId: await parentTokenId(req, actor), rsLink: body.rsLink }),
);
