/**
 * Tributary's DICOM SCP (C-ECHO, C-STORE), hosted by the worker. One port; the called AE title
 * selects the receiving pool.
 *
 * Received objects are streamed straight to disk, byte for byte as they came off the wire,
 * behind a Part-10 meta header built from the command's SOP UIDs and the accepted transfer
 * syntax. dcmjs-dimse's default C-STORE path buffers the whole object in memory, parses it
 * with dcmjs and hands over a re-encodable dataset: that drops private tags (and their VRs),
 * costs a full parse per instance and holds each object in memory. Here memory per association
 * stays bounded (the socket is paused while the disk catches up) and the file is exactly what
 * the sender sent.
 *
 * Life of one C-STORE:
 *   1. createStoreWritableStream: take the association's spare file, created (exclusively) in
 *      <stagingDir>/.incoming while the previous object was still coming (a create costs up to a
 *      millisecond on our disks: off the C-STORE's path this way), start creating the next one,
 *      write the meta header, then every dataset fragment as it arrives. The study UID is not in
 *      the C-STORE command, hence the temp folder.
 *   2. createDatasetFromStoreWritableStream: once the last fragment is written, walk the element
 *      stream (lib/dicom/walker: headers only, pixel data skipped by length) to check structure,
 *      SOP class/instance UIDs against the command, and find the study and series UIDs.
 *   3. Rename to <stagingDir>/<studyUid>/<sopInstanceUid>.dcm, call hooks.onStored, answer
 *      Success. Any failure removes the file and answers a failure status; the association and
 *      the SCP go on serving.
 * File names hold UIDs only (checked to be digits and dots), never PHI. Logs hold AE titles,
 * peer addresses, counts and status codes.
 *
 * Who may call: the isCallingAeAllowed hook judges the calling AE title together with the peer
 * address (an AE title alone is only a claim); every refusal is logged with both AE titles, the
 * peer address and a reason code, and answered with A-ASSOCIATE-RJ (permanent, service user,
 * "calling AE title not recognized"; "called AE title not recognized" for an unknown pool). The
 * devices the caller was identified as travel with every stored object (StoredInfo) for routing.
 *
 * DICOM TLS: the worker starts a second SCP with `tls` (DICOM_TLS_PORT). The handshake asks for
 * a client certificate without requiring one; the hook gets the transport (DicomTransport: TLS or
 * not, the peer's certificate, whether it verified against DICOM_TLS_CA) and decides per device
 * (lib/devices/tls.ts). Failed handshakes are logged with the peer address and OpenSSL's code.
 *
 * Throughput (bench/receive): the staging file is created ahead of its object and written on the
 * event loop as PDUs arrive (StagingStream.writeMode), the C-STORE-RSP is
 * encoded here rather than through dcmjs-dimse's dcmjs round trip, PDUs are framed with one copy
 * per byte (lib/dicom/pdu-framer.ts, replacing dcmjs-dimse's accumulator), we announce a 1 MB
 * max PDU, the finished file is renamed synchronously, and the production hook writes its row in
 * a group commit (lib/receive/staging.ts). Success is answered only after that commit
 * (docs/architecture.md, "What a C-STORE Success promises"). Memory: see HIGH_WATER/GLOBAL_HIGH.
 *
 * Staging layout for whoever purges it: <stagingDir>/.incoming holds only objects being
 * received, or created ahead for the next object of an association
 * (incoming.<host>-<pid>-<random>-<association>-<n>.part; C-GET/WADO-RS:
 * <sop>.<host>-<pid>-<random>-s-<n>.part). liveStagingFiles() lists what this process is writing
 * or recording right now; partOwner() tells a dead process's .part from a live one
 * (lib/receive/reconcile-staging.ts deletes the dead ones).
 */
