/** retrieval.anonymize: de-identify a study's staged instances into its pool. */
import { JOBS } from '../../lib/jobs/catalogue';
import { runAnonymize } from '../../lib/retrievals/run-anonymize';
import type { Processor } from './shared';

export const retrievalAnonymize: Processor = async (job) => {
  const { retrievalId, generation } = JOBS['retrieval.anonymize'].schema.parse(job.data);
  await runAnonymize(retrievalId, generation);
};
