/** notifications.sweep: notices a crash skipped, and e-mails to retry (lib/notifications/query-settled.ts). */
import { JOBS } from '../../lib/jobs/catalogue';
import { sweepQueryNotices } from '../../lib/notifications/query-settled';
import type { Processor } from './shared';

export const notificationsSweep: Processor = async (job) => {
  JOBS['notifications.sweep'].schema.parse(job.data);
  return sweepQueryNotices();
};