import './patch';
import { randomBytes, type X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import type { TLSSocket } from 'node:tls';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { association, requests } from 'dcmjs-dimse';
import { dimse } from './dimse';
import { logger } from '../logger';
import { hex4 } from './errors';
import { PduFramer } from './pdu-framer';
import {
  TAG_SERIES_INSTANCE_UID, TAG_SOP_CLASS_UID, TAG_SOP_INSTANCE_UID, TAG_STUDY_INSTANCE_UID,
  buildPart10Header, datasetEncoding, inflatePrefix,
} from './part10';
import { SopClass, TransferSyntax, isSafeUid } from './uids';
import { DatasetFormatError, bufferSource, fileSource, rawString, walkDataset } from './walker';

const log = logger('dicom.scp');
const { Dataset, Scp, Server, constants, responses } = dimse;

export interface StoredInfo {
  calledAe: string;
  callingAe: string;
  poolId: string;
  path: string;
  size: number;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  transferSyntaxUid: string;
  moveOriginatorAe?: string;
  moveOriginatorMessageId?: number;
  /** The address the association came from (IPv4-mapped IPv6 as the socket reports it). */
  peerAddress: string;
  /** The registered devices the caller was identified as when the association was accepted. */
  senderDeviceIds: string[];
}

/**
 * The verdict on a caller. A refusal carries a short reason code for the log (no PHI: AE titles
 * and addresses only); an acceptance names the devices the caller was identified as, so each
 * stored object can be routed by who sent it and not only by what AE title it claimed.
 */
export type CallingDecision = { allowed: true; senderDeviceIds: string[] } | { allowed: false; reason: string };

/**
 * How the association arrived: over the plain port, or over the TLS port with (maybe) a client
 * certificate. `authorized`: Node verified that certificate against the SCP's CA file
 * (DICOM_TLS_CA); false when no CA file is configured.
 */
export type DicomTransport = { tls: false } | { tls: true; authorized: boolean; peerCertificate?: X509Certificate };

export interface ScpHooks {
  /** Unknown called AE -> null -> association rejected. */
  resolveCalledAe(calledAe: string): Promise<{ id: string; stagingDir: string } | null>;
  /**
   * May this caller (calling AE title, from this peer address) open an association to this
   * called AE? Refused -> A-ASSOCIATE-RJ "calling AE title not recognized", and a log line.
   * A bare boolean is accepted for SCPs that know no devices (tests, benchmarks): `true` then
   * identifies the caller as no device at all.
   */
  isCallingAeAllowed(callingAe: string, calledAe: string, peerAddress: string, transport: DicomTransport): Promise<boolean | CallingDecision>;
  /** Called once the file is complete and renamed; if it throws, the file is removed and the C-STORE fails. */
  onStored(info: StoredInfo): Promise<void>;
  /**
   * Storage Commitment reports (N-EVENT-REPORT, lib/exports/commitment.ts). When set, the SCP
   * accepts the Storage Commitment Push Model SOP class. A caller refused by isCallingAeAllowed
   * is still accepted when isCommitmentReporter says yes for the devices it was identified as,
   * but then only for Storage Commitment (and C-ECHO): its storage contexts are rejected.
   */
  commitment?: {
    /** Identifies the caller (AE title + address + TLS) as registered devices; refused otherwise. */
    identify(callingAe: string, peerAddress: string, transport: DicomTransport): Promise<{ deviceIds: string[] } | { refused: string }>;
    isReporter(deviceIds: string[]): Promise<boolean>;
    /** Returns the N-EVENT-REPORT-RSP status. */
    onReport(report: { eventTypeId: number; elements: Record<string, unknown> }, from: { callingAe: string; senderDeviceIds: string[] }): Promise<number>;
  };
}

/** Storage Commitment Push Model SOP Class (PS3.4 J.3). */
const STORAGE_COMMITMENT = '1.2.840.10008.1.20.1';

export interface ScpOptions {
  port: number;
  /** Address to listen on; default every interface (DICOM_BIND). */
  host?: string;
  hooks: ScpHooks;
  /** Largest PDU we announce we can receive. Default DEFAULT_MAX_PDU (1 MB). */
  maxPduLength?: number;
  /** Longest silence tolerated inside an association. Default 5 min. */
  pduTimeoutMs?: number;
  /**
   * Listen with DICOM TLS (PEM strings). A client certificate is asked for but not required by
   * the handshake: the isCallingAeAllowed hook decides per device (DicomTransport).
   */
  tls?: { cert: string; key: string; ca?: string };
}

export interface RunningScp {
  port: number;
  close(): Promise<void>;
}

/** Transfer syntaxes we store untouched, in order of preference when several are offered. */
export const ACCEPTED_TRANSFER_SYNTAXES: readonly string[] = [
  TransferSyntax.ExplicitVRLittleEndian,
  TransferSyntax.ImplicitVRLittleEndian,
  TransferSyntax.JpegLosslessSv1,
  TransferSyntax.JpegLossless,
  TransferSyntax.JpegBaseline,
  TransferSyntax.JpegExtended,
  TransferSyntax.JpegLsLossless,
  TransferSyntax.JpegLsNearLossless,
  TransferSyntax.Jpeg2000Lossless,
  TransferSyntax.Jpeg2000,
  TransferSyntax.HtJpeg2000Lossless,
  TransferSyntax.HtJpeg2000LosslessRpcl,
  TransferSyntax.HtJpeg2000,
  TransferSyntax.JpegXlLossless,
  TransferSyntax.JpegXlJpegRecompression,
  TransferSyntax.JpegXl,
  TransferSyntax.RleLossless,
  // MPEG-2, MPEG-4 and HEVC video: encapsulated like the rest, stored as is.
  '1.2.840.10008.1.2.4.100', '1.2.840.10008.1.2.4.101', '1.2.840.10008.1.2.4.102', '1.2.840.10008.1.2.4.103',
  '1.2.840.10008.1.2.4.104', '1.2.840.10008.1.2.4.105', '1.2.840.10008.1.2.4.106', '1.2.840.10008.1.2.4.107',
  '1.2.840.10008.1.2.4.108',
  TransferSyntax.DeflatedExplicitVRLittleEndian,
  TransferSyntax.ExplicitVRBigEndian,
];

const STORAGE_CLASSES = new Set<string>(Object.values(constants.StorageClass as unknown as Record<string, string>));

/** Storage SOP classes: the standard ones, anything under the storage arc, and private classes. */
export function isStorageSopClass(uid: string): boolean {
  if (STORAGE_CLASSES.has(uid)) return true;
  if (uid.startsWith('1.2.840.10008.5.1.4.1.1.')) return true;
  // Vendor SOP classes (e.g. Siemens CSA Non-Image) live outside the DICOM root.
  return !uid.startsWith('1.2.840.10008.') && isSafeUid(uid);
}

// C-STORE status codes we answer with (PS3.4 Annex B.2.3).
const STATUS_SUCCESS = 0x0000;
const STATUS_OUT_OF_RESOURCES = 0xa700;
const STATUS_SOP_CLASS_MISMATCH = 0xa900;
const STATUS_CANNOT_UNDERSTAND = 0xc000;
const STATUS_PROCESSING_FAILURE = 0x0110;
/** The C-STORE statuses above, for receivers on our own connection (lib/receive/sink.ts). */
export const StoreStatus = {
  Success: STATUS_SUCCESS,
  OutOfResources: STATUS_OUT_OF_RESOURCES,
  SopClassMismatch: STATUS_SOP_CLASS_MISMATCH,
  CannotUnderstand: STATUS_CANNOT_UNDERSTAND,
  ProcessingFailure: STATUS_PROCESSING_FAILURE,
} as const;

/** Keep this many leading bytes of each object in memory: the header elements live there. */
const PREFIX_BYTES = 64 * 1024;
/** Pause the socket above this much unwritten data of one object, resume below the low mark. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 2 * 1024 * 1024;
/**
 * The same across every association of the process: 100 associations each just under HIGH_WATER
 * would otherwise hold 800 MB while the disk catches up. Above GLOBAL_HIGH every association that
 * writes pauses; all resume once the total is below GLOBAL_LOW.
 */
const GLOBAL_HIGH = 64 * 1024 * 1024;
const GLOBAL_LOW = 32 * 1024 * 1024;
let unwrittenTotal = 0;
/** Paused associations waiting for the process-wide total to fall (see GLOBAL_HIGH). */
const globalWaiters = new Set<() => void>();
function release(n: number) {
  unwrittenTotal -= n;
  if (unwrittenTotal < GLOBAL_LOW && globalWaiters.size) for (const w of [...globalWaiters]) w();
}
/** Bytes received and not yet on disk, across every staging stream of this process. */
export function unwrittenStagingBytes(): number {
  return unwrittenTotal;
}

type CStoreRequest = InstanceType<typeof requests.CStoreRequest>;
type CStoreResponse = InstanceType<typeof responses.CStoreResponse>;
type PresentationContext = InstanceType<typeof association.PresentationContext>;
type Association = InstanceType<typeof association.Association>;

interface Outcome {
  status: number;
  comment?: string;
}

/**
 * A staging file created ahead of the object that will be written into it (see TributaryScp.spare):
 * `fd` or `error` once the open has settled, `ready` until then.
 */
export interface PreopenedFile {
  path: string;
  fd?: number;
  error?: Error;
  ready: Promise<number>;
}

/** Starts creating `file` (exclusively); settles the returned PreopenedFile when done. */
export function preopenStagingFile(file: string): PreopenedFile {
  const p: PreopenedFile = {
    path: file,
    ready: new Promise<number>((resolve, reject) =>
      fs.open(file, 'wx+', 0o640, (err, fd) => {
        if (err) {
          p.error = err;
          reject(err);
        } else {
          p.fd = fd;
          resolve(fd);
        }
      }),
    ),
  };
  // Rejections are read through `error` / the stream that takes the file.
  p.ready.catch(() => undefined);
  return p;
}

/**
 * Streams one received object to a temp file. write() never reports backpressure to
 * dcmjs-dimse: its drain handling can let the next PDU be processed before the current one
 * finished. Backpressure is applied to the socket instead (onPressure). The file is opened
 * asynchronously (_construct): creating a file costs 0.2-1 ms on our VMs' ext4 (measured: open
 * with O_CREAT 0.45-0.75 ms median, against 6 us on tmpfs), so it must not block the event loop,
 * and the SCP creates it ahead of the object (`preopened`, see TributaryScp.spare) so that the
 * object's data is not held back waiting for it.
 * Exported for the regression test of its descriptor handling (tests/integration/fuzz/scp.test.ts).
 */
export class StagingStream extends Writable {
  private fd: number | undefined;
  readonly headerLength: number;
  /** Bytes written to the file so far (header included). */
  bytes = 0;
  private readonly prefix: Buffer[] = [];
  private prefixLength = 0;
  /** Remove the temp file when the stream is destroyed (association gone mid-object). */
  removeOnDestroy = false;

  constructor(
    readonly tempPath: string,
    header: Buffer,
    private readonly onPressure: (high: boolean) => void,
    /** `tempPath` already created (exclusively) by the caller; this stream owns its descriptor from now on. */
    private readonly preopened?: PreopenedFile,
  ) {
    // autoDestroy off: the descriptor must outlive 'finish' for validation; we close it ourselves.
    super({ highWaterMark: 1024 * 1024 * 1024, decodeStrings: false, autoDestroy: false });
    liveFiles.add(tempPath);
    this.headerLength = header.length;
    this.accounted += header.length;
    unwrittenTotal += header.length;
    super.write(header);
  }

  /** Bytes handed to this stream and not yet written (counted in unwrittenTotal). */
  private accounted = 0;

  /** Over a memory mark (this object's or the process's): the caller should pause its source. */
  get overHigh(): boolean {
    return this.accounted > HIGH_WATER || unwrittenTotal > GLOBAL_HIGH;
  }

  /** Under both low marks: the caller may resume its source. */
  get underLow(): boolean {
    return this.accounted < LOW_WATER && unwrittenTotal < GLOBAL_LOW;
  }

  /** Set when the object was given up before its file was open (see closeFd). */
  private abandoned = false;

  override _construct(callback: (error?: Error | null) => void): void {
    const opened = (err: Error | null, fd: number) => {
      if (err) return callback(err);
      if (this.abandoned) {
        // Refused (e.g. a write after the end) before the open finished: the refusal already
        // removed the path, so close and remove what the open just created.
        fs.close(fd, () => fs.rm(this.tempPath, { force: true }, () => callback(new Error('staging file abandoned'))));
        return;
      }
      this.fd = fd;
      callback();
    };
    const pre = this.preopened;
    // Already open: at once, as an fs.open callback would (before any promise continuation of the
    // caller can run, e.g. a failure path closing the descriptor).
    if (pre?.fd !== undefined) opened(null, pre.fd);
    else if (pre?.error) opened(pre.error, -1);
    else if (pre) pre.ready.then((fd) => opened(null, fd), (err: Error) => opened(err, -1));
    else fs.open(this.tempPath, 'wx+', 0o640, opened);
  }

  private keep(chunk: Buffer) {
    if (this.prefixLength >= PREFIX_BYTES) return;
    const part = chunk.subarray(0, PREFIX_BYTES - this.prefixLength);
    this.prefix.push(Buffer.from(part));
    this.prefixLength += part.length;
  }

  override write(
    chunk: Buffer,
    encOrCb?: BufferEncoding | ((error: Error | null | undefined) => void),
    cb?: (error: Error | null | undefined) => void,
  ): boolean {
    // Our own backpressure signal (see class comment), then always "keep writing".
    // A stream that failed or ended takes nothing (Writable refuses the chunk): nothing to count.
    const refused = this.errored !== null || this.writableEnded || this.destroyed;
    if (typeof encOrCb === 'function') super.write(chunk, encOrCb);
    else if (encOrCb) super.write(chunk, encOrCb, cb);
    else super.write(chunk, cb);
    if (refused) return true;
    this.accounted += chunk.length;
    unwrittenTotal += chunk.length;
    if (this.overHigh) this.onPressure(true);
    return true;
  }

  /** Bytes handed to the file so far (header included): where the next write goes. */
  private queued = 0;
  /** Thread-pool writes not finished yet. */
  private inFlight = 0;
  /** The first write that failed; reported by _final (or by the next write). */
  private writeError: Error | null = null;
  /** _final waiting for the writes in flight. */
  private onIdle: (() => void) | undefined;
  /** closeFd() was called: no write is issued any more; the descriptor closes once none is in flight. */
  private closing = false;

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const bufs = chunks.map((c) => c.chunk);
    for (const b of bufs) this.keep(b);
    const total = bufs.reduce((n, b) => n + b.length, 0);
    // Given up (a failure path closed the file) while data was still queued: nothing more is written.
    if (this.closing || this.fd === undefined) return callback(new Error('staging file closed'));
    if (this.writeError) return callback(this.writeError);
    const position = this.queued;
    this.queued += total;
    this.inFlight++;
    const done = (err: Error | null) => {
      this.inFlight--;
      if (err) this.writeError ??= err;
      else this.bytes += total;
      // Once destroyed, _destroy has released everything still counted.
      if (!this.destroyed) {
        this.accounted -= total;
        release(total);
        if (this.underLow) this.onPressure(false);
      }
      if (this.inFlight === 0) this.idle();
    };
    const mode = StagingStream.writeMode;
    if (mode === 'async' || (mode === 'auto' && performance.now() < asyncWritesUntil)) {
      // One write at a time: the PDUs that arrive meanwhile go together in the next one. (Issuing
      // each at once at its own position was slower in bench/receive, 0.31-0.51x against
      // 0.64-0.66x: more pool threads to wake on 2 cores.)
      writeAll(this.fd, bufs, position, (e) => {
        done(e);
        callback(e);
      });
      return;
    }
    let err: Error | null = null;
    const t0 = performance.now();
    try {
      writeAllSync(this.fd, bufs, position);
    } catch (e) {
      err = e as Error;
    }
    const took = performance.now() - t0;
    if (mode === 'auto' && took > SLOW_SYNC_WRITE_MS) {
      asyncWritesUntil = performance.now() + ASYNC_WRITES_FOR_MS;
      log.info('slow staging write: writing through the thread pool for a while', { ms: Math.round(took), seconds: ASYNC_WRITES_FOR_MS / 1000 });
    }
    done(err);
    callback(err);
  }

  /** Every write issued has finished: the end of the object, or a deferred close, may go on. */
  private idle() {
    const f = this.onIdle;
    this.onIdle = undefined;
    f?.();
    if (this.closing) this.closeNow();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.inFlight === 0) return callback(this.writeError);
    this.onIdle = () => callback(this.writeError);
  }

  /**
   * How each PDU's data reaches the file:
   * - 'sync': written on the event loop as it is parsed, like storescp: 0.14-0.19 ms median from
   *   the last PDU to the answer (bench/receive/trace.ts), and no pool thread to wake on each PDU;
   *   each 128 KB write blocks the event loop for 0.05-0.2 ms.
   * - 'async': through the libuv thread pool, one write at a time, the PDUs that arrive meanwhile
   *   batched into the next (issuing each at once at its own position was slower: more threads to
   *   wake on 2 cores). After the last PDU the answer waits for the write in flight and the last
   *   one: 0.3-0.45 ms median.
   * - 'auto' (default): 'sync', but a write slower than SLOW_SYNC_WRITE_MS switches the process to
   *   'async' for ASYNC_WRITES_FOR_MS. Such a write is the kernel throttling a writer that dirties
   *   pages faster than the disk takes them (or a failing disk): on the event loop it stalls every
   *   association of the process, its C-ECHOs and the worker's other work while it lasts, so at
   *   most one write per period does; in the pool it stalls only the objects waiting for it.
   * bench/receive, same runs, load 1.7-3: event loop 0.68-0.87x of storescp, pool 0.43-0.52x
   * (every round of both runs); under load 4-5 the event loop won every run as well.
   */
  static writeMode: 'auto' | 'sync' | 'async' = 'auto';

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Whatever was never written is no longer held.
    release(this.accounted);
    this.accounted = 0;
    this.closeFd();
    if (this.removeOnDestroy) {
      fs.rm(this.tempPath, { force: true }, () => {
        liveFiles.delete(this.tempPath);
        callback(err);
      });
    } else callback(err);
  }

  /** The open descriptor, once the stream has finished. */
  get descriptor(): number {
    if (this.fd === undefined) throw new Error('staging file not open');
    return this.fd;
  }

  /**
   * No more writes; the descriptor is closed now, or (a failure path while writes are still in a
   * pool thread) as soon as the last of them has finished: closing it under them could let its
   * number be reused by another open and their data land in that file.
   */
  closeFd() {
    if (this.fd === undefined) {
      this.abandoned = true;
      return;
    }
    this.closing = true;
    if (this.inFlight === 0) this.closeNow();
  }

  private closeNow() {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
  }

  prefixBuffer(): Buffer {
    return Buffer.concat(this.prefix);
  }
}

