/**
 * The find step of a query (C-FIND for a DICOM connector, as its query-pool AE), through the
 * connector's source (lib/connectors/source.ts). A query gets one find job per
 * association its lane may use; each job claims chunks of rows and asks them on one
 * association, kept from chunk to chunk while no interactive query waits for the connector,
 * until none are left. Idempotent: rows already answered are never asked again and results are
 * unique per (query, study).
 */
import { db, type Prisma, type QuerySource } from '../db';
import { audit } from '../audit';
import { publicMessage } from '../errors';
import { DicomNetworkError, DicomQueryError, type StudyMatch } from '../dicom/scu';
import { findSessionOf, type FindSession, type SourceConnector } from '../connectors/source';
import { sourceFor, sourceInclude } from '../connectors/sources';
import { acquireAssociation, interactiveWaiting, laneLimit, type Lane, type Lease } from '../jobs/leases';
import { inWindow, nextWindowStart } from '../connectors/schedule';
import { logger } from '../logger';
import { HttpError } from '../http/client';

const log = logger('query.find');

export type StepOutcome = { status: 'done' } | { status: 'wait'; until: number; reason: 'schedule' | 'capacity' };

export function laneForQuery(source: QuerySource): Lane {
  return source === 'SINGLE' ? 'interactive' : 'batch';
}

/**
 * Rows per round: claimed, asked and written together. Between rounds a batch job checks for
 * a cancel and for interactive work waiting for the connector (which then gets the slot).
 */
export const FIND_CHUNK = 100;

/**
 * How many find jobs a query gets: one per association the lane may use, never more than it has
 * chunks. Each job claims chunks until none are left, so the slots stay busy without jobs
 * waiting for each other's leases.
 */
export function findSlots(validRows: number, maxAssociations: number, source: QuerySource): number {
  return Math.max(1, Math.min(Math.ceil(validRows / FIND_CHUNK), laneLimit(maxAssociations, laneForQuery(source))));
}

interface ClaimedRow {
  id: string;
  patientId: string;
  accessionNumber: string | null;
  modality: string | null;
  studyDateFrom: string | null;
  studyDateTo: string | null;
  studyDescription: string | null;
  studyInstanceUid: string | null;
}

/**
 * Whether a row's error means "the PACS could not answer now" (the row waits and is asked again
 * with backoff) rather than "the PACS answered no" (the row fails). Network trouble of any kind
 * (refused, reset, timed out, aborted, association rejected) is transient, and so is the
 * "Refused: out of resources" status family 0xA7xx, which a PACS sends when it is overloaded.
 * Any other failure status for the row's identifier, and an invalid row, are definite.
 */
export function isTransientFindError(e: unknown): boolean {
  if (e instanceof DicomQueryError) return false;
  // DICOMweb: refused, reset, timed out, 429 and 5xx wait; 401/403/404, HTML, bad TLS fail.
  if (e instanceof HttpError) return e.transient;
  if (!(e instanceof DicomNetworkError)) return false;
  if (e.reason !== 'status') return true;
  return e.dimseStatus !== undefined && (e.dimseStatus & 0xff00) === 0xa700;
}

/**
 * Takes the next chunk of waiting rows for this job (and any it held before a crash), leaving
 * out the rows of the chunk whose results are still being written (`busy`).
 */
async function claimChunk(queryId: string, claim: string, busy: string[]): Promise<ClaimedRow[]> {
  return db.$queryRaw<ClaimedRow[]>`
    UPDATE "QueryItem" SET "status" = 'RUNNING', "claimedBy" = ${claim}
    WHERE "id" IN (
      SELECT "id" FROM "QueryItem"
      WHERE "queryId" = ${queryId} AND ("status" = 'PENDING' OR ("status" = 'RUNNING' AND "claimedBy" = ${claim}))
        AND NOT ("id" = ANY(${busy}::text[]))
      ORDER BY "rowNumber" LIMIT ${FIND_CHUNK}
      FOR UPDATE SKIP LOCKED)
    RETURNING "id", "patientId", "accessionNumber", "modality", "studyDateFrom", "studyDateTo", "studyDescription", "studyInstanceUid"`;
}

