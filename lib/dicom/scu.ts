/**
 * DICOM SCU: C-ECHO, C-FIND, C-MOVE and C-STORE as promises over dcmjs-dimse.
 *
 * Every call opens one association, runs its requests on it in order and releases it. Errors
 * of the association itself (refused, timed out, rejected, aborted) reject with a
 * DicomNetworkError whose message is fit for the coordinator's screen; failures of an
 * individual operation come back as a status (move) or as an Error in the result (find many).
 * Nothing here logs or throws patient data: only hosts, ports, AE titles, counts and statuses.
 */
import './patch';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { dimse } from './dimse';
import { logger } from '../logger';
import { DicomNetworkError, DicomQueryError, abortHint, closedEarlyError, describeRejection, hex4 } from './errors';
import { readPart10Header, readInstanceIds } from './part10';
import { clientSecurityOptions, describeTlsFailure, type PeerTls } from './tls';
import { SopClass, TransferSyntax } from './uids';
import { storeResponsePdu } from './scp';
import { FindAssociation, runFinds, type FindAnswer, type FindBatch } from './cfind-client';
import { decodeIdentifier, studyIdentifier } from './cfind-codec';

const log = logger('dicom.scu');
const { Client, Dataset, association, constants, requests, responses } = dimse;

export { DicomNetworkError, DicomQueryError } from './errors';
export type { DicomNetworkErrorReason } from './errors';
export type { PeerTls } from './tls';

export interface DicomPeer {
  aeTitle: string;
  host: string;
  port: number;
  /**
   * DICOM TLS for every operation with this peer (echo, find, move, store, get: they all go
   * through runAssociation). `true` = TLS with the system's CAs and no client certificate; an
   * object = the device's settings (lib/devices/tls.ts devicePeer builds it).
   */
  tls?: boolean | PeerTls;
}

export interface ScuOptions {
  /** Time allowed to open the TCP connection and get the association answered. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Longest silence from the peer once associated before we give up. Defaults: 30 s for echo
   * and find, 10 min for move and store (a PACS may fetch from a slow archive between
   * sub-operations without sending anything).
   */
  timeoutMs?: number;
  /** Time allowed for the TLS handshake once connected (TLS peers). Default: connectTimeoutMs. */
  tlsHandshakeTimeoutMs?: number;
}

export interface StudyMatch {
  studyInstanceUid: string;
  patientId: string;
  patientName: string;
  patientBirthDate: string;
  studyDate: string;
  studyTime: string;
  studyDescription: string;
  accessionNumber: string;
  modalitiesInStudy: string[];
  numberOfStudyRelatedSeries?: number;
  numberOfStudyRelatedInstances?: number;
}

export interface StudyQuery {
  patientId: string;
  accessionNumber?: string;
  modality?: string;
  /** YYYYMMDD (or YYYY-MM-DD). */
  studyDateFrom?: string;
  studyDateTo?: string;
  /** Matched as *text* (wildcards in the text itself are removed). */
  studyDescription?: string;
  /** One study (a database cohort source may know it); matched exactly. */
  studyInstanceUid?: string;
}

export interface SeriesMatch {
  seriesInstanceUid: string;
  modality: string;
  seriesNumber?: number;
  seriesDescription: string;
  numberOfSeriesRelatedInstances?: number;
}

export interface InstanceMatch {
  sopInstanceUid: string;
  sopClassUid: string;
  instanceNumber?: number;
}

export interface MoveProgress {
  remaining: number;
  completed: number;
  failed: number;
  warnings: number;
}

export interface MoveResult extends MoveProgress {
  status: 'success' | 'warning' | 'failure' | 'cancelled';
  /** DIMSE status of the final response. */
  dimseStatus: number;
  errorComment?: string;
}

export interface MoveTarget {
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  sopInstanceUids?: string[];
}

// ---------------------------------------------------------------------------------------------
// Association plumbing

type Request = InstanceType<typeof requests.Request>;
type AnyResponse = InstanceType<typeof responses.CFindResponse>;

/** dcmjs-dimse internals we reach into (typed here, not exported by the library). */
interface ClientInternals {
  network?: NetworkLike;
}

/** The parts of dcmjs-dimse's Network (per connection) that C-GET reaches into. */
export interface NetworkLike {
  socket: Socket;
  on(event: string, fn: (...args: unknown[]) => void): void;
  sendAssociationRequest(assoc: AssociationLike): void;
  createStoreWritableStream(pc: PresentationContextLike, request: unknown): Writable;
  createDatasetFromStoreWritableStream(writable: Writable, pc: PresentationContextLike, callback: (dataset: unknown) => void): void;
}

export interface PresentationContextLike {
  getPresentationContextId(): number;
  getAbstractSyntaxUid(): string;
  getAcceptedTransferSyntaxUid(): string | undefined;
  getResult(): number;
  setUserRole(v: boolean): void;
  setProviderRole(v: boolean): void;
}

export interface AssociationLike {
  getPresentationContexts(): Array<{ id: number }>;
  getPresentationContext(id: number): PresentationContextLike;
}

/** A connection error as the socket raised it (dcmjs-dimse rewraps it and drops the code). */
interface SocketError {
  code?: string;
  message?: string;
}

const S = constants.Status;
const PENDING = new Set([0xff00, 0xff01]);

export interface RunOptions extends ScuOptions {
  /** Keep the association this long after the last response before releasing it (a peer may send an N-EVENT-REPORT on it). */
  lingerMs?: number;
  /** Extra presentation contexts: [abstract syntax, transfer syntax] pairs, each proposed alone. */
  extraContexts?: Array<[string, string]>;
  /** Called once associated, with the client (to send C-CANCEL or abort later). */
  onAssociated?: (client: InstanceType<typeof Client>) => void;
  /**
   * Called right after the connection is started, before the association request is sent:
   * the network object (to adjust the request or receive C-STOREs on it) and the client.
   */
  onNetwork?: (net: NonNullable<ClientInternals['network']>, client: InstanceType<typeof Client>) => void;
  /** Judges the accepted association before any request is sent; an error aborts it. */
  checkAccepted?: (assoc: AssociationLike) => DicomNetworkError | undefined;
  defaultTimeoutMs: number;
}

