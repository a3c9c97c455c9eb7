/**
 * The retrieve step of a retrieval, through the connector's source (lib/connectors/source.ts):
 * C-MOVE asks the PACS, as the connector's receiving-pool AE, to send the study to that same AE
 * (Tributary's SCP stages what arrives, lib/receive/staging.ts); C-GET (and WADO-RS) bring the
 * instances back on our own connection into the retrieval's sink (lib/receive/sink.ts), which
 * stages them the same way. Sub-operations are counted alike. While the move runs, what has
 * arrived is already de-identified and indexed (lib/retrievals/pipeline.ts); when it ends, the
 * anonymize step is queued for the rest and the final state.
 *
 * Safe to repeat: staging keeps one copy per SOP instance and the pool index is keyed by SOP
 * instance, so a retried or resumed retrieve never duplicates an instance.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { db, type Prisma, type QuerySource } from '../db';
import { AppError, publicMessage } from '../errors';
import { hex4 } from '../dicom/errors';
import { DicomNetworkError, DicomRetrieveRefusedError } from '../dicom/scu';
import { HttpError } from '../http/client';
import type { RetrieveTarget, SourceConnector } from '../connectors/source';
import { sourceFor, sourceInclude } from '../connectors/sources';
import { retrievalSink, type InstanceSink } from '../receive/sink';
import { inWindow, nextWindowStart } from '../connectors/schedule';
import { jobId } from '../jobs/catalogue';
import { acquireAssociation, tryAcquire, type Lane } from '../jobs/leases';
import { enqueue } from '../jobs/queues';
import { env } from '../env';
import { logger } from '../logger';
import { dropStagedFor } from '../receive/staging';
import { startPipeline, type Pipeline } from './pipeline';
import type { StepOutcome } from '../queries/run-find';

const log = logger('retrieval.move');

/**
 * A move that failed. The message is ours (PHI-free: it goes into the job's failure reason). The
 * PACS's own Error Comment is free text we cannot vouch for (a PACS may quote the study's UID),
 * so it is kept apart: shown to the study's coordinators in Retrieval.lastError, never logged
 * and never put into job state.
 */
export class MoveFailedError extends AppError {
  constructor(
    message: string,
    public readonly pacsComment?: string,
  ) {
    super('DICOM_NETWORK', message);
    this.name = 'MoveFailedError';
  }
}

/**
 * A move whose sub-operations partly failed (the PACS could not send some instances: an archive
 * tier offline, a busy storage node) is retried automatically this many times, with the job's
 * backoff (5 s, 10 s, 20 s), each time asking only for what is still missing. After that what
 * arrived is de-identified and the study ends PARTIAL; the coordinator's Retry remains.
 * Counted with the job's other failed attempts (a PACS outage uses some of them up).
 */
export const SUBOPERATION_RETRIES = 3;

export class SubOperationsFailedError extends MoveFailedError {
  constructor(message: string) {
    super(message);
    this.name = 'SubOperationsFailedError';
  }
}

/** What the coordinator reads on the study: our message, then what the PACS said (one printable line). */
function shownError(e: unknown, method = 'C-MOVE'): string {
  const message = publicMessage(e, `${method} failed`);
  const comment = e instanceof MoveFailedError ? e.pacsComment?.replace(/[^\x20-\x7e]/g, ' ').trim().slice(0, 64) : undefined;
  return comment ? `${message}: ${comment}` : message;
}

/**
 * The PACS cannot send to our receiving AE: it answered "move destination unknown" (0xA801), or
 * a move of a study that has instances with zero sub-operations (what a PACS that does not know
 * the destination, or cannot open an association to it, often does instead). A configuration
 * error, not an outage: no retries; the message says what the PACS administrator must register.
 */
export class MoveDestinationError extends MoveFailedError {}
/** The PACS answered with zero sub-operations because the study is no longer there: retrying cannot help. */
export class StudyGoneError extends MoveFailedError {}
/**
 * The source refuses the retrieve method itself (C-GET not accepted, no storage context, zero
 * sub-operations for a study it holds): a configuration error like MoveDestinationError, shown
 * on the connector and the study, no retries.
 */