/** A synchronous staging write slower than this switches the process to pool writes for a while (StagingStream.writeMode). */
const SLOW_SYNC_WRITE_MS = 20;
const ASYNC_WRITES_FOR_MS = 10_000;
let asyncWritesUntil = 0;

function writeAllSync(fd: number, bufs: Buffer[], position: number) {
  let rest = bufs;
  let pos = position;
  while (rest.length) {
    const total = rest.reduce((n, b) => n + b.length, 0);
    const written = fs.writevSync(fd, rest, pos);
    if (written === total) return;
    pos += written;
    let skip = written;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      next.push(b.subarray(skip));
      skip = 0;
    }
    rest = next;
  }
}

function writeAll(fd: number, bufs: Buffer[], position: number, done: (err: Error | null) => void) {
  fs.writev(fd, bufs, position, (err, written) => {
    if (err) return done(err);
    const total = bufs.reduce((n, b) => n + b.length, 0);
    if (written === total) return done(null);
    // Short write: continue with what is left.
    let skip = written;
    const rest: Buffer[] = [];
    for (const b of bufs) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(b.subarray(skip));
      skip = 0;
    }
    writeAll(fd, rest, position + written, done);
  });
}

/**
 * Renames a finished .part file to its place, synchronously: a rename within one file system is a
 * metadata update of a few microseconds, while the thread-pool round trip of an asynchronous one
 * (and of the mkdir before it) costs a wake-up of a pool thread and of the event loop, each a
 * scheduler slice on a loaded machine, on the critical path of every C-STORE (the sender waits
 * for our answer before sending the next object). The study folder is created only when the
 * rename says it is missing (the staging timer prunes empty folders at any time).
 */
