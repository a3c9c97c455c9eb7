/**
 * The retrieve step of a retrieval, by the connector's kind: C-MOVE for a DICOM connector
 * (run-move.ts), WADO-RS for a DICOMweb one (lib/connectors/dicomweb/run-retrieve.ts).
 */
import { db } from '../db';
import { runWadoRetrieve } from '../connectors/dicomweb/run-retrieve';
import type { StepOutcome } from '../queries/run-find';
import { runMove } from './run-move';

export async function runRetrieve(retrievalId: string, generation: number, opts: { isFinalAttempt?: boolean; attemptsMade?: number } = {}): Promise<StepOutcome> {
  const r = await db.retrieval.findUnique({ where: { id: retrievalId }, select: { connector: { select: { type: true } } } });
  if (r?.connector.type === 'DICOMWEB') return runWadoRetrieve(retrievalId, generation, opts);
  return runMove(retrievalId, generation, opts);
}