/**
 * One find job of a query: takes an association lease, then claims chunks of waiting rows and
 * asks the PACS for them over one association, until no row is left. The lease and its
 * association are kept from chunk to chunk; a batch job gives both back after a chunk when an
 * interactive query waits for the connector (lib/jobs/leases.ts `interactiveWaiting`) and goes
 * on once a slot is free again. `claim` is the job's
 * id: a job retried after a crash picks up the rows it had claimed.
 */
export async function runFind(queryId: string, claim: string, opts: { isFinalAttempt?: boolean } = {}): Promise<StepOutcome> {
  // The query and whether any row waits for this job, in one round trip's time.
  const [q, waiting] = await Promise.all([
    db.query.findUnique({ where: { id: queryId }, include: { connector: { include: sourceInclude } } }),
    db.queryItem.count({ where: { queryId, OR: [{ status: 'PENDING' }, { status: 'RUNNING', claimedBy: claim }] } }),
  ]);
  if (!q || q.status === 'CANCELLED') return { status: 'done' };
  const { connector } = q;
  // The connector's kind (DIMSE, DICOMweb...) behind one interface (lib/connectors/source.ts).
  const source = sourceFor(connector);
  const lane = laneForQuery(q.source);
  // Every association to the PACS respects the connector's schedule window, a single MRN too:
  // the PACS tolerates associations only then.
  if (!inWindow(connector.schedule)) {
    return { status: 'wait', until: nextWindowStart(connector.schedule).getTime(), reason: 'schedule' };
  }
  if (!waiting) {
    await finishQueryIfComplete(queryId);
    return { status: 'done' };
  }
  const acquire = () => acquireAssociation(connector.id, connector.maxAssociations, lane, { waiter: claim });
  const capacityWait = (): StepOutcome => ({ status: 'wait', until: Date.now() + 200 + Math.floor(Math.random() * 300), reason: 'capacity' });
  let lease: Lease | null = await acquire();
  if (!lease) return capacityWait();
  // The association under the lease: opened at the first chunk, closed before the lease is
  // given back (never more associations than leases).
  const session: FindSession = findSessionOf(source);
  const giveBack = async () => {
    const l = lease;
    lease = null;
    await session.close();
    await l?.release();
  };
  // A batch keeps its slot while nobody waits for one; an interactive query waiting gets it
  // after the chunk being asked (as when a batch gave its slot back after every chunk).
  const keepSlot = async (): Promise<Lease | null> => {
    if (!lease) return acquire();
    if (lane === 'batch' && (await interactiveWaiting(connector.id))) {
      await giveBack();
      return null;
    }
    return lease;
  };
  // The previous chunk's results are written while the PACS answers the next chunk: the
  // association never waits for PostgreSQL. A crash in between leaves both chunks claimed
  // (RUNNING) by this job; the retry asks them again and results are unique per (query, study).
  let writing: { ids: string[]; done: Promise<void> } | null = null;
  const settleWrite = async () => {
    const w = writing;
    writing = null;
    if (w) await w.done;
  };
  // The next chunk is claimed while the PACS answers this one, so the association's next
  // round starts without waiting for PostgreSQL. Rows claimed ahead stay RUNNING under this
  // job's claim whatever happens next (capacity wait, error, crash): its next run, or its
  // retry, claims them first; a cancel marks them CANCELLED like any waiting row.
  let ahead: Promise<ClaimedRow[]> | null = null;
  const dropAhead = async () => {
    const a = ahead;
    ahead = null;
    if (a) await a.catch(() => undefined);
  };
  try {
    // The first chunk is claimed while the query turns RUNNING; its status was read just above,
    // so the first round needs no cancel check.
    ahead = claimChunk(queryId, claim, []);
    ahead.catch(() => undefined);
    // ... and the association opens meanwhile (under the lease just taken).
    session.prepare();
    await db.query.updateMany({ where: { id: q.id, status: 'PENDING' }, data: { status: 'RUNNING' } });
    let first = true;
    for (;;) {
      // The slot (a batch gives its slot back between chunks when a coordinator's single query
      // waits for one, even with a cap of one, and this job goes on when a slot is free again)
      // and the cancel check, in parallel.
      const held: Lease | null = lease;
      const [got, fresh]: [Lease | null, { status: string } | null] = first
        ? [held, { status: q.status }]
        : await Promise.all([keepSlot(), db.query.findUnique({ where: { id: queryId }, select: { status: true } })]);
      first = false;
      lease = got;
      if (!lease || fresh?.status === 'CANCELLED') {
        await Promise.all([settleWrite(), dropAhead()]);
        return fresh?.status === 'CANCELLED' ? { status: 'done' } : capacityWait();
      }
      const next = ahead;
      ahead = null;
      const items: ClaimedRow[] = next ? await next : await claimChunk(queryId, claim, writing?.ids ?? []);
      if (!items.length) break;
      const asked = session.findStudies(
        items.map((it) => ({
          patientId: it.patientId,
          accessionNumber: it.accessionNumber ?? undefined,
          modality: it.modality ?? undefined,
          studyDateFrom: it.studyDateFrom ?? undefined,
          studyDateTo: it.studyDateTo ?? undefined,
          studyDescription: it.studyDescription ?? undefined,
          studyInstanceUid: it.studyInstanceUid ?? undefined,
        })),
      );
      ahead = claimChunk(queryId, claim, [...items.map((it) => it.id), ...(writing?.ids ?? [])]);
      ahead.catch(() => undefined); // awaited below or by dropAhead; never an unhandled rejection
      // Both settled before either is looked at: a failed write is never hidden by the answers,
      // and nothing is still writing when an error below ends the job.
      const [asking, wrote] = await Promise.allSettled([asked, settleWrite()]);
      if (wrote.status === 'rejected') throw wrote.reason;
      if (asking.status === 'rejected') throw asking.reason;
      const answers = asking.value;
      // A series-level C-FIND for missing counts (withCounts) opens an association of its own:
      // the kept one is closed first, so the lease still covers one association.
      if (answers.some((a) => !(a instanceof Error) && needsCounts(a, connector.capabilities))) await session.close();
      const done: { id: string; count: number }[] = [];
      const failed: { id: string; error: string }[] = [];
      const results: ResultRow[] = [];
      // The first transient error of the chunk: its unanswered rows stay claimed by this job
      // (RUNNING) and are asked again when the job retries with backoff. Nothing is lost.
      let transient: Error | undefined;
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        const a = answers[i];
        if (a instanceof Error) {
          if (isTransientFindError(a)) transient ??= a;
          else failed.push({ id: it.id, error: publicMessage(a, 'C-FIND failed') });
          continue;
        }
        let counted: StudyMatch[];
        try {
          counted = await withCounts(source, a, connector.capabilities);
        } catch (e) {
          transient ??= e as Error;
          continue;
        }
        const matches = keepExact(it.patientId, counted);
        for (const m of matches) results.push(resultRow(it.id, it.patientId, m));
        done.push({ id: it.id, count: matches.length });
      }
      // One round trip for the chunk's results and one for its rows: 1,000 rows would otherwise
      // cost thousands of single-row writes.
      const write = db
        .$transaction([
          insertResults(queryId, results),
          db.$executeRaw`UPDATE "QueryItem" AS q SET "status" = 'DONE', "error" = NULL, "resultCount" = v.c, "claimedBy" = NULL
          FROM (SELECT unnest(${done.map((d) => d.id)}::text[]) AS id, unnest(${done.map((d) => d.count)}::int[]) AS c) AS v
          WHERE q."id" = v.id`,
          db.$executeRaw`UPDATE "QueryItem" AS q SET "status" = 'FAILED', "error" = v.e, "claimedBy" = NULL
          FROM (SELECT unnest(${failed.map((d) => d.id)}::text[]) AS id, unnest(${failed.map((d) => d.error)}::text[]) AS e) AS v
          WHERE q."id" = v.id`,
        ])
        .then(() => undefined);
      write.catch(() => undefined); // awaited by settleWrite; never an unhandled rejection meanwhile
      writing = { ids: items.map((it) => it.id), done: write };
      if (transient) {
        await Promise.all([settleWrite(), dropAhead()]);
        log.warn('find chunk interrupted', { queryId, answered: done.length + failed.length, waiting: items.length - done.length - failed.length });
        throw transient;
      }
    }
    await giveBack();
    await settleWrite();
    await db.query.updateMany({ where: { id: queryId, error: { endsWith: '(retrying)' } }, data: { error: null } });
    await finishQueryIfComplete(queryId);
    return { status: 'done' };
  } catch (e) {
    // A write still running when the chunk after it failed: let it finish (or fail) first; the
    // same for a claim made ahead.
    await Promise.all([settleWrite().catch(() => undefined), dropAhead()]);
    // Our message for our errors; a database or library error by its class and code only.
    const message = publicMessage(e, 'C-FIND failed');
    log.warn('find failed', { queryId, reason: e instanceof DicomNetworkError ? e.reason : 'error', err: e, final: !!opts.isFinalAttempt });
    await db.query.update({ where: { id: queryId }, data: { error: opts.isFinalAttempt ? message : `${message} (retrying)` } });
    if (opts.isFinalAttempt) {
      // This job's claimed rows, and the rows nobody could ask for (every slot shares the PACS).
      await db.queryItem.updateMany({ where: { queryId, OR: [{ status: 'PENDING' }, { status: 'RUNNING', claimedBy: claim }] }, data: { status: 'FAILED', error: message } });
      await finishQueryIfComplete(queryId);
      return { status: 'done' };
    }
    throw e;
  } finally {
    await giveBack();
  }
}