function classifySocketError(message: string, peer: DicomPeer, raw: SocketError | undefined, state: { secured: boolean; associated: boolean }): DicomNetworkError {
  const where = `${peer.host}:${peer.port}`;
  if (peer.tls) {
    const reason = describeTlsFailure(raw?.code);
    // A reset once the handshake is done is an ordinary reset, not a TLS failure.
    if (reason && !(raw?.code === 'ECONNRESET' && state.secured)) return new DicomNetworkError('tls', `TLS handshake with ${peer.aeTitle} at ${where} failed: ${reason}`);
  } else if (!state.associated && /ECONNRESET/.test(`${raw?.code ?? ''} ${message}`)) {
    // A TLS port reads our A-ASSOCIATE-RQ as a broken ClientHello and hangs up.
    return new DicomNetworkError('aborted', `${peer.aeTitle} at ${where} reset the connection without answering the association request (if this is a DICOM TLS port, set the device to TLS)`);
  }
  if (/ECONNREFUSED/.test(message)) return new DicomNetworkError('refused', `Connection refused by ${where} (nothing listening on that port?)`);
  if (/ENOTFOUND|EAI_AGAIN/.test(message)) return new DicomNetworkError('refused', `Host ${peer.host} not found`);
  if (/EHOSTUNREACH|ENETUNREACH/.test(message)) return new DicomNetworkError('refused', `Host ${where} unreachable`);
  if (/ETIMEDOUT|timeout/i.test(message)) return new DicomNetworkError('timeout', `No answer from ${where} (timed out)`);
  if (/ECONNRESET|EPIPE/.test(message)) return new DicomNetworkError('aborted', `Connection to ${where} was reset by the peer`);
  if (/certificate|SSL|TLS/i.test(message)) return new DicomNetworkError('tls', `TLS handshake with ${where} failed (${raw?.code ?? 'unknown reason'})`);
  return new DicomNetworkError('aborted', `Network error talking to ${where}`);
}

/**
 * Runs `reqs` on one association. Resolves once the association is released (or closed after
 * every request finished); rejects with DicomNetworkError otherwise.
 */
export function runAssociation(peer: DicomPeer, callingAe: string, reqs: Request[], opts: RunOptions): Promise<void> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const idleMs = opts.timeoutMs ?? opts.defaultTimeoutMs;
  const where = `${peer.host}:${peer.port}`;
  return new Promise<void>((resolve, reject) => {
    const client = new Client();
    for (const r of reqs) client.addRequest(r);
    for (const [abstract, ts] of opts.extraContexts ?? []) {
      client.addAdditionalPresentationContext(new association.PresentationContext(0, abstract, ts), true);
    }
    let settled = false;
    let remaining = reqs.length;
    let released = false;
    let associated = false;
    let timer: NodeJS.Timeout | undefined;
    const internals = client as unknown as ClientInternals;

    const finish = (err?: DicomNetworkError) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (err) {
        // Make sure nothing lingers: abort politely if we can, then drop the socket.
        try {
          if (err.reason === 'timeout') client.abort();
        } catch {
          /* not associated */
        }
        internals.network?.socket.destroy();
        reject(err);
      } else resolve();
    };
    const arm = (ms: number, message: string) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish(new DicomNetworkError('timeout', message)), ms);
    };

    let answered = false;
    for (const r of reqs) {
      r.on('done', () => void remaining--);
      r.on('response', () => void (answered = true));
    }
    // A PACS that accepts the association but aborts at the first request usually does not
    // allow this calling AE title to query or retrieve.
    const hint = () => abortHint({ associated, answered, callingAe });

    client.on('connected', () => arm(connectTimeoutMs, `${peer.aeTitle} at ${where} accepted the connection but did not answer the association request`));
    client.on('associationAccepted', (assoc: AssociationLike) => {
      const refused = opts.checkAccepted?.(assoc);
      if (refused) {
        try {
          client.abort();
        } catch {
          /* gone */
        }
        finish(refused);
        return;
      }
      associated = true;
      arm(idleMs, `${peer.aeTitle} at ${where} stopped answering (no data for ${Math.round(idleMs / 1000)} s)`);
      opts.onAssociated?.(client);
    });
    client.on('associationRejected', (r: { result?: number; source?: number; reason?: number }) => {
      finish(new DicomNetworkError('association-rejected', describeRejection(r, peer.aeTitle, callingAe)));
    });
    client.on('associationReleased', () => {
      released = true;
    });
    // The socket's own error (with its OpenSSL code); dcmjs-dimse's networkError only has text.
    let rawError: SocketError | undefined;
    let secured = false;
    client.on('networkError', (e: Error) => finish(classifySocketError(e?.message ?? '', peer, rawError, { secured, associated })));
    client.on('closed', () => {
      if (released || remaining <= 0) finish();
      else finish(closedEarlyError(peer, where, { secured, associated, answered, rawCode: rawError?.code, callingAe }));
    });

    arm(connectTimeoutMs, `No answer from ${where} within ${Math.round(connectTimeoutMs / 1000)} s`);
    const big = 24 * 3600 * 1000; // our own timers decide; keep dcmjs-dimse's out of the way
    client.send(peer.host, peer.port, callingAe, peer.aeTitle, {
      connectTimeout: big,
      associationTimeout: big,
      pduTimeout: big,
      ...(opts.lingerMs ? { associationLingerTimeout: opts.lingerMs } : {}),
      ...(peer.tls ? { securityOptions: clientSecurityOptions(peer.tls === true ? {} : peer.tls) } : {}),
    });
    const net = internals.network;
    if (net) opts.onNetwork?.(net, client);
    if (net) {
      net.socket.prependListener('error', (e: SocketError) => void (rawError = e));
      if (peer.tls) {
        // 'connected' fires on the TCP connect; the handshake has its own deadline and message
        // (a plain DICOM port answers a ClientHello with silence until it times out).
        const handshakeMs = opts.tlsHandshakeTimeoutMs ?? connectTimeoutMs;
        net.socket.once('connect', () =>
          arm(handshakeMs, `TLS handshake with ${peer.aeTitle} at ${where} did not complete within ${Math.round(handshakeMs / 1000)} s (is it a TLS port?)`),
        );
        net.socket.once('secureConnect', () => {
          secured = true;
          arm(connectTimeoutMs, `${peer.aeTitle} at ${where} accepted the TLS connection but did not answer the association request`);
        });
      }
      // Nagle's algorithm costs tens of ms per small DIMSE message on request/response traffic.
      net.socket.setNoDelay(true);
      corkRequests(net);
      net.socket.on('data', () => {
        if (associated && !settled) arm(idleMs, `${peer.aeTitle} at ${where} stopped answering (no data for ${Math.round(idleMs / 1000)} s)`);
      });
      // A-ABORT from the peer: dcmjs-dimse's Client does not surface it; the Network does.
      net.on('abort', () => finish(new DicomNetworkError('aborted', `${peer.aeTitle} at ${where} aborted the association${hint()}`)));
    }
  });
}

/**
 * dcmjs-dimse writes a request's command PDU and each dataset PDU with a socket write each: two
 * system calls and two TCP segments per C-FIND, the PACS reading the command before the
 * identifier arrives. Corked for the duration of one message they leave as one write.
 */