function moveIntoPlace(tempPath: string, finalPath: string, dir: string) {
  try {
    fs.renameSync(tempPath, finalPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(tempPath)) throw e;
    fs.mkdirSync(dir, { recursive: true });
    fs.renameSync(tempPath, finalPath);
  }
}

let associationSerial = 0;
/** This host (letters and digits only), for the names of our .part files. */
const HOST_TAG = os.hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 32) || 'host';
/** <host>-<pid>-<random>: tells whose .part file it is (see partOwner). */
const TEMP_PREFIX = `${HOST_TAG}-${process.pid}-${randomBytes(4).toString('hex')}`;

/**
 * Staging files this process is writing or recording right now: every .part file from its open
 * to its removal or rename, and the renamed file until onStored has recorded (or refused) it.
 * The staging reconciliation never deletes these.
 */
const liveFiles = new Set<string>();
export function liveStagingFiles(): ReadonlySet<string> {
  return liveFiles;
}

/**
 * Whose .part file this is: 'self' (this process: alive exactly while in liveStagingFiles),
 * 'dead' (an earlier process on this host: its pid is gone or is now ours), or 'unknown' (another
 * host or another naming: only its age can tell).
 */
export function partOwner(fileName: string): 'self' | 'dead' | 'unknown' {
  if (!fileName.endsWith('.part')) return 'unknown';
  const tag = fileName.slice(0, -'.part'.length).split('.').pop() ?? '';
  const [host, pidText, rand] = tag.split('-');
  if (`${host}-${pidText}-${rand}` === TEMP_PREFIX) return 'self';
  if (host !== HOST_TAG || !/^\d+$/.test(pidText ?? '')) return 'unknown';
  const pid = Number(pidText);
  if (pid === process.pid) return 'dead';
  try {
    process.kill(pid, 0);
    return 'unknown';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH' ? 'dead' : 'unknown';
  }
}

/**
 * A temp path in `<stagingDir>/.incoming` for an object received on our own connection (C-GET,
 * WADO-RS: lib/receive/sink.ts), named like the SCP's .part files so partOwner and the staging
 * reconciliation treat it the same way.
 */
let sinkSerial = 0;
export function stagingTempPath(dir: string, sopInstanceUid: string): string {
  const name = isSafeUid(sopInstanceUid) ? sopInstanceUid : 'object';
  return path.join(dir, '.incoming', `${name}.${TEMP_PREFIX}-s-${++sinkSerial}.part`);
}

/** Keeps a staging file out of the reconciliation's reach while it is being recorded. */
export function markLiveStagingFile(file: string, live: boolean): void {
  if (live) liveFiles.add(file);
  else liveFiles.delete(file);
}

/**
 * Walks a finished staged object (its dataset starts at `headerLength`); returns the raw values
 * of the SOP class/instance, study and series UIDs. Throws DatasetFormatError.
 */
export function validateStagedObject(stream: StagingStream, headerLength: number, ts: string): Map<number, Buffer> {
  const enc = datasetEncoding(ts);
  const wanted = [TAG_SOP_CLASS_UID, TAG_SOP_INSTANCE_UID, TAG_STUDY_INSTANCE_UID, TAG_SERIES_INSTANCE_UID];
  if (stream.bytes <= headerLength) throw new DatasetFormatError('empty dataset', headerLength);
  if (enc.deflated) {
    // A deflated stream is checked as far as its header elements; a full check would inflate it all.
    const prefix = stream.prefixBuffer().subarray(headerLength);
    let inflated: Buffer;
    try {
      inflated = inflatePrefix(prefix);
    } catch {
      throw new DatasetFormatError('deflated dataset cannot be inflated', headerLength);
    }
    return walkDataset(bufferSource(inflated), 0, { ...enc, wanted, stopAfterTag: TAG_SERIES_INSTANCE_UID }).values;
  }
  const src = fileSource(stream.descriptor, stream.bytes, stream.prefixBuffer());
  return walkDataset(src, headerLength, { ...enc, wanted }).values;
}

export { streamFinished };

/** Accepts and drops the bytes of an object we already know we will refuse. */
class DiscardStream extends Writable {
  override _write(_c: Buffer, _e: BufferEncoding, cb: () => void) {
    cb();
  }
}

interface Pending {
  stream: StagingStream | DiscardStream;
  outcome?: Outcome;
  stored?: StoredInfo;
  /** Where the object goes once valid (kept in liveStagingFiles until it is recorded). */
  finalPath?: string;
  transferSyntaxUid: string;
  presentationContextId: number;
}

