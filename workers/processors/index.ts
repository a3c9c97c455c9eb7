/**
 * The registry: job name -> processor, one file per job. Each processor parses its payload, calls
 * lib/, and turns a "wait" outcome (schedule window, connector at its association cap) into a
 * delayed job (./shared.ts).
 */
import type { JobName } from '../../lib/jobs/catalogue';
import { queryFind } from './query-find';
import { retrievalAnonymize } from './retrieval-anonymize';
import { retrievalMove } from './retrieval-move';
import type { Processor } from './shared';
import { stagingPurge } from './staging-purge';
import { stagingReconcile } from './staging-reconcile';

export type { Processor } from './shared';

export const processors: Record<JobName, Processor> = {
  'query.find': queryFind,
  'retrieval.move': retrievalMove,
  'retrieval.anonymize': retrievalAnonymize,
  'staging.purge': stagingPurge,
  'staging.reconcile': stagingReconcile,
};