/**
 * A PACS may answer a PatientID query with other patients' studies when it treats the key
 * loosely; keep only exact PatientID matches so nothing unintended is retrieved.
 */
function keepExact(requestedPatientId: string, matches: StudyMatch[]): StudyMatch[] {
  return matches.filter((m) => !m.patientId || m.patientId === requestedPatientId);
}

type ResultRow = Omit<Prisma.QueryResultCreateManyInput, 'id' | 'queryId' | 'selected'> & { numSeries: number | null; numInstances: number | null };

/**
 * One INSERT for a chunk's results, unique per (query, study): a rerun adds nothing. Raw SQL
 * with one JSON parameter: Prisma's createMany compiles each row's arguments in its WASM query
 * compiler, which cost ~1 ms of CPU per result (a third of the batch's CPU in bench/batch).
 */
function insertResults(queryId: string, rows: ResultRow[]) {
  return db.$executeRaw`
    INSERT INTO "QueryResult" ("id", "queryId", "itemId", "studyInstanceUid", "patientId", "patientName", "patientBirthDate",
      "studyDate", "studyTime", "studyDescription", "accessionNumber", "modalities", "numSeries", "numInstances", "selected")
    SELECT gen_random_uuid()::text, ${queryId}, x."itemId", x."studyInstanceUid", x."patientId", x."patientName", x."patientBirthDate",
      x."studyDate", x."studyTime", x."studyDescription", x."accessionNumber", x."modalities", x."numSeries", x."numInstances", false
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x("itemId" text, "studyInstanceUid" text, "patientId" text,
      "patientName" text, "patientBirthDate" text, "studyDate" text, "studyTime" text, "studyDescription" text,
      "accessionNumber" text, "modalities" text, "numSeries" int, "numInstances" int)
    ON CONFLICT DO NOTHING`;
}

