/** retrieval.anonymize: de-identify a study's staged instances into its pool. */
import { autoExportRetrieval } from '../../lib/exports/auto';
import { JOBS } from '../../lib/jobs/catalogue';
import { noteRetrievalSettled } from '../../lib/notifications/query-settled';
import { runAnonymize } from '../../lib/retrievals/run-anonymize';
import type { Processor } from './shared';

export const retrievalAnonymize: Processor = async (job) => {
  const { retrievalId, generation } = JOBS['retrieval.anonymize'].schema.parse(job.data);
  await runAnonymize(retrievalId, generation);
  // Also when the job ran again after a crash and found the study already settled.
  await noteRetrievalSettled(retrievalId);
  // A study that settled DONE goes to the pool's auto-export exporters (once per study, exporter
  // and rule version, also when this job ran again after a crash).
  await autoExportRetrieval(retrievalId);
};
