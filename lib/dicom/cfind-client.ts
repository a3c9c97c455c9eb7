/**
 * A C-FIND association of our own: connect (TCP or TLS), A-ASSOCIATE with one presentation
 * context, the C-FIND-RQs one after another, A-RELEASE — without dcmjs-dimse's per-message
 * machinery (request objects, async event-emitter chains, memory-streams buffers, a dataset
 * object and a log string per message), which was most of our CPU per C-FIND in bench/batch.
 *
 * What goes over the wire is what dcmjs-dimse sent: the same presentation context (Implicit then
 * Explicit VR Little Endian), the same command elements and the same identifier bytes
 * (lib/dicom/cfind-codec.ts builds them with the same encoder dcmjs-dimse's patched Dataset
 * uses). Each request leaves as one socket write. Responses are cut into PDUs by PduFramer and
 * their identifiers handed back as raw bytes with the accepted transfer syntax: the caller
 * decodes them (character sets included) exactly as before.
 *
 * Errors are those of runAssociation in lib/dicom/scu.ts, with the same classification and
 * messages (the caller passes its classifier). Nothing here logs; nothing is thrown with patient
 * data in it.
 */
import net from 'node:net';
import tls from 'node:tls';
import { PduFramer } from './pdu-framer';
import { DicomNetworkError, abortHint, closedEarlyError, describeRejection } from './errors';
import { clientSecurityOptions, type PeerTls } from './tls';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, TransferSyntax } from './uids';
import { cfindCommand, parseCommand, type ResponseCommand } from './cfind-codec';

export interface FindPeer {
  aeTitle: string;
  host: string;
  port: number;
  tls?: boolean | PeerTls;
}

/** A connection error as the socket raised it. */
export interface RawSocketError {
  code?: string;
  message?: string;
}

export interface FindAnswer {
  /** Final status (undefined: never answered). */
  status?: number;
  errorComment?: string;
  /** Raw identifiers of the pending responses, in the accepted transfer syntax. */
  identifiers: Buffer[];
}

export interface FindAssociationOptions {
  connectTimeoutMs?: number;
  timeoutMs?: number;
  tlsHandshakeTimeoutMs?: number;
  defaultTimeoutMs: number;
  /** The abstract syntax of the queries (Study Root FIND). */
  sopClassUid: string;
  /** The same classifier runAssociation uses for socket errors. */
  classify(message: string, raw: RawSocketError | undefined, state: { secured: boolean; associated: boolean }): DicomNetworkError;
}

/** A run of C-FINDs sent one after another on an association. */
export interface FindBatch {
  count: number;
  /** Builds request `index`'s identifier in the accepted transfer syntax. */
  identifier(index: number, transferSyntaxUid: string): Buffer;
  /** Called as each request gets its final response (or is given up on as unanswerable). */
  onAnswer(index: number, answer: FindAnswer, transferSyntaxUid: string): void;
}

export type RunFindsOptions = FindAssociationOptions & Omit<FindBatch, 'count'>;

/** What dcmjs-dimse announced, so the PACS sees the same association as before. */
const OUR_MAX_PDU = 262144;
const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
const PENDING = new Set([0xff00, 0xff01]);
const PC_ID = 1;

function ae16(ae: string): Buffer {
  return Buffer.from(ae.padEnd(16, ' ').slice(0, 16), 'latin1');
}

function item(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

const uidItem = (type: number, uid: string) => item(type, Buffer.from(uid, 'latin1'));

/** A-ASSOCIATE-RQ (PS3.8 9.3.2) with one presentation context for `abstract`. */
export function associateRequest(calledAe: string, callingAe: string, abstract: string): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0); // protocol version
  ae16(calledAe).copy(fixed, 4);
  ae16(callingAe).copy(fixed, 20);
  const pcHead = Buffer.from([PC_ID, 0, 0, 0]);
  const pc = item(0x20, Buffer.concat([pcHead, uidItem(0x30, abstract), uidItem(0x40, TransferSyntax.ImplicitVRLittleEndian), uidItem(0x40, TransferSyntax.ExplicitVRLittleEndian)]));
  const maxLen = Buffer.alloc(4);
  maxLen.writeUInt32BE(OUR_MAX_PDU, 0);
  const user = item(0x50, Buffer.concat([item(0x51, maxLen), uidItem(0x52, IMPLEMENTATION_CLASS_UID), item(0x55, Buffer.from(IMPLEMENTATION_VERSION_NAME, 'latin1'))]));
  const body = Buffer.concat([fixed, uidItem(0x10, APPLICATION_CONTEXT), pc, user]);
  const head = Buffer.alloc(6);
  head[0] = 0x01;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

