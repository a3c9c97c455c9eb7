/**
 * The registry: job name -> processor, one file per job. Each processor parses its payload, calls
 * lib/, and turns a "wait" outcome (schedule window, connector at its association cap) into a
 * delayed job (./shared.ts).
 */
import type { JobName } from '../../lib/jobs/catalogue';
import { exportSend } from './export-send';
import { queryFind } from './query-find';
import { retrievalAnonymize } from './retrieval-anonymize';
import { retrievalMove } from './retrieval-move';
import type { Processor } from './shared';
import { stagingPurge } from './staging-purge';
import { stagingReconcile } from './staging-reconcile';
import { notificationsSweep } from './notifications-sweep';
import { quarantineOcr } from './quarantine-ocr';
import { quarantineOcrSweep } from './quarantine-ocr-sweep';

export type { Processor } from './shared';

export const processors: Record<JobName, Processor> = {
  'query.find': queryFind,
  'retrieval.move': retrievalMove,
  'retrieval.anonymize': retrievalAnonymize,
  'staging.purge': stagingPurge,
  'staging.reconcile': stagingReconcile,
  'notifications.sweep': notificationsSweep,
  'quarantine.ocr': quarantineOcr,
  'quarantine.ocr-sweep': quarantineOcrSweep,
  'export.send': exportSend,
};
