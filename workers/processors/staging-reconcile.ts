/** staging.reconcile: staging folder vs StagedInstance rows (lib/receive/reconcile-staging.ts). */
import { JOBS } from '../../lib/jobs/catalogue';
import { reconcileStaging } from '../../lib/receive/reconcile-staging';
import type { Processor } from './shared';

export const stagingReconcile: Processor = async (job) => {
  JOBS['staging.reconcile'].schema.parse(job.data);
  return reconcileStaging();
};
