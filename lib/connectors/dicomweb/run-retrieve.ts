/**
 * The retrieve step of a retrieval through a DICOMweb connector: WADO-RS into staging, then the
 * anonymize step, exactly as the C-MOVE step does (lib/retrievals/run-move.ts) with the same
 * states, leases (one per concurrent request: the connector's throttle), schedule window,
 * cancel, automatic partial retries asking only for what is missing (listed with QIDO-RS) and
 * the same messages on the study.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { db } from '../../db';
import { publicMessage } from '../../errors';
import { HttpError } from '../../http/client';
import { jobId } from '../../jobs/catalogue';
import { acquireAssociation, tryAcquire } from '../../jobs/leases';
import { enqueue } from '../../jobs/queues';
import { logger } from '../../logger';
import { stageFetched, dropStagedFor } from '../../retrievals/staging';
import { SUBOPERATION_RETRIES, SubOperationsFailedError, advance, dropIfCancelled, instancesHeld, laneForRetrieval, planRetrieve, type MovePlan } from '../../retrievals/run-move';
import type { StepOutcome } from '../../queries/run-find';
import { stagingDir } from '../../storage';
import { inWindow, nextWindowStart } from '../schedule';
import { dicomwebSource, type DicomwebSource } from './peer';
import { qidoInstances, qidoSeries } from './qido';
import { wadoRetrieve } from './wado';

const log = logger('retrieval.wado');

export function planWado(retrievalId: string, src: DicomwebSource, studyUid: string, onlyMissing: boolean): Promise<MovePlan> {
  return planRetrieve(retrievalId, studyUid, onlyMissing, {
    series: (s) => qidoSeries(src, s),
    instances: (s, se) => qidoInstances(src, s, se),
    refused: (e) => e instanceof HttpError && !e.transient && (e.kind === 'status' || e.kind === 'not-found' || e.kind === 'protocol'),
  });
}

export async function runWadoRetrieve(retrievalId: string, generation: number, opts: { isFinalAttempt?: boolean; attemptsMade?: number } = {}): Promise<StepOutcome> {
  const r = await db.retrieval.findUnique({ where: { id: retrievalId }, include: { query: { select: { source: true } }, connector: true } });
  if (!r || r.attempts !== generation || ['DONE', 'CANCELLED'].includes(r.state)) return { status: 'done' };
  const { connector } = r;
  if (!inWindow(connector.schedule)) {
    const until = nextWindowStart(connector.schedule);
    if (!(await advance(r.id, generation, { state: 'SCHEDULED', scheduledFor: until }))) return { status: 'done' };
    return { status: 'wait', until: until.getTime(), reason: 'schedule' };
  }
  const lane = await laneForRetrieval(r);
  const lease = await acquireAssociation(connector.id, connector.maxAssociations, lane, { waiter: `move-${r.id}-${generation}` });
  if (!lease) return { status: 'wait', until: Date.now() + 500 + Math.floor(Math.random() * 1000), reason: 'capacity' };
  const poolId = connector.receivingPoolId;
  const studyLock = await tryAcquire(`study:${poolId}:${createHash('sha256').update(r.studyInstanceUid).digest('hex').slice(0, 32)}`, 1, 30_000);
  if (!studyLock) {
    await lease.release();
    return { status: 'wait', until: Date.now() + 2000, reason: 'capacity' };
  }
  const abort = new AbortController();
  const watch = setInterval(() => {
    void db.retrieval
      .findUnique({ where: { id: r.id }, select: { state: true } })
      .then((x) => x?.state === 'CANCELLED' && abort.abort())
      .catch(() => undefined);
  }, 1000);
  // Parts are written here, then moved into the study's staging folder once complete (the
  // staging reconciliation removes a dead process's leftovers: .part files of unknown owner).
  const tmp = path.join(stagingDir(poolId), '.incoming', `wado-${randomBytes(6).toString('hex')}`);
  try {
    if (!(await advance(r.id, generation, { state: 'MOVING', scheduledFor: null, startedAt: r.startedAt ?? new Date(), lastError: null }))) return { status: 'done' };
    const src = dicomwebSource(connector);
    await fs.mkdir(tmp, { recursive: true });
    const plan = await planWado(r.id, src, r.studyInstanceUid, r.attempts > 0 || (opts.attemptsMade ?? 0) > 0);
    if (plan.expectedAtPacs !== undefined) await db.retrieval.update({ where: { id: r.id }, data: { expected: Math.max(r.expected, plan.expectedAtPacs) } });
    let fetched = 0;
    for (const target of plan.targets) {
      fetched += await wadoRetrieve(src, target, tmp, {
        signal: abort.signal,
        onInstance: (i) =>
          stageFetched({
            retrievalId: r.id,
            poolId,
            tempPath: i.path,
            size: i.size,
            source: 'DICOMWEB',
            sopClassUid: i.sopClassUid,
            sopInstanceUid: i.sopInstanceUid,
            studyInstanceUid: i.studyInstanceUid,
            transferSyntaxUid: i.transferSyntaxUid,
          }),
      });
    }
    if ((await db.retrieval.findUnique({ where: { id: r.id }, select: { state: true } }))?.state === 'CANCELLED') {
      await dropIfCancelled(r.id, generation);
      return { status: 'done' };
    }
    const held = await instancesHeld(r.id);
    const expected = Math.max(plan.expectedAtPacs ?? 0, r.expected, held);
    const missing = Math.max(expected - held, 0);
    if (missing > 0 && !opts.isFinalAttempt && (opts.attemptsMade ?? 0) < SUBOPERATION_RETRIES) {
      await db.retrieval.update({ where: { id: r.id }, data: { expected } });
      log.warn('wado incomplete, retrying', { retrievalId: r.id, missing, fetched });
      throw new SubOperationsFailedError(`The DICOMweb server sent ${missing} instance(s) fewer than it lists`);
    }
    if (!(await advance(r.id, generation, { expected, failed: missing, state: 'ANONYMIZING' }))) {
      await dropIfCancelled(r.id, generation);
      return { status: 'done' };
    }
    await enqueue('retrieval.anonymize', { retrievalId: r.id, generation }, { jobId: jobId.anonymize(r.id, generation) });
    return { status: 'done' };
  } catch (e) {
    if (abort.signal.aborted) {
      await dropStagedFor(r.id);
      return { status: 'done' };
    }
    const message = publicMessage(e, 'WADO-RS retrieve failed');
    // Wrong credentials, a certificate we do not trust, an HTML page: retrying will not help.
    const definite = e instanceof HttpError && !e.transient;
    const final = opts.isFinalAttempt || definite;
    log.warn('wado failed', { retrievalId: r.id, reason: e instanceof HttpError ? e.kind : 'error', err: e, final });
    const staged = await db.stagedInstance.count({ where: { retrievalId: r.id } });
    if (final && staged > 0) {
      if (!(await advance(r.id, generation, { state: 'ANONYMIZING', lastError: message }))) {
        await dropIfCancelled(r.id, generation);
        return { status: 'done' };
      }
      await enqueue('retrieval.anonymize', { retrievalId: r.id, generation }, { jobId: jobId.anonymize(r.id, generation) });
      return { status: 'done' };
    }
    const current = await advance(r.id, generation, final ? { state: 'FAILED', lastError: message, finishedAt: new Date() } : { state: 'QUEUED', lastError: `${message} (retrying)` });
    if (!current) {
      await dropIfCancelled(r.id, generation);
      return { status: 'done' };
    }
    if (final) return { status: 'done' };
    throw e;
  } finally {
    clearInterval(watch);
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    await studyLock.release();
    await lease.release();
  }
}
