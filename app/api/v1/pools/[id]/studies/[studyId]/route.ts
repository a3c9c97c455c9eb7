import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { getStudy } from '@/lib/pools/studies';

export const GET = route(api.getStudy, async ({ actor, params }) => {
  const study = await getStudy(params.id, params.studyId);
  await audit({ userId: actor.userId, action: 'study.view', poolId: params.id, targetType: 'study', targetId: study.id });
  return study;
});