function resultRow(itemId: string, requestedPatientId: string, m: StudyMatch): ResultRow {
  return {
    itemId,
    studyInstanceUid: m.studyInstanceUid,
    patientId: m.patientId || requestedPatientId,
    patientName: m.patientName ?? '',
    patientBirthDate: m.patientBirthDate ?? '',
    studyDate: m.studyDate ?? '',
    studyTime: m.studyTime ?? '',
    studyDescription: m.studyDescription ?? '',
    accessionNumber: m.accessionNumber ?? '',
    modalities: (m.modalitiesInStudy ?? []).join('\\'),
    numSeries: m.numberOfStudyRelatedSeries ?? null,
    numInstances: m.numberOfStudyRelatedInstances ?? null,
  };
}

/**
 * A PACS that leaves NumberOfStudyRelatedInstances empty (seen in the capability check, or just
 * now) gets a series-level C-FIND per such study and the series counts are summed, so progress
 * bars have a total. Skipped when the capability check found no series-level support.
 */
async function withCounts(source: SourceConnector, matches: StudyMatch[], capabilities: unknown): Promise<StudyMatch[]> {
  if (!needsCounts(matches, capabilities)) return matches;
  const out: StudyMatch[] = [];
  for (const m of matches) {
    if (m.numberOfStudyRelatedInstances !== undefined) {
      out.push(m);
      continue;
    }
    try {
      const series = await source.findSeries(m.studyInstanceUid);
      const counted = series.filter((s) => s.numberOfSeriesRelatedInstances !== undefined);
      out.push({
        ...m,
        numberOfStudyRelatedSeries: m.numberOfStudyRelatedSeries ?? series.length,
        numberOfStudyRelatedInstances: counted.length === series.length && series.length ? counted.reduce((n, s) => n + (s.numberOfSeriesRelatedInstances ?? 0), 0) : undefined,
        modalitiesInStudy: m.modalitiesInStudy.length ? m.modalitiesInStudy : [...new Set(series.map((s) => s.modality).filter(Boolean))],
      });
    } catch (e) {
      // The PACS went away: the row waits for it. Any other answer leaves the count unknown.
      if (isTransientFindError(e)) throw e;
      out.push(m);
    }
  }
  return out;
}

