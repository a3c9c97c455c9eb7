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

export interface RunFindsOptions {
  connectTimeoutMs?: number;
  timeoutMs?: number;
  tlsHandshakeTimeoutMs?: number;
  defaultTimeoutMs: number;
  /** The abstract syntax of the queries (Study Root FIND). */
  sopClassUid: string;
  /** Builds request `index`'s identifier in the accepted transfer syntax. */
  identifier(index: number, transferSyntaxUid: string): Buffer;
  /** Called as each request gets its final response (or is given up on as unanswerable). */
  onAnswer(index: number, answer: FindAnswer, transferSyntaxUid: string): void;
  /** The same classifier runAssociation uses for socket errors. */
  classify(message: string, raw: RawSocketError | undefined, state: { secured: boolean; associated: boolean }): DicomNetworkError;
}

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
 * Runs `count` C-FINDs on one association, one after another. Resolves once every request is
 * answered and the association released (or closed after that); rejects with DicomNetworkError
 * when the association cannot be opened or breaks (the answers already given stay given).
 */
export function runFinds(peer: FindPeer, callingAe: string, count: number, opts: RunFindsOptions): Promise<void> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const idleMs = opts.timeoutMs ?? opts.defaultTimeoutMs;
  const where = `${peer.host}:${peer.port}`;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let associated = false;
    let secured = false;
    let answered = false;
    let released = false;
    let releasing = false;
    let rawError: RawSocketError | undefined;
    let timer: NodeJS.Timeout | undefined;
    let ts = TransferSyntax.ImplicitVRLittleEndian as string;
    let maxPdu = 0;
    let next = 0; // next request to send
    let current = -1; // request waiting for its final response
    let messageId = 0;
    let answer: FindAnswer = { identifiers: [] };
    // The message being received: command fragments, then dataset fragments.
    let cmdParts: Buffer[] = [];
    let dataParts: Buffer[] = [];
    let command: ResponseCommand | undefined;

    const socket: net.Socket = peer.tls
      ? tls.connect({ host: peer.host, port: peer.port, ...clientSecurityOptions(peer.tls === true ? {} : peer.tls) })
      : net.connect({ host: peer.host, port: peer.port });

    const finish = (err?: DicomNetworkError) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (err) {
        if (err.reason === 'timeout' && associated) {
          try {
            socket.write(ABORT);
          } catch {
            /* gone */
          }
        }
        socket.destroy();
        reject(err);
      } else {
        socket.destroy();
        resolve();
      }
    };
    const arm = (ms: number, message: string) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish(new DicomNetworkError('timeout', message)), ms);
    };
    const idle = () => arm(idleMs, `${peer.aeTitle} at ${where} stopped answering (no data for ${Math.round(idleMs / 1000)} s)`);
    // A PACS that accepts the association but aborts at the first request usually does not
    // allow this calling AE title to query or retrieve.
    const hint = () => abortHint({ associated, answered, callingAe });

    const release = () => {
      if (releasing) return;
      releasing = true;
      socket.write(RELEASE_RQ);
    };
    const sendNext = () => {
      if (next >= count) return release();
      current = next++;
      answer = { identifiers: [] };
      messageId = (messageId % 0xffff) + 1;
      let dataset: Buffer;
      try {
        dataset = opts.identifier(current, ts);
      } catch {
        // Unencodable (not expected: the caller validated the keys): unanswered, like a request
        // dcmjs-dimse could not send.
        const skipped = current;
        current = -1;
        opts.onAnswer(skipped, answer, ts);
        return sendNext();
      }
      socket.write(pDataMessage(cfindCommand(opts.sopClassUid, messageId), dataset, maxPdu));
    };
    const onMessage = (cmd: ResponseCommand, data: Buffer | undefined) => {
      if (cmd.messageIdBeingRespondedTo !== messageId || current < 0) return; // not ours: ignore
      answered = true;
      if (PENDING.has(cmd.status)) {
        if (data) answer.identifiers.push(data);
        return;
      }
      answer.status = cmd.status;
      answer.errorComment = cmd.errorComment;
      const done = current;
      current = -1;
      opts.onAnswer(done, answer, ts);
      sendNext();
    };
    const onPData = (pdu: Buffer) => {
      let off = 6;
      while (off + 6 <= pdu.length) {
        const len = pdu.readUInt32BE(off);
        const header = pdu[off + 5];
        const value = pdu.subarray(off + 6, off + 4 + len);
        off += 4 + len;
        if (header & 1) {
          cmdParts.push(value);
          if (header & 2) {
            command = parseCommand(cmdParts.length === 1 ? cmdParts[0] : Buffer.concat(cmdParts));
            cmdParts = [];
            if (!command.hasDataset) {
              const c = command;
              command = undefined;
              onMessage(c, undefined);
            }
          }
        } else {
          dataParts.push(value);
          if (header & 2) {
            const data = dataParts.length === 1 ? Buffer.from(dataParts[0]) : Buffer.concat(dataParts);
            dataParts = [];
            const c = command;
            command = undefined;
            if (c) onMessage(c, data);
          }
        }
      }
    };
    const onPdu = (pdu: Buffer) => {
      switch (pdu[0]) {
        case 0x02: {
          // A-ASSOCIATE-AC
          const ac = parseAssociateAccept(pdu);
          associated = true;
          maxPdu = ac.maxPdu;
          idle();
          if (ac.result !== 0 || !ac.transferSyntaxUid) {
            // Context refused: every request goes unanswered, as with dcmjs-dimse.
            for (; next < count; next++) opts.onAnswer(next, { identifiers: [] }, ts);
            release();
            return;
          }
          ts = ac.transferSyntaxUid;
          sendNext();
          return;
        }
        case 0x03:
          // A-ASSOCIATE-RJ: result, source, reason at 7, 8, 9
          finish(new DicomNetworkError('association-rejected', describeRejection({ result: pdu[7], source: pdu[8], reason: pdu[9] }, peer.aeTitle, callingAe)));
          return;
        case 0x04:
          onPData(pdu);
          return;
        case 0x05:
          // The peer asks to release: answer, then it closes.
          socket.write(RELEASE_RP);
          return;
        case 0x06:
          released = true;
          socket.end();
          return;
        case 0x07:
          finish(new DicomNetworkError('aborted', `${peer.aeTitle} at ${where} aborted the association${hint()}`));
          return;
      }
    };
    const framer = new PduFramer(
      (pdu) => {
        try {
          onPdu(pdu);
        } catch {
          finish(new DicomNetworkError('aborted', `${peer.aeTitle} at ${where} sent a message we could not read`));
        }
      },
      () => finish(new DicomNetworkError('aborted', `${peer.aeTitle} at ${where} sent a message we could not read`)),
    );

    socket.setNoDelay(true);
    arm(connectTimeoutMs, `No answer from ${where} within ${Math.round(connectTimeoutMs / 1000)} s`);
    socket.once('connect', () => {
      if (peer.tls) {
        // The handshake has its own deadline and message (a plain DICOM port answers a
        // ClientHello with silence until it times out).
        const handshakeMs = opts.tlsHandshakeTimeoutMs ?? connectTimeoutMs;
        arm(handshakeMs, `TLS handshake with ${peer.aeTitle} at ${where} did not complete within ${Math.round(handshakeMs / 1000)} s (is it a TLS port?)`);
        return;
      }
      arm(connectTimeoutMs, `${peer.aeTitle} at ${where} accepted the connection but did not answer the association request`);
      socket.write(associateRequest(peer.aeTitle, callingAe, opts.sopClassUid));
    });
    if (peer.tls) {
      socket.once('secureConnect', () => {
        secured = true;
        arm(connectTimeoutMs, `${peer.aeTitle} at ${where} accepted the TLS connection but did not answer the association request`);
        socket.write(associateRequest(peer.aeTitle, callingAe, opts.sopClassUid));
      });
    }
    socket.on('data', (chunk: Buffer) => {
      if (associated && !settled) idle();
      framer.push(chunk);
    });
    socket.on('error', (e: RawSocketError) => {
      rawError = e;
      finish(opts.classify(e?.message ?? '', rawError, { secured, associated }));
    });
    socket.on('close', () => {
      const allDone = next >= count && current < 0;
      if (released || (associated && allDone)) finish();
      else finish(closedEarlyError(peer, where, { secured, associated, answered, rawCode: rawError?.code, callingAe }));
    });
  });
}
