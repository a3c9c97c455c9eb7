import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { retryFailedJob } from '@/lib/jobs/admin';

export const POST = route(api.retryJob, async ({ actor, params }) => {
  const result = await retryFailedJob(params.queue, params.jobId);
  await audit({ userId: actor.userId, action: 'job.retry', targetType: 'job', targetId: `${params.queue}/${params.jobId}` });
  return result;
});
