/**
 * The C-MOVE step of a retrieval: the PACS is asked, as the connector's receiving-pool AE, to
 * send the study to that same AE; Tributary's SCP stages what arrives (lib/retrievals/staging.ts)
 * and counts it. Then the anonymize step is queued.
 *
 * Safe to repeat: the SCP keeps one staged copy per SOP instance and the pool index is keyed by
 * SOP instance, so a retried or resumed move never duplicates an instance.
 */
import { createHash } from 'node:crypto';
import { db } from '../db';
import { move, DicomNetworkError } from '../dicom/scu';
import { inWindow, nextWindowStart } from '../connectors/schedule';
import { jobId } from '../jobs/catalogue';
import { acquireAssociation, tryAcquire, type Lane } from '../jobs/leases';
import { enqueue } from '../jobs/queues';
import { logger } from '../logger';
import type { StepOutcome } from '../queries/run-find';

const log = logger('retrieval.move');

export class MoveFailedError extends Error {}

export async function laneForRetrieval(r: { attempts: number; query: { source: 'SINGLE' | 'SPREADSHEET' } }): Promise<Lane> {
  return r.query.source === 'SINGLE' || r.attempts > 0 ? 'interactive' : 'batch';
}

export async function runMove(retrievalId: string, generation: number, opts: { isFinalAttempt?: boolean } = {}): Promise<StepOutcome> {
  const r = await db.retrieval.findUnique({
    where: { id: retrievalId },
    include: { query: { select: { source: true } }, connector: { include: { device: true, receivingPool: true } } },
  });
  // A newer generation (user retry) supersedes this job; terminal states need nothing.
  if (!r || r.attempts !== generation || ['DONE', 'CANCELLED'].includes(r.state)) return { status: 'done' };
  const { connector } = r;
  if (!connector.device) throw new MoveFailedError('connector has no PACS device');

  if (!inWindow(connector.schedule)) {
    const until = nextWindowStart(connector.schedule);
    await db.retrieval.update({ where: { id: r.id }, data: { state: 'SCHEDULED', scheduledFor: until } });
    return { status: 'wait', until: until.getTime(), reason: 'schedule' };
  }
  const lane = await laneForRetrieval(r);
  const lease = await acquireAssociation(connector.id, connector.maxAssociations, lane);
  if (!lease) return { status: 'wait', until: Date.now() + 500 + Math.floor(Math.random() * 1000), reason: 'capacity' };
  // One move of a given source study through a receiving pool at a time, so instances arriving
  // at the SCP match exactly one retrieval.
  const studyLock = await tryAcquire(
    `study:${connector.receivingPoolId}:${createHash('sha256').update(r.studyInstanceUid).digest('hex').slice(0, 32)}`,
    1,
    30_000,
  );
  if (!studyLock) {
    await lease.release();
    return { status: 'wait', until: Date.now() + 2000, reason: 'capacity' };
  }
  try {
    await db.retrieval.update({
      where: { id: r.id },
      data: { state: 'MOVING', scheduledFor: null, startedAt: r.startedAt ?? new Date(), lastError: null },
    });
    let lastWrite = 0;
    const result = await move(
      { aeTitle: connector.device.aeTitle, host: connector.device.host, port: connector.device.port, tls: connector.device.tls },
      connector.receivingPool.aeTitle,
      connector.receivingPool.aeTitle,
      { studyInstanceUid: r.studyInstanceUid },
      {
        timeoutMs: 30 * 60_000,
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastWrite < 500) return;
          lastWrite = now;
          const total = p.remaining + p.completed + p.failed + p.warnings;
          void db.retrieval.update({ where: { id: r.id }, data: { expected: total } }).catch(() => undefined);
        },
      },
    );
    const total = result.completed + result.failed + result.warnings + result.remaining;
    const staged = await db.stagedInstance.count({ where: { retrievalId: r.id } });
    await db.retrieval.update({
      where: { id: r.id },
      data: { expected: Math.max(total, staged), failed: result.failed, state: 'ANONYMIZING' },
    });
    if (result.status === 'failure' && staged === 0) {
      throw new MoveFailedError(result.errorComment ? `PACS refused the move: ${result.errorComment}` : 'PACS reported the move failed and sent nothing');
    }
    if (result.failed > 0) log.warn('move partial', { retrievalId: r.id, failed: result.failed, completed: result.completed });
    await enqueue('retrieval.anonymize', { retrievalId: r.id, generation }, { jobId: jobId.anonymize(r.id, generation) });
    return { status: 'done' };
  } catch (e) {
    const message = e instanceof Error ? e.message : 'C-MOVE failed';
    log.warn('move failed', { retrievalId: r.id, reason: e instanceof DicomNetworkError ? e.reason : 'error', final: !!opts.isFinalAttempt });
    const staged = await db.stagedInstance.count({ where: { retrievalId: r.id } });
    if (opts.isFinalAttempt && staged > 0) {
      // Keep what arrived: de-identify it and mark the study partial.
      await db.retrieval.update({ where: { id: r.id }, data: { state: 'ANONYMIZING', lastError: message } });
      await enqueue('retrieval.anonymize', { retrievalId: r.id, generation }, { jobId: jobId.anonymize(r.id, generation) });
      return { status: 'done' };
    }
    await db.retrieval.update({
      where: { id: r.id },
      data: opts.isFinalAttempt ? { state: 'FAILED', lastError: message, finishedAt: new Date() } : { state: 'QUEUED', lastError: `${message} (retrying)` },
    });
    if (opts.isFinalAttempt) return { status: 'done' };
    throw e;
  } finally {
    await studyLock.release();
    await lease.release();
  }
}
