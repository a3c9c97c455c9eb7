/** staging.purge: the staging timer (lib/receive/staging.ts purgeAbandonedStaging). */
import { JOBS } from '../../lib/jobs/catalogue';
import { purgeAbandonedStaging } from '../../lib/receive/staging';
import type { Processor } from './shared';

export const stagingPurge: Processor = async (job) => {
  JOBS['staging.purge'].schema.parse(job.data);
  return purgeAbandonedStaging();
};
