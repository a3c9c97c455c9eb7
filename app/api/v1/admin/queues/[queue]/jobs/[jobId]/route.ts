import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { removeJob } from '@/lib/jobs/admin';

export const DELETE = route(api.removeJob, async ({ actor, params }) => {
  const result = await removeJob(params.queue, params.jobId);
  await audit({ userId: actor.userId, action: 'job.remove', targetType: 'job', targetId: `${params.queue}/${params.jobId}` });
  return result;
});