export class RetrieveRefusedError extends MoveFailedError {}

const METHOD_NAME = { CMOVE: 'C-MOVE', CGET: 'C-GET', WADORS: 'WADO-RS' } as const;

/** What the administrator must change when the source refuses a same-connection retrieve. */
export function retrieveAdvice(method: 'CMOVE' | 'CGET' | 'WADORS', callingAe: string): string {
  if (method === 'CGET') return `Ask the PACS administrator to allow C-GET (Study Root Query/Retrieve GET) for AE title ${callingAe}, with the study's storage SOP classes, or switch the connector to C-MOVE.`;
  if (method === 'WADORS') return 'Check the DICOMweb connector\'s URL, credentials and TLS settings with Test connection on the Connectors page.';
  return 'Check the connector settings and the capability check.';
}

export const DESTINATION_STATUS_UNKNOWN = 0xa801;

/** `tls`: the PACS is a DICOM TLS device, so it must send to our TLS port (with UseDicomTls or its equivalent). */
export function destinationAdvice(receivingAe: string, tls = false): string {
  const e = env();
  if (tls && e.DICOM_TLS_PORT)
    return `Ask the PACS administrator to register Tributary as a C-MOVE destination: AE title ${receivingAe}, host ${e.DICOM_ADVERTISED_HOST}, port ${e.DICOM_TLS_PORT} over DICOM TLS, with a client certificate from the CA configured on the device.`;
  if (tls) return `The PACS is set to DICOM TLS but Tributary has no TLS port (DICOM_TLS_PORT): it cannot send the study back to Tributary. Set DICOM_TLS_PORT, DICOM_TLS_CERT and DICOM_TLS_KEY.`;
  return `Ask the PACS administrator to register Tributary as a C-MOVE destination: AE title ${receivingAe}, host ${e.DICOM_ADVERTISED_HOST}, port ${e.DICOM_PORT}.`;
}

/**
 * A move that finds its connector at its association cap waits here a moment for a slot before
 * its job is put back (delayed 0.5–1.5 s): a slot a move of this process gives back goes at once
 * to one waiting here (woken by `released`), one given back by another process within
 * SLOT_POLL_MS. Only as many moves as the cap wait per connector; the others are delayed as
 * before, so a busy connector cannot hold the queue's other jobs off for long.
 */
const SLOT_WAIT_MS = 3_000;
const SLOT_POLL_MS = 250;
const released = new EventEmitter();
released.setMaxListeners(0);
const waitingFor = new Map<string, number>();

async function leaseOrWait(connectorId: string, maxAssociations: number, lane: Lane, waiter: string) {
  let lease = await acquireAssociation(connectorId, maxAssociations, lane, { waiter });
  if (lease || (waitingFor.get(connectorId) ?? 0) >= maxAssociations) return lease;
  waitingFor.set(connectorId, (waitingFor.get(connectorId) ?? 0) + 1);
  try {
    const until = Date.now() + SLOT_WAIT_MS;
    while (!lease && Date.now() < until) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          released.off(connectorId, done);
          resolve();
        };
        const t = setTimeout(done, SLOT_POLL_MS);
        released.on(connectorId, done);
      });
      lease = await acquireAssociation(connectorId, maxAssociations, lane, { waiter });
    }
    return lease;
  } finally {
    const n = (waitingFor.get(connectorId) ?? 1) - 1;
    if (n > 0) waitingFor.set(connectorId, n);
    else waitingFor.delete(connectorId);
  }
}

export async function laneForRetrieval(r: { attempts: number; query: { source: QuerySource } }): Promise<Lane> {
  return r.query.source === 'SINGLE' || r.attempts > 0 ? 'interactive' : 'batch';
}