/** Whether withCounts would ask the PACS for series of some of these matches. */
function needsCounts(matches: StudyMatch[], capabilities: unknown): boolean {
  const caps = capabilities as { seriesLevel?: { ok?: boolean; countsInstances?: boolean } } | null;
  if (caps?.seriesLevel && (!caps.seriesLevel.ok || !caps.seriesLevel.countsInstances)) return false;
  return matches.some((m) => m.numberOfStudyRelatedInstances === undefined);
}

/**
 * Once no row is waiting, the query is DONE (or FAILED when no row could be asked at all, e.g.
 * the PACS stayed down). Several chunk jobs may get here; only the one that flips the status
 * writes the audit event.
 */
async function finishQueryIfComplete(queryId: string) {
  const open = await db.queryItem.count({ where: { queryId, status: { in: ['PENDING', 'RUNNING'] } } });
  if (open) return;
  const [failed, invalid, answered] = await Promise.all([
    db.queryItem.count({ where: { queryId, status: 'FAILED' } }),
    db.queryItem.count({ where: { queryId, status: 'INVALID' } }),
    db.queryItem.count({ where: { queryId, status: 'DONE' } }),
  ]);
  const current = await db.query.findUniqueOrThrow({ where: { id: queryId }, select: { error: true } });
  const flipped = await db.query.updateMany({
    where: { id: queryId, status: { in: ['PENDING', 'RUNNING'] } },
    data: {
      status: failed && !answered ? 'FAILED' : 'DONE',
      error: failed ? (answered ? `${failed} row(s) failed` : (current.error ?? `${failed} row(s) failed`).replace(/ \(retrying\)$/, '')) : invalid ? `${invalid} row(s) invalid` : null,
    },
  });
  const q = await db.query.findUniqueOrThrow({ where: { id: queryId } });
  if (flipped.count && (failed || invalid)) {
    await audit({ userId: q.createdById, action: 'query.rows-failed', poolId: q.poolId, targetType: 'query', targetId: q.id, detail: { failed, invalid } });
  }
}