function streamFinished(s: Writable): Promise<Error | undefined> {
  return new Promise((resolve) => {
    if (s.writableFinished) return resolve(undefined);
    // A write failed before the object's end (a synchronous write meets ENOSPC at once): its
    // 'error' is already past.
    if (s.errored) return resolve(s.errored);
    if (s.destroyed) return resolve(new Error('stream destroyed'));
    const onFinish = () => {
      s.off('error', onError);
      resolve(undefined);
    };
    const onError = (e: Error) => {
      s.off('finish', onFinish);
      resolve(e);
    };
    s.once('finish', onFinish);
    s.once('error', onError);
  });
}

/**
 * Replaces dcmjs-dimse's PDU accumulator on this connection with lib/dicom/pdu-framer (one copy
 * per byte instead of one per socket read). The replaced listener does exactly what ours does:
 * frame, note the time of the last PDU (its PDU timeout), process, count the bytes. Left alone
 * when dcmjs-dimse's internals do not look as expected (the SCP then works as before, slower).
 */
function installPduFramer(network: object, socket: import('node:net').Socket) {
  const net = network as unknown as {
    lastPduTime: number;
    _processPdu?: (pdu: Buffer) => Promise<void>;
    _reset?: () => void;
    statistics?: { addBytesReceived(n: number): void };
    emit(event: string, ...args: unknown[]): boolean;
  };
  const theirs = socket.listeners('data');
  if (theirs.length !== 1 || typeof net._processPdu !== 'function' || typeof net._reset !== 'function') {
    log.warn('dcmjs-dimse internals changed: its PDU accumulator is kept');
    return;
  }
  socket.removeListener('data', theirs[0] as (chunk: Buffer) => void);
  const framer = new PduFramer(
    (pdu) => {
      net.lastPduTime = Date.now();
      net._processPdu!.call(net, pdu).catch((err: unknown) => net.emit('networkError', err));
    },
    (err) => {
      net._reset!.call(net);
      net.emit('networkError', err);
    },
  );
  socket.on('data', (chunk: Buffer) => {
    framer.push(chunk);
    net.statistics?.addBytesReceived(chunk.length);
  });
}

/**
 * The largest PDU we announce (A-ASSOCIATE-AC): a sender splits each object into PDUs of at most
 * this size, and every PDU costs a round through the event loop, so large is cheaper per byte.
 * Memory per association is one PDU being assembled plus what waits for the disk (HIGH_WATER).
 */
export const DEFAULT_MAX_PDU = 1048576;

function makeScpClass(opts: ScpOptions, registry: Set<TributaryScp>) {
  const maxPdu = opts.maxPduLength ?? DEFAULT_MAX_PDU;
  return class BoundScp extends TributaryScp {
    constructor(socket: ConstructorParameters<typeof Scp>[0], netOpts: ConstructorParameters<typeof Scp>[1]) {
      super(socket, netOpts, opts.hooks, maxPdu, registry, !!opts.tls?.ca);
    }
  };
}

class TributaryScp extends Scp {
  private calledAe = '';
  private callingAe = '';
  private readonly peerAddress: string;
  private readonly transport: () => DicomTransport;
  private senderDeviceIds: string[] = [];
  /** Accepted only to deliver Storage Commitment reports: no C-STORE on this association. */
  private commitmentOnly = false;
  private pool: { id: string; stagingDir: string } | null = null;
  private readonly pending = new WeakMap<CStoreRequest, Pending>();
  private readonly requestOf = new WeakMap<Writable, CStoreRequest>();
  /**
   * Objects being received on this association whose last fragment has not arrived yet. Once it
   * has, finishStore owns the file and always leaves either a recorded file or nothing.
   */
  private readonly receiving = new Set<StagingStream>();
  private stored = 0;
  private failed = 0;
  private paused = false;
  private objects = 0;
  private readonly serial = ++associationSerial;
  /** <stagingDir>/.incoming of this association's pool (set once the association is accepted). */
  private incomingDir = '';
  /**
   * The staging file of the next object, created while the sender is still busy with the previous
   * one (or with the association): creating a file costs 0.2-1 ms on our disks, and the object's
   * data cannot be written before its file exists, so a file created when the object arrives delays
   * every byte of it and with it the C-STORE-RSP (bench/receive). One per association that may
   * store; closed and removed when the association ends.
   */
  private spare: PreopenedFile | undefined;
  private closed = false;
  private readonly sock: ConstructorParameters<typeof Scp>[0];

  constructor(
    socket: ConstructorParameters<typeof Scp>[0],
    netOpts: ConstructorParameters<typeof Scp>[1],
    private readonly hooks: ScpHooks,
    private readonly maxPdu: number,
    registry: Set<TributaryScp>,
    caConfigured = false,
  ) {
    super(socket, netOpts);
    this.sock = socket;
    // Read now: a closed socket no longer knows its peer.
    this.peerAddress = socket.remoteAddress ?? '';
    // Asked when the association request arrives: the handshake is over by then.
    this.transport = () => {
      const t = socket as TLSSocket;
      if (!t.encrypted) return { tls: false };
      return { tls: true, authorized: caConfigured && t.authorized, peerCertificate: t.getPeerX509Certificate() };
    };
    socket.setNoDelay(true);
    installPduFramer(this, socket);
    registry.add(this);
    socket.once('close', () => {
      this.closed = true;
      void this.discardSpare();
      registry.delete(this);
      globalWaiters.delete(this.retryResume);
      this.discardActive();
      if (this.pool) {
        log.info('association closed', { calledAe: this.calledAe, callingAe: this.callingAe, stored: this.stored, failed: this.failed });
      }
    });
  }

  /**
   * Drops every object of this association that is still being received (association gone or
   * aborted mid-object, or a new object begun before the last fragment of the previous one):
   * descriptor closed, .part file removed. Nothing half-written stays.
   */
  private discardActive() {
    for (const s of this.receiving) {
      s.removeOnDestroy = true;
      s.destroy();
    }
    this.receiving.clear();
  }

  /** Creates the next object's staging file in the background (see `spare`). */
  private prepareSpare() {
    if (this.closed || !this.incomingDir || this.spare) return;
    // Unique without a syscall: process, association and object counters.
    const file = path.join(this.incomingDir, `incoming.${TEMP_PREFIX}-${this.serial}-${++this.objects}.part`);
    liveFiles.add(file);
    this.spare = preopenStagingFile(file);
    // Failed: nothing was created (exclusive create); the object that takes it fails its C-STORE.
    this.spare.ready.catch(() => liveFiles.delete(file));
  }

  /** Hands the spare file to an object and starts creating the next one. */
  private takeSpare(): PreopenedFile | undefined {
    const s = this.spare;
    this.spare = undefined;
    this.prepareSpare();
    return s;
  }

  /** The association is over: its unused spare file is closed and removed (resolves once it is). */
  private discardSpare(): Promise<void> {
    const s = this.spare;
    this.spare = undefined;
    if (!s) return Promise.resolve();
    return s.ready.then(
      (fd) =>
        new Promise<void>((resolve) =>
          fs.close(fd, () =>
            fs.rm(s.path, { force: true }, () => {
              liveFiles.delete(s.path);
              resolve();
            }),
          ),
        ),
      () => undefined,
    );
  }

  private pressure = (high: boolean) => {
    if (high && !this.paused) {
      this.paused = true;
      this.sock.pause();
      globalWaiters.add(this.retryResume);
    } else if (!high && this.paused) {
      this.retryResume();
    }
  };