function corkRequests(net: NetworkLike): void {
  const n = net as NetworkLike & { _sendPDataTF?: (...args: unknown[]) => unknown };
  const send = n._sendPDataTF;
  if (typeof send !== 'function') return;
  n._sendPDataTF = function (this: NetworkLike, ...args: unknown[]) {
    this.socket.cork();
    try {
      return send.apply(this, args);
    } finally {
      this.socket.uncork();
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Values out of naturalized response datasets

type Elements = Record<string, unknown>;

function first(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}

function text(v: unknown): string {
  const x = first(v);
  if (x === undefined || x === null) return '';
  if (typeof x === 'object') {
    // PN: { Alphabetic, Ideographic, Phonetic } -> DICOM form with '=' between groups.
    const pn = x as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
    return [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''].join('=').replace(/=+$/, '');
  }
  return String(x).trim();
}

function list(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  const arr = Array.isArray(v) ? v : String(v).split('\\');
  return arr.map((x) => String(x).trim()).filter(Boolean);
}

function int(v: unknown): number | undefined {
  const x = first(v);
  if (x === undefined || x === null || x === '') return undefined;
  const n = typeof x === 'number' ? x : parseInt(String(x), 10);
  return Number.isFinite(n) ? n : undefined;
}

function elementsOf(rsp: AnyResponse): Elements | undefined {
  const ds = rsp.getDataset();
  return ds ? (ds.getElements() as Elements) : undefined;
}

function statusOf(rsp: AnyResponse): number {
  return rsp.getStatus() >>> 0;
}

function toStudyMatch(e: Elements): StudyMatch {
  return {
    studyInstanceUid: text(e.StudyInstanceUID),
    patientId: text(e.PatientID),
    patientName: text(e.PatientName),
    patientBirthDate: text(e.PatientBirthDate),
    studyDate: text(e.StudyDate),
    studyTime: text(e.StudyTime),
    studyDescription: text(e.StudyDescription),
    accessionNumber: text(e.AccessionNumber),
    modalitiesInStudy: list(e.ModalitiesInStudy),
    numberOfStudyRelatedSeries: int(e.NumberOfStudyRelatedSeries),
    numberOfStudyRelatedInstances: int(e.NumberOfStudyRelatedInstances),
  };
}

// ---------------------------------------------------------------------------------------------
// C-ECHO

export async function echo(peer: DicomPeer, callingAe: string, opts: ScuOptions = {}): Promise<{ ok: true; ms: number }> {
  const started = performance.now();
  const req = new requests.CEchoRequest();
  let status: number | undefined;
  req.on('response', (rsp: AnyResponse) => {
    status = statusOf(rsp);
  });
  await runAssociation(peer, callingAe, [req], { ...opts, defaultTimeoutMs: 30_000 });
  if (status === undefined) throw new DicomNetworkError('aborted', `${peer.aeTitle} released the association without answering C-ECHO`);
  if (status !== S.Success) throw new DicomNetworkError('status', `C-ECHO answered with status ${hex4(status)}`, status);
  const ms = Math.round(performance.now() - started);
  log.debug('echo ok', { calledAe: peer.aeTitle, callingAe, ms });
  return { ok: true, ms };
}

// ---------------------------------------------------------------------------------------------
// C-FIND

const DATE = /^\d{8}$/;

function normDate(d: string | undefined, field: string): string {
  if (!d) return '';
  const s = d.replace(/-/g, '').trim();
  if (!DATE.test(s)) throw new DicomQueryError(`${field} must be a date as YYYYMMDD`);
  return s;
}

/** Turns a coordinator's query into C-FIND identifier keys, refusing unsafe input. */
export function studyQueryKeys(q: StudyQuery): Record<string, string> {
  const patientId = (q.patientId ?? '').trim();
  // An empty, wildcard or multi-valued PatientID would match other patients (or all of them).
  if (!patientId) throw new DicomQueryError('PatientID is required');
  if (/[*?\\]/.test(patientId)) throw new DicomQueryError('PatientID must not contain wildcards (* ?) or backslashes');
  const accession = (q.accessionNumber ?? '').trim();
  if (/[*?\\]/.test(accession)) throw new DicomQueryError('AccessionNumber must not contain wildcards (* ?) or backslashes');
  const modality = (q.modality ?? '').trim().toUpperCase();
  // One code, or several separated by backslashes (CT\MR): multiple-value matching on ModalitiesInStudy.
  if (modality && !/^[A-Z0-9_ ]{1,16}(\\[A-Z0-9_ ]{1,16})*$/.test(modality)) throw new DicomQueryError('Modality must be DICOM modality codes such as CT or MR');
  const from = normDate(q.studyDateFrom, 'StudyDate from');
  const to = normDate(q.studyDateTo, 'StudyDate to');
  if (from && to && from > to) throw new DicomQueryError('StudyDate range is reversed');
  const description = (q.studyDescription ?? '').replace(/[*?\\]/g, '').trim();
  return {
    PatientID: patientId,
    AccessionNumber: accession,
    ModalitiesInStudy: modality,
    StudyDate: from || to ? `${from}-${to}` : '',
    StudyDescription: description ? `*${description}*` : '',
  };
}

/** The identifier keys of a study query (dcmjs-dimse's createStudyFindRequest adds its defaults). */
function studyFindElements(q: StudyQuery): Record<string, string> {
  const keys = studyQueryKeys(q);
  const elements: Record<string, string> = {
    ...keys,
    PatientName: '',
    PatientBirthDate: '',
    StudyInstanceUID: q.studyInstanceUid ?? '',
    StudyTime: '',
    NumberOfStudyRelatedSeries: '',
    NumberOfStudyRelatedInstances: '',
  };
  // Non-ASCII in a matching key (a description) needs a declared character set.
  if (/[^\x20-\x7e]/.test(Object.values(keys).join(''))) elements.SpecificCharacterSet = 'ISO_IR 192';
  return elements;
}

function studyFindRequest(q: StudyQuery) {
  return requests.CFindRequest.createStudyFindRequest(studyFindElements(q));
}

function keepMatch(m: StudyMatch, q: StudyQuery): boolean {
  // Defence in depth: some PACS ignore matching keys they do not support (ModalitiesInStudy
  // often). Never show the coordinator another patient's study, and honour the modality.
  if (m.patientId !== q.patientId.trim()) return false;
  if (q.studyInstanceUid && m.studyInstanceUid !== q.studyInstanceUid) return false;
  const modality = q.modality?.trim().toUpperCase();
  if (modality && m.modalitiesInStudy.length > 0 && !m.modalitiesInStudy.includes(modality)) return false;
  return true;
}

interface FindCollector<T> {
  req: Request;
  matches: T[];
  status?: number;
  errorComment?: string;
}

function collect<T>(req: Request, map: (e: Elements) => T): FindCollector<T> {
  const c: FindCollector<T> = { req, matches: [] };
  req.on('response', (rsp: AnyResponse) => {
    const st = statusOf(rsp);
    if (PENDING.has(st)) {
      const e = elementsOf(rsp);
      if (e) c.matches.push(map(e));
    } else {
      c.status = st;
      c.errorComment = rsp.getErrorComment() || undefined;
    }
  });
  return c;
}

function findError(c: FindCollector<unknown>, peer: DicomPeer): DicomNetworkError | undefined {
  if (c.status === undefined) return new DicomNetworkError('aborted', `${peer.aeTitle} did not finish answering the query`);
  if (c.status === S.Success) return undefined;
  if (c.status === S.Cancel) return new DicomNetworkError('status', 'Query cancelled', c.status);
  return new DicomNetworkError('status', `C-FIND failed with status ${hex4(c.status)}`, c.status);
}

export async function findStudies(peer: DicomPeer, callingAe: string, q: StudyQuery, opts: ScuOptions = {}): Promise<StudyMatch[]> {
  const elements = studyFindElements(q);
  let answer: FindAnswer | undefined;
  let ts = '';
  await runFinds(peer, callingAe, 1, {
    ...opts,
    defaultTimeoutMs: 30_000,
    sopClassUid: SopClass.StudyRootFind,
    identifier: (_i, syntax) => studyIdentifier(elements, syntax),
    onAnswer: (_i, a, syntax) => {
      answer = a;
      ts = syntax;
    },
    classify: (message, raw, state) => classifySocketError(message, peer, raw, state),
  });
  const err = answerError(answer, peer);
  if (err) throw err;
  return answer!.identifiers.map((b) => toStudyMatch(decodeIdentifier(b, ts))).filter((m) => keepMatch(m, q));
}

/** findError for an answer of lib/dicom/cfind-client.ts. */
function answerError(a: FindAnswer | undefined, peer: DicomPeer): DicomNetworkError | undefined {
  return findError({ req: undefined as unknown as Request, matches: [], status: a?.status }, peer);
}

/**
 * Many study queries over ONE association. A query that is invalid or answered with a failure
 * status yields an Error in its slot; the others go on. If the association cannot be opened at
 * all the promise rejects; if it breaks half way, the unanswered queries get the error in their
 * slots.
 */
export async function findStudiesMany(
  peer: DicomPeer,
  callingAe: string,
  queries: StudyQuery[],
  opts: ScuOptions & { onResult?: (index: number, result: StudyMatch[] | Error) => void } = {},
): Promise<Array<StudyMatch[] | Error>> {
  const session = new StudyFindSession(peer, callingAe, opts);
  try {
    return await session.find(queries, opts);
  } finally {
    await session.close();
  }
}

/**
 * Study queries over one association kept open across calls: a batch asks its chunks of rows
 * one after another on it, instead of opening an association per chunk, and closes it when it
 * gives its connector lease back (lib/queries/run-find.ts). Each `find` answers like
 * findStudiesMany. The association is opened at the first `find`, and again when the PACS has
 * closed it meanwhile; when a kept association fails before answering any request of a `find`
 * (the PACS dropped it while idle), that `find` is asked once more on a fresh association. At
 * most one association at a time; one `find` at a time.
 */
export class StudyFindSession {
  private assoc: FindAssociation | null = null;
  /** An association being opened ahead of the first find (`prepare`). */
  private pending: Promise<FindAssociation> | null = null;
  private opened = 0;

  constructor(
    private readonly peer: DicomPeer,
    private readonly callingAe: string,
    private readonly opts: ScuOptions = {},
  ) {}

  /** Associations opened so far (tests, traces). */
  get associationsOpened(): number {
    return this.opened;
  }

  async find(queries: StudyQuery[], opts: { onResult?: (index: number, result: StudyMatch[] | Error) => void } = {}): Promise<Array<StudyMatch[] | Error>> {
    const { peer } = this;
    const out: Array<StudyMatch[] | Error | undefined> = new Array(queries.length).fill(undefined);
    // Valid queries, in order; an invalid one is refused here and never sent.
    const sent: Array<{ index: number; elements: Record<string, string> }> = [];
    queries.forEach((q, index) => {
      try {
        sent.push({ index, elements: studyFindElements(q) });
      } catch (err) {
        out[index] = err as Error;
        opts.onResult?.(index, err as Error);
      }
    });
    if (sent.length > 0) {
      let answered = false;
      const batch: FindBatch = {
        count: sent.length,
        identifier: (i, syntax) => studyIdentifier(sent[i].elements, syntax),
        onAnswer: (i, a, syntax) => {
          answered = true;
          const { index } = sent[i];
          const err = answerError(a, peer);
          out[index] = err ?? a.identifiers.map((b) => toStudyMatch(decodeIdentifier(b, syntax))).filter((m) => keepMatch(m, queries[index]));
          opts.onResult?.(index, out[index] as StudyMatch[] | Error);
        },
      };
      const reused = !!this.assoc?.usable;
      let failure: unknown;
      try {
        await (await this.association()).run(batch);
      } catch (err) {
        this.assoc = null;
        failure = err;
      }
      if (failure !== undefined && reused && !answered && failure instanceof DicomNetworkError) {
        // The kept association was gone before this batch got anything: once more on a new one.
        failure = undefined;
        try {
          await (await this.association()).run(batch);
        } catch (err) {
          this.assoc = null;
          failure = err;
        }
      }
      if (failure !== undefined) {
        if (!answered) throw failure;
        for (const x of sent) if (out[x.index] === undefined) out[x.index] = failure as Error;
      }
    }
    for (const x of sent) if (out[x.index] === undefined) out[x.index] = answerError(undefined, peer);
    log.info('find many done', { calledAe: peer.aeTitle, callingAe: this.callingAe, queries: queries.length, failed: out.filter((o) => o instanceof Error).length });
    return out as Array<StudyMatch[] | Error>;
  }

  /**
   * Starts opening the association now (while the caller does other work, e.g. claims its
   * first rows); an error opening it surfaces at the next `find`.
   */
  prepare(): void {
    if (this.assoc || this.pending) return;
    this.pending = this.open();
    this.pending.catch(() => undefined); // surfaced by association() or dropped by close()
  }

  /** A-RELEASE of the association, if one is open; resolves once it is closed. */
  async close(): Promise<void> {
    const pending = this.pending;
    this.pending = null;
    if (pending) await pending.catch(() => undefined);
    const a = this.assoc;
    this.assoc = null;
    await a?.release();
  }

  private async association(): Promise<FindAssociation> {
    const pending = this.pending;
    this.pending = null;
    if (pending) return pending;
    if (this.assoc?.usable) return this.assoc;
    const stale = this.assoc;
    this.assoc = null;
    await stale?.release();
    return this.open();
  }

  private async open(): Promise<FindAssociation> {
    const { peer } = this;
    this.assoc = await FindAssociation.open(peer, this.callingAe, {
      ...this.opts,
      defaultTimeoutMs: 60_000,
      sopClassUid: SopClass.StudyRootFind,
      classify: (message, raw, state) => classifySocketError(message, peer, raw, state),
    });
    this.opened++;
    return this.assoc;
  }
}

/**
 * findStudiesMany through dcmjs-dimse's request machinery, as it was before
 * lib/dicom/cfind-client.ts: the reference the tests compare the new path with, and the
 * "before" of bench/batch/dimse.ts. Not used by the application.
 */
export async function findStudiesManyViaDcmjs(
  peer: DicomPeer,
  callingAe: string,
  queries: StudyQuery[],
  opts: ScuOptions & { onResult?: (index: number, result: StudyMatch[] | Error) => void } = {},
): Promise<Array<StudyMatch[] | Error>> {
  const out: Array<StudyMatch[] | Error | undefined> = new Array(queries.length).fill(undefined);
  const collectors: Array<{ index: number; c: FindCollector<StudyMatch> }> = [];
  queries.forEach((q, index) => {
    try {
      const c = collect(studyFindRequest(q), toStudyMatch);
      c.req.on('done', () => {
        const err = findError(c, peer);
        out[index] = err ?? c.matches.filter((m) => keepMatch(m, q));
        opts.onResult?.(index, out[index] as StudyMatch[] | Error);
      });
      collectors.push({ index, c });
    } catch (err) {
      out[index] = err as Error;
      opts.onResult?.(index, err as Error);
    }
  });
  if (collectors.length > 0) {
    try {
      await runAssociation(peer, callingAe, collectors.map((x) => x.c.req), { ...opts, defaultTimeoutMs: 60_000 });
    } catch (err) {
      const answered = collectors.some((x) => out[x.index] !== undefined);
      if (!answered) throw err;
      for (const x of collectors) if (out[x.index] === undefined) out[x.index] = err as Error;
    }
  }
  for (const x of collectors) {
    if (out[x.index] === undefined) out[x.index] = findError(x.c, peer) ?? x.c.matches;
  }
  log.info('find many done', { calledAe: peer.aeTitle, callingAe, queries: queries.length, failed: out.filter((o) => o instanceof Error).length });
  return out as Array<StudyMatch[] | Error>;
}

export async function findSeries(peer: DicomPeer, callingAe: string, studyInstanceUid: string, opts: ScuOptions = {}): Promise<SeriesMatch[]> {
  if (!studyInstanceUid || /[*?\\]/.test(studyInstanceUid)) throw new DicomQueryError('A single StudyInstanceUID is required');
  const req = requests.CFindRequest.createSeriesFindRequest({ StudyInstanceUID: studyInstanceUid });
  const c = collect<SeriesMatch>(req, (e) => ({
    seriesInstanceUid: text(e.SeriesInstanceUID),
    modality: text(e.Modality),
    seriesNumber: int(e.SeriesNumber),
    seriesDescription: text(e.SeriesDescription),
    numberOfSeriesRelatedInstances: int(e.NumberOfSeriesRelatedInstances),
  }));
  await runAssociation(peer, callingAe, [req], { ...opts, defaultTimeoutMs: 30_000 });
  const err = findError(c, peer);
  if (err) throw err;
  return c.matches;
}

export async function findInstances(
  peer: DicomPeer,
  callingAe: string,
  studyInstanceUid: string,
  seriesInstanceUid: string,
  opts: ScuOptions = {},
): Promise<InstanceMatch[]> {
  for (const u of [studyInstanceUid, seriesInstanceUid]) {
    if (!u || /[*?\\]/.test(u)) throw new DicomQueryError('A single StudyInstanceUID and SeriesInstanceUID are required');
  }
  const req = requests.CFindRequest.createImageFindRequest({
    StudyInstanceUID: studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid,
    SOPClassUID: '',
  });
  const c = collect<InstanceMatch>(req, (e) => ({
    sopInstanceUid: text(e.SOPInstanceUID),
    sopClassUid: text(e.SOPClassUID),
    instanceNumber: int(e.InstanceNumber),
  }));
  await runAssociation(peer, callingAe, [req], { ...opts, defaultTimeoutMs: 30_000 });
  const err = findError(c, peer);
  if (err) throw err;
  return c.matches;
}

// ---------------------------------------------------------------------------------------------
// C-MOVE

function moveRequest(destinationAe: string, t: MoveTarget) {
  const uids = [t.studyInstanceUid, t.seriesInstanceUid, ...(t.sopInstanceUids ?? [])].filter((u): u is string => u !== undefined);
  if (!t.studyInstanceUid || uids.some((u) => !u || /[*?\\]/.test(u))) throw new DicomQueryError('C-MOVE needs exact UIDs');
  if (!destinationAe || destinationAe.length > 16) throw new DicomQueryError('Move destination AE title must be 1-16 characters');
  if (t.sopInstanceUids && t.sopInstanceUids.length > 0) {
    if (!t.seriesInstanceUid) throw new DicomQueryError('An instance-level C-MOVE needs the SeriesInstanceUID');
    if (t.sopInstanceUids.length === 1) {
      return requests.CMoveRequest.createImageMoveRequest(destinationAe, t.studyInstanceUid, t.seriesInstanceUid, t.sopInstanceUids[0]);
    }
    // Several instances of one series in one request: list of UIDs matching (PS3.4 C.2.2.2.2).
    const req = requests.CMoveRequest.createImageMoveRequest(destinationAe, t.studyInstanceUid, t.seriesInstanceUid, '');
    req.setDataset(
      new Dataset({
        QueryRetrieveLevel: 'IMAGE',
        StudyInstanceUID: t.studyInstanceUid,
        SeriesInstanceUID: t.seriesInstanceUid,
        SOPInstanceUID: t.sopInstanceUids,
      }),
    );
    return req;
  }
  if (t.seriesInstanceUid) return requests.CMoveRequest.createSeriesMoveRequest(destinationAe, t.studyInstanceUid, t.seriesInstanceUid);
  return requests.CMoveRequest.createStudyMoveRequest(destinationAe, t.studyInstanceUid);
}

type MoveResponse = InstanceType<typeof responses.CMoveResponse>;

function counters(rsp: MoveResponse): Partial<MoveProgress> {
  return {
    remaining: int(rsp.getRemaining()),
    completed: int(rsp.getCompleted()),
    failed: int(rsp.getFailures()),
    warnings: int(rsp.getWarnings()),
  };
}

/**
 * C-MOVE a study, a series or some instances of one series to `destinationAe` (an AE the PACS
 * knows: the receiving pool's). Resolves with the final status and counters; network-level
 * failures reject with DicomNetworkError. `signal` sends C-CANCEL; if the peer does not end the
 * operation within 15 s after that, the association is aborted.
 */
export async function move(
  peer: DicomPeer,
  callingAe: string,
  destinationAe: string,
  target: MoveTarget,
  opts: ScuOptions & { onProgress?: (p: MoveProgress) => void; signal?: AbortSignal } = {},
): Promise<MoveResult> {
  const req = moveRequest(destinationAe, target);
  const result = await runRetrieveRequest(peer, callingAe, req, 'C-MOVE', opts, {});
  if (result.dimseStatus === 0xa801 && !result.errorComment) result.errorComment = `The PACS does not know the move destination AE title ${destinationAe}`;
  log.info('move done', {
    calledAe: peer.aeTitle,
    callingAe,
    destinationAe,
    status: hex4(result.dimseStatus),
    completed: result.completed,
    failed: result.failed,
    warnings: result.warnings,
  });
  return result;
}

/**
 * Runs one C-MOVE or C-GET request on its own association and collects its sub-operation
 * counters. `signal` sends C-CANCEL; if the peer does not end the operation within 15 s after
 * that, the association is aborted (and the result is 'cancelled').
 */
async function runRetrieveRequest(
  peer: DicomPeer,
  callingAe: string,
  req: Request,
  what: 'C-MOVE' | 'C-GET',
  opts: ScuOptions & { onProgress?: (p: MoveProgress) => void; signal?: AbortSignal },
  run: Pick<RunOptions, 'extraContexts' | 'onNetwork' | 'checkAccepted'>,
): Promise<MoveResult> {
  const progress: MoveProgress = { remaining: 0, completed: 0, failed: 0, warnings: 0 };
  let final: { status: number; errorComment?: string; counters: Partial<MoveProgress> } | undefined;
  let cancelRequested = false;
  let onAbort: (() => void) | undefined;
  let cancelTimer: NodeJS.Timeout | undefined;

  req.on('response', (rsp: MoveResponse) => {
    const st = statusOf(rsp);
    const c = counters(rsp);
    if (PENDING.has(st)) {
      progress.remaining = c.remaining ?? progress.remaining;
      progress.completed = c.completed ?? progress.completed;
      progress.failed = c.failed ?? progress.failed;
      progress.warnings = c.warnings ?? progress.warnings;
      opts.onProgress?.({ ...progress });
    } else {
      final = { status: st, errorComment: rsp.getErrorComment() || undefined, counters: c };
    }
  });

  if (opts.signal?.aborted) return { status: 'cancelled', dimseStatus: S.Cancel, ...progress };

  try {
    await runAssociation(peer, callingAe, [req], {
      ...opts,
      ...run,
      defaultTimeoutMs: 600_000,
      onAssociated: (client) => {
        if (!opts.signal) return;
        onAbort = () => {
          cancelRequested = true;
          try {
            client.cancel(req as Parameters<typeof client.cancel>[0]);
          } catch {
            /* association already gone */
          }
          cancelTimer = setTimeout(() => {
            try {
              client.abort();
            } catch {
              /* gone */
            }
          }, 15_000);
        };
        opts.signal.addEventListener('abort', onAbort, { once: true });
      },
    });
  } catch (err) {
    if (cancelRequested && err instanceof DicomNetworkError && err.reason === 'aborted') {
      return { status: 'cancelled', dimseStatus: S.Cancel, ...progress };
    }
    throw err;
  } finally {
    if (cancelTimer) clearTimeout(cancelTimer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  }

  if (!final) throw new DicomNetworkError('aborted', `${peer.aeTitle} ended the association without a final ${what} response`);
  // The final response's counters win; a Success response may omit them (PS3.4 C.4.2.1.6),
  // then the last pending response plus its remaining count tells what was done.
  const fc = final.counters;
  const result: MoveResult = {
    status: 'failure',
    dimseStatus: final.status,
    errorComment: final.errorComment,
    remaining: fc.remaining ?? 0,
    completed: fc.completed ?? progress.completed + (final.status === S.Success ? progress.remaining : 0),
    failed: fc.failed ?? progress.failed,
    warnings: fc.warnings ?? progress.warnings,
  };
  if (final.status === S.Success) result.status = 'success';
  else if (final.status === S.Cancel) result.status = 'cancelled';
  else if ((final.status & 0xf000) === 0xb000) result.status = 'warning';
  return result;
}

// ---------------------------------------------------------------------------------------------
// C-GET

/** Where C-GET hands each instance (lib/receive/sink.ts InstanceSink fits). */
export interface GetSink {
  open(meta: { part10: false; transferSyntaxUid: string; sopClassUid: string; sopInstanceUid: string; onPressure?: (high: boolean) => void }): {
    stream: Writable;
    done(): Promise<{ status: number; comment?: string }>;
    abandon(): void;
  };
}

/** The refusal of a C-GET at association time: a configuration matter, not an outage. */
export class DicomRetrieveRefusedError extends DicomNetworkError {
  constructor(message: string) {
    super('association-rejected', message);
    this.name = 'DicomRetrieveRefusedError';
  }
}

/** Presentation contexts in one association: IDs are odd numbers 1-255. */
export const MAX_PRESENTATION_CONTEXTS = 128;

/**
 * Storage SOP classes proposed when the study's own are unknown (the PACS could not list them):
 * the common image, document and structured-report classes.
 */
export const COMMON_STORAGE_CLASSES: readonly string[] = [
  '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.2.1', '1.2.840.10008.5.1.4.1.1.4', '1.2.840.10008.5.1.4.1.1.4.1',
  '1.2.840.10008.5.1.4.1.1.1', '1.2.840.10008.5.1.4.1.1.1.1', '1.2.840.10008.5.1.4.1.1.1.2', '1.2.840.10008.5.1.4.1.1.1.3',
  '1.2.840.10008.5.1.4.1.1.6.1', '1.2.840.10008.5.1.4.1.1.3.1', '1.2.840.10008.5.1.4.1.1.7', '1.2.840.10008.5.1.4.1.1.7.1',
  '1.2.840.10008.5.1.4.1.1.7.2', '1.2.840.10008.5.1.4.1.1.7.3', '1.2.840.10008.5.1.4.1.1.7.4', '1.2.840.10008.5.1.4.1.1.12.1',
  '1.2.840.10008.5.1.4.1.1.12.2', '1.2.840.10008.5.1.4.1.1.20', '1.2.840.10008.5.1.4.1.1.128', '1.2.840.10008.5.1.4.1.1.130',
  '1.2.840.10008.5.1.4.1.1.481.1', '1.2.840.10008.5.1.4.1.1.481.2', '1.2.840.10008.5.1.4.1.1.481.3', '1.2.840.10008.5.1.4.1.1.481.5',
  '1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.88.22', '1.2.840.10008.5.1.4.1.1.88.33', '1.2.840.10008.5.1.4.1.1.88.67',
  '1.2.840.10008.5.1.4.1.1.104.1', '1.2.840.10008.5.1.4.1.1.66', '1.2.840.10008.5.1.4.1.1.66.4', '1.2.840.10008.5.1.4.1.1.11.1',
  '1.2.840.10008.5.1.4.1.1.77.1.4', '1.2.840.10008.5.1.4.1.1.13.1.3',
];

/**
 * The storage presentation contexts of a C-GET (SCP role for us): per SOP class one context
 * with both uncompressed syntaxes, then, as far as the association's limit allows, one context
 * per compressed syntax (so the PACS can send each object as it stores it). Classes beyond the
 * limit are not proposed (their sub-operations fail and a retry asks for them again).
 */
export function getStorageContexts(sopClassUids: readonly string[], transferSyntaxes: readonly string[]): Array<{ abstract: string; syntaxes: string[] }> {
  const budget = MAX_PRESENTATION_CONTEXTS - 1; // one for the GET itself
  const classes = [...new Set(sopClassUids)].slice(0, budget);
  const uncompressed: string[] = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian];
  const compressed = transferSyntaxes.filter((t) => !uncompressed.includes(t));
  const out = classes.map((abstract) => ({ abstract, syntaxes: uncompressed }));
  const perClass = classes.length ? Math.floor((budget - classes.length) / classes.length) : 0;
  for (const abstract of classes) for (const ts of compressed.slice(0, perClass)) out.push({ abstract, syntaxes: [ts] });
  return out;
}

function getRequest(t: MoveTarget) {
  const uids = [t.studyInstanceUid, t.seriesInstanceUid, ...(t.sopInstanceUids ?? [])].filter((u): u is string => u !== undefined);
  if (!t.studyInstanceUid || uids.some((u) => !u || /[*?\\]/.test(u))) throw new DicomQueryError('C-GET needs exact UIDs');
  let req: InstanceType<typeof requests.CGetRequest>;
  if (t.sopInstanceUids && t.sopInstanceUids.length > 0) {
    if (!t.seriesInstanceUid) throw new DicomQueryError('An instance-level C-GET needs the SeriesInstanceUID');
    req = requests.CGetRequest.createImageGetRequest(t.studyInstanceUid, t.seriesInstanceUid, t.sopInstanceUids.length === 1 ? t.sopInstanceUids[0] : '');
    if (t.sopInstanceUids.length > 1) {
      req.setDataset(new Dataset({ QueryRetrieveLevel: 'IMAGE', StudyInstanceUID: t.studyInstanceUid, SeriesInstanceUID: t.seriesInstanceUid, SOPInstanceUID: t.sopInstanceUids }));
    }
  } else if (t.seriesInstanceUid) req = requests.CGetRequest.createSeriesGetRequest(t.studyInstanceUid, t.seriesInstanceUid);
  else req = requests.CGetRequest.createStudyGetRequest(t.studyInstanceUid);
  // Our own storage contexts (the study's classes), not dcmjs-dimse's list of every class.
  req.setAddStorageSopClassesToAssociation(false);
  return req;
}

const GET_MODEL = constants.SopClass.StudyRootQueryRetrieveInformationModelGet;
const ACCEPT = constants.PresentationContextResult.Accept;

/**
 * C-GET a study, a series or some instances of one series: the PACS sends each instance back on
 * this association as a C-STORE sub-operation, which is streamed into `opts.sink` (bounded
 * memory: the socket pauses while the disk catches up) and answered with the sink's status.
 * Counters, cancel and errors as for move(). A PACS that refuses the GET presentation context, or
 * every storage context, rejects with DicomRetrieveRefusedError (a configuration matter).
 */
export async function get(
  peer: DicomPeer,
  callingAe: string,
  target: MoveTarget,
  opts: ScuOptions & { onProgress?: (p: MoveProgress) => void; signal?: AbortSignal; sink: GetSink; sopClassUids: readonly string[]; transferSyntaxes?: readonly string[] },
): Promise<MoveResult> {
  const req = getRequest(target);
  const classes = opts.sopClassUids.length ? opts.sopClassUids : COMMON_STORAGE_CLASSES;
  const contexts = getStorageContexts(classes, opts.transferSyntaxes ?? []);
  const storageAbstracts = new Set(contexts.map((c) => c.abstract));
  const where = `${peer.aeTitle} at ${peer.host}:${peer.port}`;
  type Open = ReturnType<GetSink['open']>;
  const opened = new WeakMap<Writable, { handle: Open; request: unknown }>();
  const outcomes = new WeakMap<object, { status: number; comment?: string }>();
  const contextOf = new WeakMap<object, number>();
  let received = 0;
  let refusedStores = 0;

  let answered = false;
  req.on('response', () => void (answered = true));
  const run = runRetrieveRequest(peer, callingAe, req, 'C-GET', opts, {
    onNetwork: (net, client) => {
      const sendAssociationRequest = net.sendAssociationRequest.bind(net);
      net.sendAssociationRequest = (assoc) => {
        // Add our storage contexts with SCU/SCP role selection: we are the storage SCP here.
        const a = assoc as AssociationLike & { addPresentationContext(abstract: string): number; addTransferSyntaxToPresentationContext(id: number, ts: string): void };
        for (const c of contexts) {
          const id = a.addPresentationContext(c.abstract);
          for (const ts of c.syntaxes) a.addTransferSyntaxToPresentationContext(id, ts);
          const pc = a.getPresentationContext(id);
          pc.setUserRole(false);
          pc.setProviderRole(true);
        }
        sendAssociationRequest(assoc);
      };
      let paused = false;
      const pressure = (high: boolean) => {
        if (high && !paused) {
          paused = true;
          net.socket.pause();
        } else if (!high && paused) {
          paused = false;
          net.socket.resume();
        }
      };
      net.createStoreWritableStream = (pc, request) => {
        const r = request as { getAffectedSopInstanceUid(): string; getAffectedSopClassUid(): string };
        const handle = opts.sink.open({
          part10: false,
          transferSyntaxUid: pc.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian,
          sopClassUid: String(r.getAffectedSopClassUid() ?? '').trim(),
          sopInstanceUid: String(r.getAffectedSopInstanceUid() ?? '').trim(),
          onPressure: pressure,
        });
        opened.set(handle.stream, { handle, request });
        return handle.stream;
      };
      net.createDatasetFromStoreWritableStream = (writable, pc, callback) => {
        const o = opened.get(writable);
        if (o) contextOf.set(o.request as object, pc.getPresentationContextId());
        const deliver = () => callback(new Dataset({}, pc.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian));
        if (!o) return deliver();
        o.handle
          .done()
          .then(
            (outcome) => outcomes.set(o.request as object, outcome),
            () => outcomes.set(o.request as object, { status: 0x0110 }),
          )
          .finally(() => {
            try {
              deliver();
            } catch {
              net.socket.destroy();
            }
          });
      };
      client.on('cStoreRequest', (request: unknown, callback: (rsp: unknown) => void) => {
        const outcome = outcomes.get(request as object) ?? { status: 0x0110, comment: 'Not received' };
        received++;
        if (outcome.status !== S.Success) refusedStores++;
        const pcId = contextOf.get(request as object);
        const req = request as InstanceType<typeof requests.CStoreRequest>;
        if (pcId !== undefined) {
          // The SCP's fast path (lib/dicom/scp.ts storeResponsePdu): our own C-STORE-RSP encoding
          // instead of dcmjs-dimse's dcmjs round trip for every sub-operation.
          net.socket.write(
            storeResponsePdu(pcId, {
              messageId: Number(req.getMessageId()),
              sopClassUid: String(req.getAffectedSopClassUid() ?? ''),
              sopInstanceUid: String(req.getAffectedSopInstanceUid() ?? ''),
              status: outcome.status,
              errorComment: outcome.comment,
            }),
          );
          return;
        }
        const rsp = responses.CStoreResponse.fromRequest(req);
        rsp.setStatus(outcome.status);
        if (outcome.comment) rsp.setErrorComment(outcome.comment.slice(0, 64));
        callback(rsp);
      });
    },
    checkAccepted: (assoc) => {
      const pcs = assoc.getPresentationContexts().map(({ id }) => assoc.getPresentationContext(id));
      const getOk = pcs.some((pc) => pc.getAbstractSyntaxUid() === GET_MODEL && pc.getResult() === ACCEPT);
      if (!getOk)
        return new DicomRetrieveRefusedError(`${where} does not accept C-GET (it refused the Study Root Query/Retrieve GET presentation context): ask its administrator to allow C-GET for ${callingAe}, or use C-MOVE`);
      const storageOk = pcs.some((pc) => storageAbstracts.has(pc.getAbstractSyntaxUid()) && pc.getResult() === ACCEPT);
      if (!storageOk)
        return new DicomRetrieveRefusedError(`${where} accepts C-GET but none of the study's storage SOP classes with us as storage SCP: it cannot send the images back on the association`);
      return undefined;
    },
  });
  let result: MoveResult;
  try {
    result = await run;
  } catch (err) {
    // A PACS that does not allow C-GET for this AE often accepts the association and then
    // aborts at the C-GET request without a word (Orthanc does). If it still answers C-ECHO
    // right after, the abort was its refusal, not an outage: say so instead of retrying.
    if (err instanceof DicomNetworkError && err.reason === 'aborted' && !answered && received === 0 && !opts.signal?.aborted) {
      const alive = await echo(peer, callingAe, { timeoutMs: 5_000, connectTimeoutMs: 5_000 }).then(() => true, () => false);
      if (alive)
        throw new DicomRetrieveRefusedError(`${where} answers C-ECHO but aborted the C-GET without answering: it does not allow C-GET for ${callingAe}`);
    }
    throw err;
  }
  log.info('get done', { calledAe: peer.aeTitle, callingAe, status: hex4(result.dimseStatus), completed: result.completed, failed: result.failed, warnings: result.warnings, received, refused: refusedStores });
  return result;
}

// ---------------------------------------------------------------------------------------------
// C-STORE

/**
 * A Dataset that sends a Part-10 file's dataset bytes exactly as they are on disk, instead of
 * dcmjs-dimse's parse-and-re-encode (which drops or alters private tags and costs a full
 * parse). Only if the peer accepts a different transfer syntax does dcmjs-dimse's transcoder
 * ask for the elements; then, and only then, the file is parsed.
 */
class RawFileDataset extends Dataset {
  private full?: Record<string, unknown>;

  constructor(
    private readonly file: string,
    private readonly datasetOffset: number,
    sopClassUid: string,
    sopInstanceUid: string,
    transferSyntaxUid: string,
  ) {
    super({ SOPClassUID: sopClassUid, SOPInstanceUID: sopInstanceUid }, transferSyntaxUid);
  }

  override getDenaturalizedDataset(): Buffer {
    const buf = fs.readFileSync(this.file);
    return buf.subarray(this.datasetOffset);
  }

  override getElements(): Record<string, unknown> {
    if (!this.full) {
      const parsed = Dataset.fromFile(this.file) as InstanceType<typeof Dataset> | undefined;
      this.full = parsed?.getElements() ?? {};
    }
    return this.full;
  }
}

/** C-STORE the given Part-10 files over one association. Files that cannot be read count as failed. */
export async function store(
  peer: DicomPeer,
  callingAe: string,
  files: string[],
  opts: ScuOptions & { onStored?: (file: string, status: number) => void } = {},
): Promise<{ stored: number; failed: number }> {
  let stored = 0;
  let failed = 0;
  const reqs: Request[] = [];
  const contexts = new Map<string, [string, string]>();
  for (const file of files) {
    try {
      const meta = readPart10Header(file);
      const ids = readInstanceIds(file);
      const sopClassUid = ids.sopClassUid ?? meta.mediaStorageSopClassUid;
      const sopInstanceUid = ids.sopInstanceUid ?? meta.mediaStorageSopInstanceUid;
      if (!sopClassUid || !sopInstanceUid) throw new Error('no SOP class or instance UID');
      const ds = new RawFileDataset(file, meta.datasetOffset, sopClassUid, sopInstanceUid, meta.transferSyntaxUid);
      const req = new requests.CStoreRequest(ds);
      req.on('response', (rsp: AnyResponse) => {
        const st = statusOf(rsp);
        // Warnings (Bxxx) mean stored with coercion or similar: the object is there.
        if (st === S.Success || (st & 0xf000) === 0xb000) stored++;
        else failed++;
        opts.onStored?.(file, st);
      });
      reqs.push(req as unknown as Request);
      // Propose the file's own transfer syntax alone, so the peer can take the bytes as they are.
      if (meta.transferSyntaxUid === TransferSyntax.ExplicitVRLittleEndian || meta.transferSyntaxUid === TransferSyntax.ImplicitVRLittleEndian) {
        contexts.set(`${sopClassUid}|${meta.transferSyntaxUid}`, [sopClassUid, meta.transferSyntaxUid]);
      }
    } catch {
      failed++;
    }
  }
  if (reqs.length === 0) return { stored, failed };
  const before = stored + failed;
  await runAssociation(peer, callingAe, reqs, { ...opts, defaultTimeoutMs: 600_000, extraContexts: [...contexts.values()] });
  // Requests the peer never answered (no accepted presentation context) are failures too.
  failed += reqs.length - (stored + failed - before);
  log.info('store done', { calledAe: peer.aeTitle, callingAe, stored, failed });
  return { stored, failed };
}