export async function runMove(
  retrievalId: string,
  generation: number,
  opts: {
    isFinalAttempt?: boolean;
    attemptsMade?: number;
    /**
     * When this generation's move was asked for (the job's creation time): instances de-identified
     * since then arrived in this generation, whichever attempt of the job brought them.
     */
    since?: Date;
    /** false: no de-identification during the move (everything waits for the anonymize step). */
    pipeline?: boolean;
  } = {},
): Promise<StepOutcome> {
  // What deciding whether to run needs, in one statement: a move that finds its connector at its
  // cap is put back (often, when many studies are selected at once) before loading the rest.
  const [head] = await db.$queryRaw<{ attempts: number; state: string; studyInstanceUid: string; connectorId: string; maxAssociations: number; schedule: string | null; receivingPoolId: string; querySource: QuerySource }[]>`
    SELECT r."attempts", r."state"::text AS "state", r."studyInstanceUid", c."id" AS "connectorId", c."maxAssociations",
      c."schedule", c."receivingPoolId", q."source"::text AS "querySource"
    FROM "Retrieval" r JOIN "Connector" c ON c."id" = r."connectorId" JOIN "Query" q ON q."id" = r."queryId"
    WHERE r."id" = ${retrievalId}`;
  // A newer generation (user retry) supersedes this job; terminal states need nothing.
  if (!head || head.attempts !== generation || ['DONE', 'CANCELLED'].includes(head.state)) return { status: 'done' };

  if (!inWindow(head.schedule)) {
    const until = nextWindowStart(head.schedule);
    if (!(await advance(retrievalId, generation, { state: 'SCHEDULED', scheduledFor: until }))) return { status: 'done' };
    return { status: 'wait', until: until.getTime(), reason: 'schedule' };
  }
  const lane = await laneForRetrieval({ attempts: head.attempts, query: { source: head.querySource } });
  const lease = await leaseOrWait(head.connectorId, head.maxAssociations, lane, `move-${retrievalId}-${generation}`);
  if (!lease) return { status: 'wait', until: Date.now() + 500 + Math.floor(Math.random() * 1000), reason: 'capacity' };
  const giveBack = async () => {
    await lease.release();
    released.emit(head.connectorId);
  };
  // One move of a given source study through a receiving pool at a time, so instances arriving
  // at the SCP match exactly one retrieval.
  const studyLock = await tryAcquire(
    `study:${head.receivingPoolId}:${createHash('sha256').update(head.studyInstanceUid).digest('hex').slice(0, 32)}`,
    1,
    30_000,
  ).catch(async (e) => {
    await giveBack();
    throw e;
  });
  if (!studyLock) {
    await giveBack();
    return { status: 'wait', until: Date.now() + 2000, reason: 'capacity' };
  }
  let r;
  let source!: SourceConnector;
  try {
    r = await db.retrieval.findUnique({
      where: { id: retrievalId },
      include: { query: { select: { source: true } }, connector: { include: sourceInclude } },
    });
    // (Checked again: a coordinator may have cancelled or retried it while this job waited for a slot.)
    if (!r || r.attempts !== generation || ['DONE', 'CANCELLED'].includes(r.state)) r = null;
    else if (r.connector.type === 'DICOM' && !r.connector.device) throw new MoveFailedError('connector has no PACS device');
    // The connector's kind and retrieve method behind one interface (lib/connectors/source.ts).
    else source = sourceFor(r.connector);
  } catch (e) {
    await studyLock.release();
    await giveBack();
    throw e;
  }
  if (!r) {
    await studyLock.release();
    await giveBack();
    return { status: 'done' };
  }
  const { connector } = r;
  const method = METHOD_NAME[connector.retrieveMethod];
  /** The PACS's name in messages: its AE title (DIMSE) or the source's label. */
  const pacs = connector.device?.aeTitle ?? source.label;
  const abort = new AbortController();
  // A coordinator's Cancel reaches a running move: we poll the state and send C-CANCEL (the
  // pipeline, while it runs, reads the state twice a second anyway and tells us).
  const watch = setInterval(() => {
    if (pipe?.running) return;
    void db.retrieval
      .findUnique({ where: { id: r.id }, select: { state: true } })
      .then((x) => x?.state === 'CANCELLED' && abort.abort())
      .catch(() => undefined);
  }, 2000);
  let pipe: Pipeline | null = null;
  /**
   * Whether (more than zero) instances arrived in this generation: still staged, or already
   * de-identified by the pipeline. Not a count to compare (a re-sent instance may count twice).
   */
  const arrived = async () => {
    const [staged, deidentified] = await Promise.all([
      db.stagedInstance.count({ where: { retrievalId: r.id } }),
      opts.since ? db.retrievalInstance.count({ where: { retrievalId: r.id, createdAt: { gte: opts.since } } }) : Promise.resolve(0),
    ]);
    return staged + Math.max(deidentified, pipe?.processed ?? 0);
  };
  try {
    if (!(await advance(r.id, generation, { state: 'MOVING', scheduledFor: null, startedAt: r.startedAt ?? new Date(), lastError: null }))) return { status: 'done' };
    // De-identify what lands while the move runs (lib/retrievals/pipeline.ts).
    if (opts.pipeline !== false && env().RETRIEVE_PIPELINE) pipe = startPipeline(r.id, generation, { onCancelled: () => abort.abort() });
    // A user retry (new generation), this job's own retry, or a move resumed after a crash (its
    // job restarted with instances already staged or de-identified) asks only for what is
    // missing: nothing held yet means the whole study, without listing it.
    const plan = await planMove(r.id, source, r.studyInstanceUid, true);
    // C-GET, WADO-RS: the instances come back on our connection, into this retrieval's staging.
    const sink: InstanceSink | undefined = source.sameConnection ? await retrievalSink(r.id, { sourceAe: pacs }) : undefined;
    let lastWrite = 0;
    let lastExpected = -1;
    let done = { completed: 0, failed: 0, warnings: 0 };
    let failure: MoveFailedError | null = null;
    const ended: string[] = [];
    for (const target of plan.targets) {
      const result = await source.retrieve(target, {
        retrievalId: r.id,
        sink,
        sopClassUids: plan.sopClassUids,
        timeoutMs: 30 * 60_000,
        signal: abort.signal,
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastWrite < 500) return;
          lastWrite = now;
          const total = plan.alreadyHave + done.completed + done.failed + done.warnings + p.remaining + p.completed + p.failed + p.warnings;
          const expected = Math.max(total, plan.expectedAtPacs ?? 0);
          // (Written when it changes: a move's total is usually the same in every progress report.)
          if (expected === lastExpected) return;
          lastExpected = expected;
          void db.retrieval.update({ where: { id: r.id }, data: { expected } }).catch(() => undefined);
        },
      });
      if (result.status === 'cancelled') {
        await pipe?.stop();
        await dropStagedFor(r.id);
        return { status: 'done' };
      }
      const receivingAe = connector.receivingPool.aeTitle;
      if (connector.retrieveMethod === 'CMOVE' && result.statusCode === DESTINATION_STATUS_UNKNOWN) {
        throw new MoveDestinationError(`The PACS ${pacs} does not know the move destination ${receivingAe} (status 0xA801). ${destinationAdvice(receivingAe, !!connector.device?.tls)}`);
      }
      const nothing = result.completed + result.failed + result.warnings + result.remaining === 0;
      if (nothing && !plan.alreadyHave && !target.seriesInstanceUid && r.expected > 0 && done.completed === 0
        && (await arrived()) === 0) {
        // Zero sub-operations also answer a study the PACS no longer holds (deleted or merged since
        // the C-FIND): ask it at series level before blaming the destination. If that query
        // fails too, the destination message stands (the association itself worked just now).
        const series = await source.findSeries(r.studyInstanceUid).catch(() => null);
        if (series && series.length === 0)
          throw new StudyGoneError(`The PACS ${pacs} no longer has this study (a series-level query finds nothing): it was deleted or merged since the query. Run the query again to see what the PACS holds now.`);
        if (connector.retrieveMethod !== 'CMOVE')
          throw new RetrieveRefusedError(`The PACS ${pacs} answered the ${method} of a study of ${r.expected} instance(s) with zero sub-operations. ${retrieveAdvice(connector.retrieveMethod, receivingAe)}`);
        throw new MoveDestinationError(
          `The PACS ${pacs} answered the move of a study of ${r.expected} instance(s) with zero sub-operations: it cannot send to ${receivingAe}. ${destinationAdvice(receivingAe, !!connector.device?.tls)}`,
        );
      }
      done = { completed: done.completed + result.completed, failed: done.failed + result.failed, warnings: done.warnings + result.warnings };
      ended.push(result.status);
      if (result.status === 'failure' && result.completed === 0)
        failure = new MoveFailedError(`PACS reported the ${method === 'C-MOVE' ? 'move' : method} failed (status ${hex4(result.statusCode ?? 0)}) and sent nothing`, result.comment || undefined);
    }
    // The move has ended: what is still in flight finishes; the rest is the anonymize step's.
    await pipe?.stop();
    // Cancelled while moving (our SCP then refuses what still arrives, which ends the move too).
    if ((await db.retrieval.findUnique({ where: { id: r.id }, select: { state: true } }))?.state === 'CANCELLED') {
      await dropIfCancelled(r.id, generation);
      return { status: 'done' };
    }
    // The PACS delivers to us again: a configuration problem reported earlier is solved.
    if (done.completed > 0) await db.connector.updateMany({ where: { id: connector.id, moveProblem: { not: null } }, data: { moveProblem: null, moveProblemAt: null } });
    const total = plan.alreadyHave + done.completed + done.failed + done.warnings;
    if (failure && (await arrived()) === 0 && plan.targets.length > 0) throw failure;
    // A move that ended with a failure status after sending some instances (Orthanc stops at the
    // first instance it cannot read and reports no counts) is incomplete too: then the study's
    // size from the C-FIND stands, and what we hold is compared with it.
    const endedInFailure = failure !== null || ended.some((st) => st === 'failure');
    // (Instances whose de-identification failed during the move are held, as 'failed' records:
    // asking the PACS for them again would not help; a coordinator's Retry does.)
    const held = await instancesHeld(r.id);
    const expected = Math.max(total, plan.expectedAtPacs ?? 0, held, endedInFailure ? r.expected : 0);
    const missing = Math.max(done.failed, expected - held, 0);
    const deidFailed = await db.retrievalInstance.count({ where: { retrievalId: r.id, outcome: 'failed' } });
    if (missing > 0 && !opts.isFinalAttempt && (opts.attemptsMade ?? 0) < SUBOPERATION_RETRIES) {
      // Keep what arrived (de-identified or still staged) and ask again for the rest after the backoff.
      await db.retrieval.update({ where: { id: r.id }, data: { expected } });
      log.warn('move incomplete, retrying', { retrievalId: r.id, missing, failed: done.failed, completed: done.completed, attempt: (opts.attemptsMade ?? 0) + 1 });
      throw new SubOperationsFailedError(`The PACS could not send ${missing} instance(s)`);
    }
    if (!(await advance(r.id, generation, { expected, failed: missing + deidFailed, state: 'ANONYMIZING' }))) {
      await dropIfCancelled(r.id, generation);
      return { status: 'done' };
    }
    if (missing > 0) log.warn('move partial', { retrievalId: r.id, missing, failed: done.failed, completed: done.completed });
    await enqueue('retrieval.anonymize', { retrievalId: r.id, generation }, { jobId: jobId.anonymize(r.id, generation) });
    return { status: 'done' };
  } catch (e) {
    if (e instanceof StudyGoneError) {
      await advance(r.id, generation, { state: 'FAILED', lastError: e.message, finishedAt: new Date() });
      log.warn('study no longer at the PACS', { retrievalId: r.id });
      return { status: 'done' };
    }
    if (e instanceof MoveDestinationError) {
      const ae = connector.receivingPool.aeTitle;
      await reportDestinationProblem(r.id, generation, connector.id, e.message, `The PACS ${pacs} cannot send studies to ${ae}. ${destinationAdvice(ae, !!connector.device?.tls)}`);
      return { status: 'done' };
    }
    if (e instanceof HttpError && !e.transient && !abort.signal.aborted) {
      // DICOMweb: wrong credentials, a certificate we do not trust, an HTML page where DICOM was
      // expected: configuration, not an outage. Fails at once, shown on the connector too.
      const message = `${e.message}. ${retrieveAdvice('WADORS', connector.receivingPool.aeTitle)}`;
      await reportDestinationProblem(r.id, generation, connector.id, message, message);
      return { status: 'done' };
    }
    if (e instanceof RetrieveRefusedError || e instanceof DicomRetrieveRefusedError) {
      // The PACS refuses the method (C-GET not allowed, no storage context): configuration, not an outage.
      const advice = retrieveAdvice(connector.retrieveMethod, connector.receivingPool.aeTitle);
      const message = e instanceof DicomRetrieveRefusedError ? `${e.message}. ${advice}` : e.message;
      await reportDestinationProblem(r.id, generation, connector.id, message, e instanceof DicomRetrieveRefusedError ? message : `The PACS ${pacs} refuses ${method}. ${advice}`);
      return { status: 'done' };
    }
    // Stored on the study for its coordinators; the job's failure reason and the log get no more
    // than our message and the error's class (workers/index.ts, lib/jobs/failure.ts).
    const message = shownError(e, method);
    log.warn('move failed', { retrievalId: r.id, reason: e instanceof DicomNetworkError ? e.reason : 'error', err: e, final: !!opts.isFinalAttempt });
    await pipe?.stop();
    const staged = await arrived();
    if (opts.isFinalAttempt && staged > 0) {
      // Keep what arrived: de-identify the rest and mark the study partial.
      if (!(await advance(r.id, generation, { state: 'ANONYMIZING', lastError: message }))) {
        await dropIfCancelled(r.id, generation);
        return { status: 'done' };
      }
      await enqueue('retrieval.anonymize', { retrievalId: r.id, generation }, { jobId: jobId.anonymize(r.id, generation) });
      return { status: 'done' };
    }
    const current = await advance(
      r.id,
      generation,
      opts.isFinalAttempt ? { state: 'FAILED', lastError: message, finishedAt: new Date() } : { state: 'QUEUED', lastError: `${message} (retrying)` },
    );
    if (!current) {
      // Cancelled meanwhile: nothing to retry, nothing to keep.
      await dropIfCancelled(r.id, generation);
      return { status: 'done' };
    }
    if (opts.isFinalAttempt) return { status: 'done' };
    throw e;
  } finally {
    clearInterval(watch);
    await pipe?.stop();
    await studyLock.release();
    await lease.release();
    released.emit(connector.id);
  }
}