  /** Resumes reading once this association's object and the whole process are under their low marks. */
  private retryResume = () => {
    if (!this.paused) {
      globalWaiters.delete(this.retryResume);
      return;
    }
    for (const s of this.receiving) if (!s.underLow) return;
    if (unwrittenTotal >= GLOBAL_LOW) return;
    globalWaiters.delete(this.retryResume);
    this.paused = false;
    this.sock.resume();
  };

  override associationRequested(assoc: Association): void {
    this.negotiate(assoc).catch((err: unknown) => {
      // The logger writes errors by class and code only (a database error's message can quote values).
      log.error('association rejected', { calledAe: this.calledAe, callingAe: this.callingAe, peer: this.peerAddress, reason: 'negotiation-failed', err });
      this.reject(constants.RejectResult.Transient, constants.RejectReason.NoReasonGiven);
    });
  }

  private reject(result: number, reason: number) {
    this.sendAssociationReject(result, constants.RejectSource.ServiceUser, reason);
    this.sock.end();
  }

  private async negotiate(assoc: Association): Promise<void> {
    this.calledAe = assoc.getCalledAeTitle().trim();
    this.callingAe = assoc.getCallingAeTitle().trim();
    const refused = (reason: string, rejectReason: number) => {
      log.warn('association rejected', { calledAe: this.calledAe, callingAe: this.callingAe, peer: this.peerAddress, reason });
      this.reject(constants.RejectResult.Permanent, rejectReason);
    };
    const pool = await this.hooks.resolveCalledAe(this.calledAe);
    if (!pool) return refused('called-ae-unknown', constants.RejectReason.CalledAeNotRecognized);
    const verdict = await this.hooks.isCallingAeAllowed(this.callingAe, this.calledAe, this.peerAddress, this.transport());
    let decision: CallingDecision =
      typeof verdict === 'boolean' ? (verdict ? { allowed: true, senderDeviceIds: [] } : { allowed: false, reason: 'calling-ae-not-allowed' }) : verdict;
    const commitment = this.hooks.commitment;
    const proposesCommitment = assoc.getPresentationContexts().some(({ id }) => assoc.getPresentationContext(id).getAbstractSyntaxUid() === STORAGE_COMMITMENT);
    if (!decision.allowed && commitment && proposesCommitment) {
      // A destination device sending us its Storage Commitment report: a registered device,
      // allowed nothing but that on this association.
      const who = await commitment.identify(this.callingAe, this.peerAddress, this.transport());
      if ('deviceIds' in who && (await commitment.isReporter(who.deviceIds))) {
        decision = { allowed: true, senderDeviceIds: who.deviceIds };
        this.commitmentOnly = true;
      }
    }
    if (!decision.allowed) return refused(decision.reason, constants.RejectReason.CallingAeNotRecognized);
    this.senderDeviceIds = decision.senderDeviceIds;
    this.pool = pool;
    const incomingDir = path.join(pool.stagingDir, '.incoming');
    await fsp.mkdir(incomingDir, { recursive: true });

    let accepted = 0;
    let storage = 0;
    for (const { id } of assoc.getPresentationContexts()) {
      const pc = assoc.getPresentationContext(id);
      const abstract = pc.getAbstractSyntaxUid();
      const offered = pc.getTransferSyntaxUids();
      const verification = abstract === SopClass.Verification;
      if (abstract === STORAGE_COMMITMENT && this.hooks.commitment) {
        const ts = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian].find((t) => offered.includes(t));
        if (ts) {
          // Role selection as proposed (the report's sender acts as SCP of the SOP class): echoed.
          pc.setResult(constants.PresentationContextResult.Accept, ts);
          accepted++;
        } else pc.setResult(constants.PresentationContextResult.RejectTransferSyntaxesNotSupported);
        continue;
      }
      if (!verification && (this.commitmentOnly || !isStorageSopClass(abstract))) {
        pc.setResult(constants.PresentationContextResult.RejectAbstractSyntaxNotSupported);
        continue;
      }
      const choices = verification ? [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian] : ACCEPTED_TRANSFER_SYNTAXES;
      const ts = choices.find((t) => offered.includes(t));
      if (ts) {
        pc.setResult(constants.PresentationContextResult.Accept, ts);
        accepted++;
        if (!verification) storage++;
      } else {
        pc.setResult(constants.PresentationContextResult.RejectTransferSyntaxesNotSupported);
      }
    }
    // dcmjs-dimse announces min(peer's maximum, its global Implementation maximum) as our receive
    // limit; announcing our own maximum instead lets a peer with small receive PDUs still send us
    // large ones. The global maximum (262144 by default) also sizes what our SCU offers, so it is
    // raised only for the duration of this (synchronous) accept.
    assoc.setMaxPduLength(this.maxPdu);
    const globalMax = dimse.Implementation.getMaxPduLength();
    dimse.Implementation.setMaxPduLength(Math.max(globalMax, this.maxPdu));
    try {
      this.sendAssociationAccept();
    } finally {
      dimse.Implementation.setMaxPduLength(globalMax);
    }
    log.info('association accepted', { calledAe: this.calledAe, callingAe: this.callingAe, peer: this.peerAddress, contexts: accepted });
    if (!this.commitmentOnly && storage > 0) {
      this.incomingDir = incomingDir;
      this.prepareSpare();
    }
  }

  override associationReleaseRequested(): void {
    // The association ends: its spare staging file goes first, so that nothing of it is left on
    // disk once the peer has our answer. (Cut or aborted associations lose it on socket close.)
    this.closed = true;
    void this.discardSpare().then(() => {
      if (!this.sock.destroyed) this.sendAssociationReleaseResponse();
    });
  }

  override abort(): void {
    this.discardActive();
  }

  override nEventReportRequest(
    request: InstanceType<typeof requests.NEventReportRequest>,
    callback: (r: InstanceType<typeof responses.NEventReportResponse>) => void,
  ): void {
    const rsp = responses.NEventReportResponse.fromRequest(request);
    const commitment = this.hooks.commitment;
    const sopClass = String(request.getCommandDataset().getElement('AffectedSOPClassUID') ?? '').trim();
    if (!commitment || !this.pool || sopClass !== STORAGE_COMMITMENT) {
      rsp.setStatus(0x0110);
      callback(rsp);
      return;
    }
    const elements = (request.getDataset()?.getElements() ?? {}) as Record<string, unknown>;
    commitment
      .onReport({ eventTypeId: Number(request.getEventTypeId()), elements }, { callingAe: this.callingAe, senderDeviceIds: this.senderDeviceIds })
      .catch((err: unknown) => {
        log.error('storage commitment report failed', { calledAe: this.calledAe, callingAe: this.callingAe, err });
        return 0x0110;
      })
      .then((status) => {
        rsp.setStatus(status);
        callback(rsp);
      });
  }

  override cEchoRequest(request: InstanceType<typeof requests.CEchoRequest>, callback: (r: InstanceType<typeof responses.CEchoResponse>) => void): void {
    const rsp = responses.CEchoResponse.fromRequest(request);
    rsp.setStatus(STATUS_SUCCESS);
    callback(rsp);
  }

  override createStoreWritableStream(pc: PresentationContext, request: CStoreRequest): Writable {
    const transferSyntaxUid = pc.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian;
    const sopInstanceUid = String(request.getAffectedSopInstanceUid() ?? '').trim();
    const sopClassUid = String(request.getAffectedSopClassUid() ?? '').trim();
    const refuse = (status: number, comment: string): Writable => {
      const stream = new DiscardStream();
      this.pending.set(request, { stream, outcome: { status, comment }, transferSyntaxUid, presentationContextId: pc.getPresentationContextId() });
      this.requestOf.set(stream, request);
      return stream;
    };
    if (!this.pool) return refuse(STATUS_PROCESSING_FAILURE, 'Association not established');
    if (!isSafeUid(sopInstanceUid) || !isSafeUid(sopClassUid)) return refuse(STATUS_CANNOT_UNDERSTAND, 'Invalid SOP UID in C-STORE command');
    const header = buildPart10Header({ sopClassUid, sopInstanceUid, transferSyntaxUid, sourceAeTitle: this.callingAe });
    // One object at a time per association: a new one means the previous one was abandoned.
    this.discardActive();
    // Its file was created ahead (see `spare`); without one (no storage context was accepted, but
    // the peer sends a C-STORE anyway), the stream creates its own.
    const spare = this.takeSpare();
    const tempPath = spare?.path ?? path.join(this.pool.stagingDir, '.incoming', `incoming.${TEMP_PREFIX}-${this.serial}-${++this.objects}.part`);
    const stream = new StagingStream(tempPath, header, this.pressure, spare);
    stream.on('error', () => undefined); // reported through streamFinished
    this.receiving.add(stream);
    this.pending.set(request, { stream, transferSyntaxUid, presentationContextId: pc.getPresentationContextId() });
    this.requestOf.set(stream, request);
    return stream;
  }

  override createDatasetFromStoreWritableStream(
    writable: Writable,
    pc: PresentationContext,
    callback: (dataset: InstanceType<typeof Dataset>) => void,
  ): void {
    const request = this.requestOf.get(writable);
    const p = request ? this.pending.get(request) : undefined;
    const ts = pc.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian;
    const deliver = () => callback(new Dataset({}, ts));
    if (!request || !p || !(p.stream instanceof StagingStream) || p.outcome) {
      deliver();
      return;
    }
    const stream = p.stream;
    this.receiving.delete(stream);
    this.finishStore(request, stream, p)
      .then(
        (outcome) => {
          p.outcome = outcome;
        },
        (err: unknown) => {
          log.error('store failed unexpectedly', { calledAe: this.calledAe, err });
          p.outcome = { status: STATUS_PROCESSING_FAILURE };
        },
      )
      .finally(() => {
        try {
          deliver();
        } catch (err) {
          // dcmjs-dimse cannot take the dataset (its request state is gone: a peer that sent the next
          // message before our answer, or garbage). Thrown here it would be an unhandled rejection,
          // which ends the worker process; the association is aborted instead.
          log.warn('association aborted: message out of order', { calledAe: this.calledAe, err });
          this.sock.destroy();
        }
      });
  }

  /**
   * Validates, renames and reports one finished object. Always leaves either a recorded file or
   * nothing, and never an open descriptor, whatever fails (disk, walker, hook, a bug).
   */
  private async finishStore(request: CStoreRequest, stream: StagingStream, p: Pending): Promise<Outcome> {
    let finalPath: string | undefined;
    let recorded = false;
    try {
      const outcome = await this.validateAndRecord(request, stream, p, (f) => {
        finalPath = f;
      });
      recorded = outcome.status === STATUS_SUCCESS;
      return outcome;
    } catch (err) {
      log.error('store failed unexpectedly', { calledAe: this.calledAe, err });
      return { status: STATUS_PROCESSING_FAILURE };
    } finally {
      stream.closeFd();
      // Whatever a failed object still had queued is no longer held (memory accounting).
      stream.destroy();
      if (!recorded) {
        await fsp.rm(stream.tempPath, { force: true }).catch(() => undefined);
        if (finalPath) await fsp.rm(finalPath, { force: true }).catch(() => undefined);
      }
      liveFiles.delete(stream.tempPath);
      if (p.finalPath) liveFiles.delete(p.finalPath);
    }
  }

  private async validateAndRecord(request: CStoreRequest, stream: StagingStream, p: Pending, renamed: (finalPath: string) => void): Promise<Outcome> {
    const pool = this.pool as { id: string; stagingDir: string };
    const fail = async (outcome: Outcome): Promise<Outcome> => {
      stream.closeFd();
      await fsp.rm(stream.tempPath, { force: true });
      return outcome;
    };
    const err = await streamFinished(stream);
    if (err) {
      log.error('staging write failed', { calledAe: this.calledAe, code: (err as NodeJS.ErrnoException).code });
      return fail({ status: STATUS_OUT_OF_RESOURCES, comment: 'Cannot write to staging storage' });
    }

    const sopInstanceUid = String(request.getAffectedSopInstanceUid()).trim();
    const sopClassUid = String(request.getAffectedSopClassUid()).trim();
    const headerLength = stream.headerLength;
    let ids: Map<number, Buffer>;
    try {
      ids = this.validate(stream, headerLength, p.transferSyntaxUid);
    } catch (e) {
      if (e instanceof DatasetFormatError) {
        log.warn('malformed dataset refused', { calledAe: this.calledAe, callingAe: this.callingAe, problem: e.message });
        return fail({ status: STATUS_CANNOT_UNDERSTAND, comment: 'Malformed dataset' });
      }
      throw e;
    }
    const dsSopInstance = rawString(ids.get(TAG_SOP_INSTANCE_UID));
    const dsSopClass = rawString(ids.get(TAG_SOP_CLASS_UID));
    const study = rawString(ids.get(TAG_STUDY_INSTANCE_UID));
    const series = rawString(ids.get(TAG_SERIES_INSTANCE_UID));
    if (dsSopInstance !== sopInstanceUid) {
      log.warn('dataset refused: SOP Instance UID differs from the command', { calledAe: this.calledAe, callingAe: this.callingAe });
      return fail({ status: STATUS_CANNOT_UNDERSTAND, comment: 'SOP Instance UID does not match the command' });
    }
    if (dsSopClass !== sopClassUid) {
      log.warn('dataset refused: SOP Class UID differs from the command', { calledAe: this.calledAe, callingAe: this.callingAe });
      return fail({ status: STATUS_SOP_CLASS_MISMATCH, comment: 'SOP Class UID does not match the command' });
    }
    if (!isSafeUid(study) || !isSafeUid(series)) {
      log.warn('dataset refused: missing or invalid Study/Series Instance UID', { calledAe: this.calledAe, callingAe: this.callingAe });
      return fail({ status: STATUS_CANNOT_UNDERSTAND, comment: 'Missing Study or Series Instance UID' });
    }

    stream.closeFd();
    const dir = path.join(pool.stagingDir, study);
    const finalPath = path.join(dir, `${sopInstanceUid}.dcm`);
    p.finalPath = finalPath;
    try {
      liveFiles.add(finalPath);
      moveIntoPlace(stream.tempPath, finalPath, dir);
      renamed(finalPath);
    } catch (e) {
      log.error('cannot move staged file into place', { calledAe: this.calledAe, code: (e as NodeJS.ErrnoException).code });
      return fail({ status: STATUS_OUT_OF_RESOURCES, comment: 'Cannot write to staging storage' });
    }

    const cmd = request.getCommandDataset();
    const originatorAe = cmd.getElement('MoveOriginatorApplicationEntityTitle');
    const originatorId = cmd.getElement('MoveOriginatorMessageID') as unknown;
    const info: StoredInfo = {
      calledAe: this.calledAe,
      callingAe: this.callingAe,
      poolId: pool.id,
      path: finalPath,
      size: stream.bytes,
      sopClassUid,
      sopInstanceUid,
      studyInstanceUid: study,
      seriesInstanceUid: series,
      transferSyntaxUid: p.transferSyntaxUid,
      moveOriginatorAe: typeof originatorAe === 'string' && originatorAe.trim() ? originatorAe.trim() : undefined,
      moveOriginatorMessageId: typeof originatorId === 'number' ? originatorId : undefined,
      peerAddress: this.peerAddress,
      senderDeviceIds: this.senderDeviceIds,
    };
    try {
      await this.hooks.onStored(info);
    } catch (e) {
      log.warn('onStored hook failed; object refused', { calledAe: this.calledAe, err: e });
      return { status: STATUS_PROCESSING_FAILURE, comment: 'Could not record the object' };
    }
    p.stored = info;
    return { status: STATUS_SUCCESS };
  }

  /** Walks the received dataset; returns the raw values of the ID elements. Throws DatasetFormatError. */
  private validate(stream: StagingStream, headerLength: number, ts: string): Map<number, Buffer> {
    return validateStagedObject(stream, headerLength, ts);
  }

  override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponse) => void): void {
    const p = this.pending.get(request);
    const outcome = p?.outcome ?? { status: STATUS_PROCESSING_FAILURE };
    this.pending.delete(request);
    if (outcome.status === STATUS_SUCCESS) this.stored++;
    else {
      this.failed++;
      log.warn('C-STORE failed', { calledAe: this.calledAe, callingAe: this.callingAe, status: hex4(outcome.status) });
    }
    if (p) {
      // Fast path: encode the C-STORE-RSP ourselves. dcmjs-dimse denaturalizes and re-encodes
      // the command set with dcmjs for every response, about 0.25 ms of CPU per instance:
      // a fifth of our per-instance budget on a 500-instance CT move.
      this.sock.write(
        storeResponsePdu(p.presentationContextId, {
          messageId: Number(request.getMessageId()),
          sopClassUid: String(request.getAffectedSopClassUid() ?? ''),
          sopInstanceUid: String(request.getAffectedSopInstanceUid() ?? ''),
          status: outcome.status,
          errorComment: outcome.comment,
        }),
      );
      return;
    }
    const rsp = responses.CStoreResponse.fromRequest(request);
    rsp.setStatus(outcome.status);
    if (outcome.comment) rsp.setErrorComment(outcome.comment);
    callback(rsp);
  }
}

