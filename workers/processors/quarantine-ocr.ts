/** quarantine.ocr: OCR of one quarantined instance (lib/ocr/run-ocr.ts); a re-run replaces its boxes. */
import { JOBS } from '../../lib/jobs/catalogue';
import { runQuarantineOcr } from '../../lib/ocr/run-ocr';
import { isFinalAttempt, type Processor } from './shared';

export const quarantineOcr: Processor = async (job) => {
  const { quarantinedId } = JOBS['quarantine.ocr'].schema.parse(job.data);
  return runQuarantineOcr(quarantinedId, { isFinalAttempt: isFinalAttempt(job) });
};