/**
 * A configuration error fails the study at once (no hour of retries) with what to register, and
 * is shown on the connector; said once: the connector's message and the log line only when new.
 */
async function reportDestinationProblem(id: string, generation: number, connectorId: string, message: string, forConnector: string) {
  await advance(id, generation, { state: 'FAILED', lastError: message, finishedAt: new Date() });
  const changed = await db.connector.updateMany({
    where: { id: connectorId, OR: [{ moveProblem: null }, { moveProblem: { not: forConnector } }] },
    data: { moveProblem: forConnector, moveProblemAt: new Date() },
  });
  if (changed.count) log.warn('PACS cannot send to our receiving AE', { connectorId });
}

/**
 * Moves the retrieval to its next state unless a coordinator cancelled it (or retried it: a new
 * generation) meanwhile. False when it did not: the caller stops.
 */
async function advance(id: string, generation: number, data: Prisma.RetrievalUpdateManyMutationInput): Promise<boolean> {
  const n = await db.retrieval.updateMany({ where: { id, attempts: generation, state: { not: 'CANCELLED' } }, data });
  return n.count > 0;
}

/** A cancelled retrieval keeps nothing staged (unless a newer generation owns it now). */
async function dropIfCancelled(id: string, generation: number) {
  const x = await db.retrieval.findUnique({ where: { id }, select: { state: true, attempts: true } });
  if (x?.state === 'CANCELLED' && x.attempts === generation) await dropStagedFor(id);
}