/** The parts of an A-ASSOCIATE-AC we use: our context's result and syntax, the peer's max PDU. */
export function parseAssociateAccept(pdu: Buffer): { result: number; transferSyntaxUid?: string; maxPdu: number } {
  let off = 6 + 68;
  let result = -1;
  let transferSyntaxUid: string | undefined;
  let maxPdu = 0;
  while (off + 4 <= pdu.length) {
    const type = pdu[off];
    const len = pdu.readUInt16BE(off + 2);
    const body = pdu.subarray(off + 4, off + 4 + len);
    if (type === 0x21 && body[0] === PC_ID) {
      result = body[2];
      let o = 4;
      while (o + 4 <= body.length) {
        const t = body[o];
        const l = body.readUInt16BE(o + 2);
        if (t === 0x40) transferSyntaxUid = body.toString('latin1', o + 4, o + 4 + l).replace(/[\0 ]+$/, '');
        o += 4 + l;
      }
    } else if (type === 0x50) {
      let o = 0;
      while (o + 4 <= body.length) {
        const t = body[o];
        const l = body.readUInt16BE(o + 2);
        if (t === 0x51 && l === 4) maxPdu = body.readUInt32BE(o + 4);
        o += 4 + l;
      }
    }
    off += 4 + len;
  }
  return { result, transferSyntaxUid, maxPdu };
}

/**
 * One DIMSE message as P-DATA-TF PDUs: the command, then the dataset, each cut into PDVs that fit
 * the peer's max PDU length (0 = no limit), all in one buffer for one socket write.
 */
export function pDataMessage(command: Buffer, dataset: Buffer | undefined, maxPdu: number): Buffer {
  const room = maxPdu > 0 ? Math.max(1, maxPdu - 6) : Number.MAX_SAFE_INTEGER; // PDV item: length(4) + context(1) + header(1)
  const parts: Buffer[] = [];
  const frag = (data: Buffer, isCommand: boolean) => {
    let o = 0;
    do {
      const n = Math.min(room, data.length - o);
      const last = o + n >= data.length;
      const h = Buffer.alloc(12);
      h[0] = 0x04;
      h.writeUInt32BE(6 + n, 2);
      h.writeUInt32BE(2 + n, 6);
      h[10] = PC_ID;
      h[11] = (isCommand ? 1 : 0) | (last ? 2 : 0);
      parts.push(h, data.subarray(o, o + n));
      o += n;
    } while (o < data.length);
  };
  frag(command, true);
  if (dataset) frag(dataset, false);
  return Buffer.concat(parts);
}

const RELEASE_RQ = Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
const RELEASE_RP = Buffer.from([0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
const ABORT = Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0]);


/**
 * One C-FIND association, kept open for as many batches of requests as its owner sends (one
 * batch at a time): a batch job asks chunk after chunk of rows on it instead of opening an
 * association per chunk. `open` resolves once the PACS accepted the association; `run` resolves
 * once every request of the batch is answered, and rejects with DicomNetworkError when the
 * association breaks meanwhile (the answers already given stay given); `release` sends
 * A-RELEASE and resolves once the connection is closed (never rejects).
 *
 * Between batches no timer runs (the owner, not the PACS, is the one waiting). A PACS may close
 * an idle association (its own timeout) or ask to release it: `usable` is then false and the
 * owner opens another.
 */
export class FindAssociation {
  private readonly socket: net.Socket;
  private readonly where: string;
  private readonly idleMs: number;
  private associated = false;
  private secured = false;
  private answered = false;
  private releasing = false;
  /** Closed, or failed: nothing more can be sent. */
  private ended = false;
  private failure: DicomNetworkError | undefined;
  private contextRefused = false;
  private rawError: RawSocketError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ts = TransferSyntax.ImplicitVRLittleEndian as string;
  private maxPdu = 0;
  private messageId = 0;
  private opening: { resolve(): void; reject(e: DicomNetworkError): void } | undefined;
  private closing: Array<() => void> = [];
  /** The batch being asked: its next request, the request waiting for its final answer. */
  private batch: { b: FindBatch; next: number; current: number; answer: FindAnswer; resolve(): void; reject(e: DicomNetworkError): void } | undefined;
  // The message being received: command fragments, then dataset fragments.
  private cmdParts: Buffer[] = [];
  private dataParts: Buffer[] = [];
  private command: ResponseCommand | undefined;

  /** Connects and associates; rejects with DicomNetworkError (refused, timeout, rejected, TLS...). */
  static open(peer: FindPeer, callingAe: string, opts: FindAssociationOptions): Promise<FindAssociation> {
    return new Promise<FindAssociation>((resolve, reject) => {
      const a: FindAssociation = new FindAssociation(peer, callingAe, opts, {
        resolve: () => resolve(a),
        reject,
      });
    });
  }