/** One implicit-VR little-endian command element. */
function commandElement(elem: number, value: Buffer): Buffer {
  const b = Buffer.alloc(8 + value.length);
  b.writeUInt16LE(0x0000, 0);
  b.writeUInt16LE(elem, 2);
  b.writeUInt32LE(value.length, 4);
  value.copy(b, 8);
  return b;
}

const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n & 0xffff, 0);
  return b;
};
const padTo = (s: string, pad: string) => Buffer.from(s.length % 2 ? s + pad : s, 'latin1');

/**
 * A P-DATA-TF PDU carrying a C-STORE-RSP command (PS3.7 9.3.1.2, PS3.8 9.3.5): implicit VR
 * little endian, one PDV flagged "command, last fragment".
 */
export function storeResponsePdu(
  pcId: number,
  r: { messageId: number; sopClassUid: string; sopInstanceUid: string; status: number; errorComment?: string },
): Buffer {
  const elements = [
    r.sopClassUid ? commandElement(0x0002, padTo(r.sopClassUid, '\0')) : undefined,
    commandElement(0x0100, us(0x8001)),
    commandElement(0x0120, us(r.messageId)),
    commandElement(0x0800, us(0x0101)),
    commandElement(0x0900, us(r.status)),
    r.errorComment ? commandElement(0x0902, padTo(r.errorComment.slice(0, 64), ' ')) : undefined,
    r.sopInstanceUid ? commandElement(0x1000, padTo(r.sopInstanceUid, '\0')) : undefined,
  ].filter((e): e is Buffer => e !== undefined);
  const body = Buffer.concat(elements);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length, 0);
  const command = Buffer.concat([commandElement(0x0000, groupLength), body]);
  const pdu = Buffer.alloc(6 + 4 + 2 + command.length);
  pdu.writeUInt8(0x04, 0); // P-DATA-TF
  pdu.writeUInt32BE(4 + 2 + command.length, 2);
  pdu.writeUInt32BE(2 + command.length, 6); // PDV item length
  pdu.writeUInt8(pcId, 10);
  pdu.writeUInt8(0x03, 11); // message control header: command, last fragment
  command.copy(pdu, 12);
  return pdu;
}