/** Distinct SOP instances of this retrieval we hold: de-identified or quarantined, or staged. */
async function instancesHeld(retrievalId: string): Promise<number> {
  const [row] = await db.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM (
      SELECT "sourceSopUid" AS uid FROM "RetrievalInstance" WHERE "retrievalId" = ${retrievalId}
      UNION SELECT "sopInstanceUid" FROM "StagedInstance" WHERE "retrievalId" = ${retrievalId}) AS held`;
  return Number(row?.n ?? 0);
}

export interface MovePlan {
  targets: RetrieveTarget[];
  /** Instances of this study already in the pool (or quarantined) from earlier attempts. */
  alreadyHave: number;
  /** Instances the PACS lists for the study, when we asked (retries). */
  expectedAtPacs?: number;
  /** The SOP classes of what is missing, when listed (a C-GET proposes exactly these). */
  sopClassUids?: string[];
}

/**
 * What to ask the PACS for. First attempt: the whole study. A retry (the coordinator's, or the
 * job's own after failed sub-operations or an outage) when something already arrived: list the
 * study's instances at the PACS (series then image level, through the source, as the query AE)
 * and ask only for what is missing — whole series where none of it arrived, else the missing
 * instances of that series. When the PACS cannot list them, the whole study again.
 */
export async function planMove(retrievalId: string, source: SourceConnector, studyUid: string, onlyMissing: boolean): Promise<MovePlan> {
  if (!onlyMissing) return { targets: [{ studyInstanceUid: studyUid }], alreadyHave: 0 };
  // What we have: de-identified (or quarantined) from earlier attempts, and staged, waiting.
  const [have, staged] = await Promise.all([
    db.retrievalInstance.findMany({ where: { retrievalId }, select: { sourceSopUid: true } }),
    db.stagedInstance.findMany({ where: { retrievalId }, select: { sopInstanceUid: true } }),
  ]);
  const got = new Set([...have.map((h) => h.sourceSopUid), ...staged.map((s) => s.sopInstanceUid)]);
  if (got.size === 0) return { targets: [{ studyInstanceUid: studyUid }], alreadyHave: 0 };
  const targets: RetrieveTarget[] = [];
  const classes = new Set<string>();
  let atPacs = 0;
  const whole = { targets: [{ studyInstanceUid: studyUid }], alreadyHave: 0 };
  // A PACS that answers the listing with a failure status (Orthanc does when it cannot read a
  // file it needs for the answer) gets the whole study asked again: what we already hold is
  // dropped as a duplicate on arrival. Network errors still fail the attempt (backoff).
  const listing = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof DicomNetworkError && e.reason === 'status') return null;
      // A DICOMweb server that answers the listing with an error status: the whole study again.
      if (e instanceof HttpError && !e.transient && (e.kind === 'status' || e.kind === 'not-found')) return null;
      throw e;
    }
  };
  const allSeries = await listing(() => source.findSeries(studyUid));
  if (!allSeries) return whole;
  for (const series of allSeries) {
    const instances = await listing(() => source.findInstances(studyUid, series.seriesInstanceUid));
    if (!instances) return whole;
    atPacs += instances.length;
    const missingInstances = instances.filter((i) => !got.has(i.sopInstanceUid));
    const missing = missingInstances.map((i) => i.sopInstanceUid);
    if (!missing.length) continue;
    for (const i of missingInstances) if (i.sopClassUid) classes.add(i.sopClassUid);
    if (missing.length === instances.length) targets.push({ studyInstanceUid: studyUid, seriesInstanceUid: series.seriesInstanceUid });
    else for (let i = 0; i < missing.length; i += 200) targets.push({ studyInstanceUid: studyUid, seriesInstanceUid: series.seriesInstanceUid, sopInstanceUids: missing.slice(i, i + 200) });
  }
  return { targets, alreadyHave: got.size, expectedAtPacs: atPacs, sopClassUids: classes.size ? [...classes] : undefined };
}