  private constructor(
    private readonly peer: FindPeer,
    private readonly callingAe: string,
    private readonly opts: FindAssociationOptions,
    opening: { resolve(): void; reject(e: DicomNetworkError): void },
  ) {
    this.opening = opening;
    this.where = `${peer.host}:${peer.port}`;
    this.idleMs = opts.timeoutMs ?? opts.defaultTimeoutMs;
    const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    const socket: net.Socket = peer.tls
      ? tls.connect({ host: peer.host, port: peer.port, ...clientSecurityOptions(peer.tls === true ? {} : peer.tls) })
      : net.connect({ host: peer.host, port: peer.port });
    this.socket = socket;
    const framer = new PduFramer(
      (pdu) => {
        try {
          this.onPdu(pdu);
        } catch {
          this.fail(new DicomNetworkError('aborted', `${peer.aeTitle} at ${this.where} sent a message we could not read`));
        }
      },
      () => this.fail(new DicomNetworkError('aborted', `${peer.aeTitle} at ${this.where} sent a message we could not read`)),
    );
    socket.setNoDelay(true);
    this.arm(connectTimeoutMs, `No answer from ${this.where} within ${Math.round(connectTimeoutMs / 1000)} s`);
    socket.once('connect', () => {
      if (peer.tls) {
        // The handshake has its own deadline and message (a plain DICOM port answers a
        // ClientHello with silence until it times out).
        const handshakeMs = opts.tlsHandshakeTimeoutMs ?? connectTimeoutMs;
        this.arm(handshakeMs, `TLS handshake with ${peer.aeTitle} at ${this.where} did not complete within ${Math.round(handshakeMs / 1000)} s (is it a TLS port?)`);
        return;
      }
      this.arm(connectTimeoutMs, `${peer.aeTitle} at ${this.where} accepted the connection but did not answer the association request`);
      socket.write(associateRequest(peer.aeTitle, callingAe, opts.sopClassUid));
    });
    if (peer.tls) {
      socket.once('secureConnect', () => {
        this.secured = true;
        this.arm(connectTimeoutMs, `${peer.aeTitle} at ${this.where} accepted the TLS connection but did not answer the association request`);
        socket.write(associateRequest(peer.aeTitle, callingAe, opts.sopClassUid));
      });
    }
    socket.on('data', (chunk: Buffer) => {
      if (this.batch || this.releasing) this.idle();
      framer.push(chunk);
    });
    socket.on('error', (e: RawSocketError) => {
      this.rawError = e;
      this.fail(opts.classify(e?.message ?? '', e, { secured: this.secured, associated: this.associated }));
    });
    socket.on('close', () => {
      if (this.opening || this.batch) {
        this.fail(closedEarlyError(peer, this.where, { secured: this.secured, associated: this.associated, answered: this.answered, rawCode: this.rawError?.code, callingAe }));
      } else this.end();
    });
  }

  /** Open and idle: another batch may be sent on it. */
  get usable(): boolean {
    return this.associated && !this.ended && !this.releasing && !this.batch;
  }

