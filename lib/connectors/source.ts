/**
 * One interface for every kind of source connector (DICOM over DIMSE, DICOMweb, ...): the query
 * step (lib/queries/run-find.ts), the retrieve step (lib/retrievals/run-move.ts) and the
 * capability check (lib/connectors/capabilities.ts) talk to a source only through it. Pick the
 * implementation with `sourceFor(connector)` (lib/connectors/sources.ts).
 *
 * Errors: a source that cannot answer now (refused, timed out, aborted, overloaded) throws or
 * returns a DicomNetworkError (lib/dicom/errors.ts: reason 'refused' | 'timeout' | 'aborted' |
 * 'association-rejected' | 'status' with the status code in `dimseStatus` — an HTTP source puts
 * its HTTP status there and uses 0xA7xx for "overloaded, try later"); a query that is unsafe or
 * invalid is a DicomQueryError. Messages are PHI-free (hosts, ports, AE titles, status codes).
 *
 * Where instances go: for C-MOVE the source tells the PACS to send to our SCP (lib/dicom/scp.ts,
 * hooks in lib/receive); for methods where they come back on our own connection (C-GET, WADO-RS)
 * `sameConnection` is true and retrieve() hands every instance to `ctx.sink`
 * (lib/receive/sink.ts, tied to the retrieval), which streams it into staging like the SCP does.
 */
import type { InstanceSink } from '../receive/sink';
import type { InstanceMatch, MoveTarget, SeriesMatch, StudyMatch, StudyQuery } from '../dicom/scu';

export type { InstanceMatch, SeriesMatch, StudyMatch, StudyQuery } from '../dicom/scu';

export type SourceKind = 'DICOM' | 'DICOMWEB' | 'DB';
export type RetrieveMethod = 'CMOVE' | 'CGET' | 'WADORS';

/** What to retrieve: a study, a series, or some instances of one series. */
export type RetrieveTarget = MoveTarget;

export interface RetrieveCounts {
  remaining: number;
  completed: number;
  failed: number;
  warnings: number;
}

export interface RetrieveResult extends RetrieveCounts {
  status: 'success' | 'warning' | 'failure' | 'cancelled';
  /** The source's own status of the final answer (DIMSE status; HTTP status for DICOMweb). */
  statusCode?: number;
  /** The source's free-text comment (may quote anything: shown to coordinators, never logged). */
  comment?: string;
}

export interface RetrieveContext {
  /** The retrieval this retrieve belongs to (null: the capability check's probe). */
  retrievalId: string | null;
  /** Required when the source's `sameConnection` is true: where each instance goes. */
  sink?: InstanceSink;
  /** Cancel: C-CANCEL for DIMSE, abort of the HTTP request for DICOMweb. Resolves 'cancelled'. */
  signal?: AbortSignal;
  /** Counts as they come (throttled by the caller). */
  onProgress?: (p: RetrieveCounts) => void;
  /** Longest silence from the source. */
  timeoutMs?: number;
  /**
   * SOP classes the target holds, when known (from the instance-level listing of a partial
   * retry): a C-GET proposes exactly these. Otherwise the source finds them itself.
   */
  sopClassUids?: string[];
}

export interface FindOptions {
  timeoutMs?: number;
}

export interface SourceConnector {
  readonly kind: SourceKind;
  readonly retrieveMethod: RetrieveMethod;
  /** PHI-free name of the peer for messages ("ORTHANC at 10.0.0.5:4242"). */
  readonly label: string;
  /** True when retrieved instances come back on our own connection (to ctx.sink), not to our SCP. */
  readonly sameConnection: boolean;

  /** Is the source there and answering (C-ECHO; a cheap QIDO for DICOMweb)? Throws when not. */
  echo(opts?: FindOptions): Promise<{ ms: number }>;

  /**
   * Study-level find for many rows, over one association/connection where the kind allows. The
   * answer has one slot per query: its matches, or the Error of that row. Rejects only when the
   * source could not be reached at all.
   */
  findStudies(queries: StudyQuery[], opts?: FindOptions): Promise<Array<StudyMatch[] | Error>>;

  /**
   * Study-level finds over one association kept open from call to call, where the kind allows
   * (DIMSE): a batch asks its chunks on it and closes it when it gives its lease back. Sources
   * without one get `findSessionOf`'s stand-in (each call a `findStudies`).
   */
  findSession?(opts?: FindOptions): FindSession;

  /** The series of a study (counts for progress; partial retries). */
  findSeries(studyInstanceUid: string, opts?: FindOptions): Promise<SeriesMatch[]>;

  /** The instances of a series (partial retries ask only for what is missing). */
  findInstances(studyInstanceUid: string, seriesInstanceUid: string, opts?: FindOptions): Promise<InstanceMatch[]>;

  /**
   * Retrieves a study, series or some instances. Resolves with the sub-operation counts and the
   * final status ('cancelled' when ctx.signal aborted it); rejects with DicomNetworkError when
   * the connection itself failed.
   */
  retrieve(target: RetrieveTarget, ctx: RetrieveContext): Promise<RetrieveResult>;
}

/** Successive study-level finds; `close` ends the association (or connection) they share. */
export interface FindSession {
  /** Like SourceConnector.findStudies. */
  findStudies(queries: StudyQuery[]): Promise<Array<StudyMatch[] | Error>>;
  /** Starts connecting now, before the first `findStudies` (its error, if any, surfaces there). */
  prepare(): void;
  close(): Promise<void>;
}

/** The source's own find session, or one where each call is a `findStudies` of its own. */
export function findSessionOf(source: SourceConnector, opts: FindOptions = {}): FindSession {
  if (source.findSession) return source.findSession(opts);
  return { findStudies: (queries) => source.findStudies(queries, opts), prepare: () => undefined, close: async () => undefined };
}
