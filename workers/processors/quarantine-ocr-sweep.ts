/** quarantine.ocr-sweep: enqueue OCR of every quarantined instance still waiting for it. */
import { JOBS } from '../../lib/jobs/catalogue';
import { sweepPendingOcr } from '../../lib/ocr/run-ocr';
import type { Processor } from './shared';

export const quarantineOcrSweep: Processor = async (job) => {
  JOBS['quarantine.ocr-sweep'].schema.parse(job.data);
  return sweepPendingOcr();
};