/** Starts the SCP. Resolves once listening (port 0 picks a free port). */
export function startScp(opts: ScpOptions): Promise<RunningScp> {
  const registry = new Set<TributaryScp>();
  const server = new Server(makeScpClass(opts, registry) as unknown as typeof Scp);
  const pduTimeout = opts.pduTimeoutMs ?? 5 * 60_000;
  const inner = (server as unknown as { server?: import('node:net').Server });
  return new Promise<RunningScp>((resolve, reject) => {
    let listening = false;
    server.on('networkError', (err: Error) => {
      if (!listening) {
        reject(err);
        return;
      }
      // Per-connection errors (peer vanished, malformed PDU): the connection is closed, the SCP goes on.
      log.warn('connection error', { err: /Connection timeout/.test(err?.message ?? '') ? 'timeout' : 'network' });
    });
    server.on('listening', () => {
      listening = true;
      // A plain DICOM client on the TLS port, an untrusted or expired certificate offered to a
      // strict peer: the handshake fails before any association. Logged with the peer's
      // address and OpenSSL's code (no certificate contents).
      // The address is read when the TCP connection arrives: Node caches it on the raw socket,
      // while a socket reset during the handshake no longer knows its peer.
      inner.server?.on('connection', (raw: import('node:net').Socket) => void raw.remoteAddress);
      inner.server?.on('tlsClientError', (err: NodeJS.ErrnoException, sock: TLSSocket) => {
        const raw = (sock as unknown as { _parent?: import('node:net').Socket })._parent;
        log.warn('TLS handshake failed', { peer: sock.remoteAddress ?? raw?.remoteAddress ?? '', code: err.code ?? 'unknown' });
      });
      const addr = inner.server?.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      resolve({
        port,
        close: () =>
          new Promise<void>((res) => {
            const srv = inner.server;
            for (const scp of registry) (scp as unknown as { socket: import('node:net').Socket }).socket.destroy();
            if (!srv || !srv.listening) return res();
            srv.close(() => res());
          }),
      });
    });
    // dcmjs-dimse hands its first argument to net.Server.listen, which also takes { port, host }.
    const where = opts.host ? ({ port: opts.port, host: opts.host } as unknown as number) : opts.port;
    const securityOptions = opts.tls
      ? { cert: opts.tls.cert, key: opts.tls.key, ...(opts.tls.ca ? { ca: opts.tls.ca } : {}), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }
      : undefined;
    server.listen(where, { connectTimeout: pduTimeout, associationTimeout: 60_000, pduTimeout, ...(securityOptions ? { securityOptions } : {}) });
  });
}