  /** Sends the batch's requests one after another; one batch at a time. */
  run(b: FindBatch): Promise<void> {
    if (this.batch) return Promise.reject(new Error('FindAssociation: a batch is already running'));
    if (!this.usable) return Promise.reject(this.failure ?? closedEarlyError(this.peer, this.where, { secured: this.secured, associated: this.associated, answered: this.answered, rawCode: this.rawError?.code, callingAe: this.callingAe }));
    if (this.contextRefused || b.count === 0) {
      // Context refused: every request goes unanswered, as with dcmjs-dimse.
      for (let i = 0; i < b.count; i++) b.onAnswer(i, { identifiers: [] }, this.ts);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.batch = { b, next: 0, current: -1, answer: { identifiers: [] }, resolve, reject };
      this.idle();
      this.sendNext();
    });
  }

  /** A-RELEASE, then the connection closes; resolves once it has (after the idle timeout at worst). */
  release(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.closing.push(resolve);
      if (this.releasing) return;
      this.releasing = true;
      if (!this.associated || this.batch) {
        // Still opening, or asked to give up mid-batch: nothing to release politely.
        this.fail(new DicomNetworkError('aborted', `association to ${this.peer.aeTitle} at ${this.where} given up`));
        return;
      }
      this.idle();
      this.socket.write(RELEASE_RQ);
    });
  }

  private arm(ms: number, message: string) {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(new DicomNetworkError('timeout', message)), ms);
  }

  private idle() {
    this.arm(this.idleMs, `${this.peer.aeTitle} at ${this.where} stopped answering (no data for ${Math.round(this.idleMs / 1000)} s)`);
  }

  /** The association is over: close the socket, reject whatever waits on it. */
  private fail(err: DicomNetworkError) {
    if (this.ended) return;
    this.failure = err;
    if (err.reason === 'timeout' && this.associated) {
      try {
        this.socket.write(ABORT);
      } catch {
        /* gone */
      }
    }
    const { opening, batch } = this;
    this.opening = undefined;
    this.batch = undefined;
    this.end();
    opening?.reject(err);
    batch?.reject(err);
  }

  private end() {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket.destroy();
    for (const done of this.closing.splice(0)) done();
  }

  private sendNext() {
    const batch = this.batch;
    if (!batch) return;
    const { b } = batch;
    if (batch.next >= b.count) {
      // Every request answered: the association waits for the next batch, without a timer.
      this.batch = undefined;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      batch.resolve();
      return;
    }
    batch.current = batch.next++;
    batch.answer = { identifiers: [] };
    this.messageId = (this.messageId % 0xffff) + 1;
    let dataset: Buffer;
    try {
      dataset = b.identifier(batch.current, this.ts);
    } catch {
      // Unencodable (not expected: the caller validated the keys): unanswered, like a request
      // dcmjs-dimse could not send.
      const skipped = batch.current;
      batch.current = -1;
      b.onAnswer(skipped, batch.answer, this.ts);
      this.sendNext();
      return;
    }
    this.socket.write(pDataMessage(cfindCommand(this.opts.sopClassUid, this.messageId), dataset, this.maxPdu));
  }

  private onMessage(cmd: ResponseCommand, data: Buffer | undefined) {
    const batch = this.batch;
    if (!batch || cmd.messageIdBeingRespondedTo !== this.messageId || batch.current < 0) return; // not ours: ignore
    this.answered = true;
    if (PENDING.has(cmd.status)) {
      if (data) batch.answer.identifiers.push(data);
      return;
    }
    batch.answer.status = cmd.status;
    batch.answer.errorComment = cmd.errorComment;
    const done = batch.current;
    batch.current = -1;
    batch.b.onAnswer(done, batch.answer, this.ts);
    this.sendNext();
  }

  private onPData(pdu: Buffer) {
    let off = 6;
    while (off + 6 <= pdu.length) {
      const len = pdu.readUInt32BE(off);
      const header = pdu[off + 5];
      const value = pdu.subarray(off + 6, off + 4 + len);
      off += 4 + len;
      if (header & 1) {
        this.cmdParts.push(value);
        if (header & 2) {
          const command = parseCommand(this.cmdParts.length === 1 ? this.cmdParts[0] : Buffer.concat(this.cmdParts));
          this.cmdParts = [];
          if (!command.hasDataset) {
            this.command = undefined;
            this.onMessage(command, undefined);
          } else this.command = command;
        }
      } else {
        this.dataParts.push(value);
        if (header & 2) {
          const data = this.dataParts.length === 1 ? Buffer.from(this.dataParts[0]) : Buffer.concat(this.dataParts);
          this.dataParts = [];
          const c = this.command;
          this.command = undefined;
          if (c) this.onMessage(c, data);
        }
      }
    }
  }

  private onPdu(pdu: Buffer) {
    switch (pdu[0]) {
      case 0x02: {
        // A-ASSOCIATE-AC
        const ac = parseAssociateAccept(pdu);
        this.associated = true;
        this.maxPdu = ac.maxPdu;
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        if (ac.result !== 0 || !ac.transferSyntaxUid) this.contextRefused = true;
        else this.ts = ac.transferSyntaxUid;
        const opening = this.opening;
        this.opening = undefined;
        opening?.resolve();
        return;
      }
      case 0x03:
        // A-ASSOCIATE-RJ: result, source, reason at 7, 8, 9
        this.fail(new DicomNetworkError('association-rejected', describeRejection({ result: pdu[7], source: pdu[8], reason: pdu[9] }, this.peer.aeTitle, this.callingAe)));
        return;
      case 0x04:
        this.onPData(pdu);
        return;
      case 0x05:
        // The peer asks to release: answer, then it closes. No batch may start on it any more.
        this.releasing = true;
        this.socket.write(RELEASE_RP);
        return;
      case 0x06:
        this.socket.end();
        return;
      case 0x07:
        this.fail(new DicomNetworkError('aborted', `${this.peer.aeTitle} at ${this.where} aborted the association${abortHint({ associated: this.associated, answered: this.answered, callingAe: this.callingAe })}`));
        return;
    }
  }
}

/**
 * Runs `count` C-FINDs on one association, one after another. Resolves once every request is
 * answered and the association released (or closed after that); rejects with DicomNetworkError
 * when the association cannot be opened or breaks (the answers already given stay given).
 */
export async function runFinds(peer: FindPeer, callingAe: string, count: number, opts: RunFindsOptions): Promise<void> {
  const assoc = await FindAssociation.open(peer, callingAe, opts);
  try {
    await assoc.run({ count, identifier: opts.identifier, onAnswer: opts.onAnswer });
  } finally {
    await assoc.release();
  }
}
