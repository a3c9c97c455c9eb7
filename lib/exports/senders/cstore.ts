/**
 * The DIMSE C-STORE exporter (docs/exports.md "C-STORE exporter"): sends a batch of pool instances
 * to a DICOM device over one or more associations, and asks for Storage Commitment.
 *
 * - Associations are negotiated from what is sent: per SOP class, one presentation context per
 *   stored transfer syntax (proposed alone, so the device can take the bytes as they are) and one
 *   fallback context with Explicit and Implicit VR Little Endian; at most 128 contexts (a batch
 *   that needs more is split). Exporter.transferSyntaxes, when set, limits what is proposed.
 * - `instancesPerRequest` instances per association, then a new one; `concurrency` associations
 *   at once (capped by the destination's maxAssociations).
 * - The dataset bytes are sent exactly as stored (no dcmjs round trip) when the stored syntax was
 *   accepted; otherwise converted to the accepted uncompressed syntax (./cstore-transcode.ts), or
 *   the instance fails with the reason. sha256 is of the exact dataset bytes sent (C-STORE carries
 *   no File Meta Information; to check a received Part-10 file, hash it from its dataset offset).
 * - Per instance: 0x0000 → SENT; 0xBxxx → WARNING with the reason; anything else → FAILED with the
 *   reason; SOP class refused at negotiation → FAILED "destination does not accept …" (not
 *   retryable). Association refused/rejected, connection refused, TLS failure, timeout → every
 *   unacknowledged instance `retryable` with the SCU's reason (lib/dicom/errors.ts wording).
 * - The AbortSignal sends A-ABORT and drops the connection; only what the device acknowledged
 *   before is SENT, the rest comes back `retryable` ("canceled").
 *
 * Calling AE title: the pool's own (Pool.aeTitle), so a device that sends its Storage Commitment
 * report on a new association calls back the pool's AE on our SCP (lib/exports/commitment.ts).
 * Nothing here logs PHI: AE titles, addresses, counts and status codes only.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Destination, Device, Exporter } from '../../generated/prisma/client';
import { db } from '../../db';
import { devicePeer } from '../../devices/tls';
import { dimse } from '../../dicom/dimse';
import { DicomNetworkError, hex4 } from '../../dicom/errors';
import { readPart10Header } from '../../dicom/part10';
import { MAX_PRESENTATION_CONTEXTS, runAssociation, type AssociationLike, type DicomPeer } from '../../dicom/scu';
import { TransferSyntax } from '../../dicom/uids';
import { logger } from '../../logger';
import type { ExportSender, InstanceOutcome, OutgoingInstance } from '../sender';
import { requestCommitment } from '../commitment';
import { canDecompress, prepareForDestination } from '../transcode';
import { transcodeDataset } from './cstore-transcode';

const log = logger('exports.cstore');
const { Dataset, constants, requests } = dimse;
const EXPLICIT = TransferSyntax.ExplicitVRLittleEndian;
const IMPLICIT = TransferSyntax.ImplicitVRLittleEndian;
const UNCOMPRESSED: readonly string[] = [EXPLICIT, IMPLICIT];
const ACCEPT = constants.PresentationContextResult.Accept;

export interface CstoreSenderOptions {
  /** Calling AE title; default the exporter's pool's AE title. */
  callingAe?: string;
  connectTimeoutMs?: number;
  /** Longest silence from the device within an association. Default 5 min. */
  timeoutMs?: number;
  /** How long to wait for the Storage Commitment report. Default EXPORT_COMMIT_TIMEOUT_MS or 10 min. */
  commitTimeoutMs?: number;
}

/** "CT Image Storage" for a storage SOP class UID dcmjs-dimse knows, else the UID itself. */
export function sopClassName(uid: string): string {
  const entry = Object.entries(constants.StorageClass as unknown as Record<string, string>).find(([, v]) => v === uid);
  if (!entry) return uid;
  const words = entry[0]
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(' ')
    .map((w) => (/^(Ct|Mr|Pet|Us|Rt|Sr|Cr|Dx|Nm|Xa|Ecg|Oct|Op|Vl|Pdf|Cda|Stl|Mpr|Ivoct|Xrf|Rf)$/.test(w) ? w.toUpperCase() : w));
  return `${words.join(' ')} (${uid})`;
}

/** The outcome of one C-STORE response status (PS3.4 B.2.3, PS3.7 C). */
export function classifyStoreStatus(status: number, comment?: string): Pick<InstanceOutcome, 'state' | 'reason'> {
  const why = comment ? `: ${comment.slice(0, 64)}` : '';
  if (status === 0x0000) return { state: 'SENT' };
  if ((status & 0xf000) === 0xb000) {
    const what =
      status === 0xb000 ? 'stored with coercion of data elements'
      : status === 0xb007 ? 'stored, but the data set does not match the SOP class'
      : status === 0xb006 ? 'stored, but elements were discarded'
      : 'stored with a warning';
    return { state: 'WARNING', reason: `${what} (${hex4(status)})${why}` };
  }
  const what =
    (status & 0xff00) === 0xa700 ? 'refused: out of resources'
    : (status & 0xff00) === 0xa900 ? 'refused: data set does not match the SOP class'
    : (status & 0xf000) === 0xc000 ? 'refused: cannot understand'
    : status === 0x0122 ? 'refused: SOP class not supported'
    : status === 0x0124 ? 'refused: not authorized'
    : status === 0x0110 ? 'refused: processing failure'
    : 'refused';
  return { state: 'FAILED', reason: `${what} (${hex4(status)})${why}` };
}

interface Prepared {
  inst: OutgoingInstance;
  storedTs: string;
  datasetOffset: number;
  /** Proposed alone for this instance's class (the stored syntax), when allowed. */
  ownContext?: string;
  /** Syntaxes of the fallback context (uncompressed), possibly empty. */
  fallback: string[];
  /** A compressed instance the exporter's list does not take as stored: decompressed before the
   *  association (lib/exports/transcode.ts), dataset bytes only, in `ts`. */
  decompressed?: { ts: string; dataset: Buffer };
}

/**
 * A Dataset that hands dcmjs-dimse the bytes to send (as stored, or converted) and remembers their
 * SHA-256. dcmjs-dimse only ever calls getDenaturalizedDataset for it (its transfer syntax is set
 * to the accepted one before the request goes out, so it never transcodes).
 */
class OutgoingDataset extends Dataset {
  bytes?: Buffer;
  sha256?: string;
  constructor(
    readonly prepared: Prepared,
    sopClassUid: string,
    sopInstanceUid: string,
  ) {
    super({ SOPClassUID: sopClassUid, SOPInstanceUID: sopInstanceUid }, prepared.storedTs);
  }

  /** The bytes to send (as stored, or converted); the caller hashes them once written. */
  take(): Buffer {
    const buf = this.bytes ?? fs.readFileSync(this.prepared.inst.file).subarray(this.prepared.datasetOffset);
    this.bytes = undefined; // memory: one instance at a time
    return buf;
  }

  override getDenaturalizedDataset(): Buffer {
    const buf = this.take();
    this.sha256 = createHash('sha256').update(buf).digest('hex');
    return buf;
  }

  override getElements(): Record<string, unknown> {
    throw new Error('OutgoingDataset is sent as bytes only');
  }
}

/** The dcmjs-dimse Network internals the P-DATA framing below replaces. */
interface PDataNetwork {
  socket: import('node:net').Socket;
  _sendPDataTF(command: unknown, pcId: number, maxPdu: number): void;
}

/**
 * Frames our C-STORE datasets into P-DATA-TF PDUs without copying them: dcmjs-dimse builds every
 * PDU through a growing buffer and copies each fragment twice. Here each PDU is a 12-byte header
 * plus a view of the dataset, written corked. Commands (and anything not ours) keep the original path.
 */
function framePData(net: PDataNetwork) {
  const original = net._sendPDataTF.bind(net);
  net._sendPDataTF = (command, pcId, maxPdu) => {
    const cmd = command as { getDataset(): unknown; getCommandDataset(): { getDenaturalizedCommandDataset(): Buffer } };
    const ds = cmd.getDataset();
    if (!(ds instanceof OutgoingDataset)) return original(command, pcId, maxPdu);
    const limit = maxPdu === 0 ? 4 * 1024 * 1024 : Math.min(maxPdu, 4 * 1024 * 1024);
    const chunk = limit - 6;
    const header = (length: number, flags: number) => {
      const h = Buffer.alloc(12);
      h.writeUInt8(0x04, 0); // P-DATA-TF
      h.writeUInt32BE(length + 6, 2);
      h.writeUInt32BE(length + 2, 6); // PDV item length
      h.writeUInt8(pcId, 10);
      h.writeUInt8(flags, 11);
      return h;
    };
    const sock = net.socket;
    const data = ds.take();
    sock.cork();
    const commandBytes = storeRequestCommand(command as InstanceType<typeof requests.CStoreRequest>, ds);
    sock.write(Buffer.concat([header(commandBytes.length, 0x03), commandBytes]));
    for (let at = 0; at < data.length || at === 0; at += chunk) {
      const part = data.subarray(at, Math.min(data.length, at + chunk));
      const last = at + chunk >= data.length;
      sock.write(header(part.length, last ? 0x02 : 0x00));
      sock.write(part);
      if (data.length === 0) break;
    }
    sock.uncork();
    // Hashed while the bytes travel and the device stores them (the response is read later).
    ds.sha256 = createHash('sha256').update(data).digest('hex');
  };
}

/** One implicit VR LE command element. */
function commandElement(elem: number, value: Buffer): Buffer {
  const b = Buffer.alloc(8 + value.length);
  b.writeUInt16LE(0x0000, 0);
  b.writeUInt16LE(elem, 2);
  b.writeUInt32LE(value.length, 4);
  value.copy(b, 8);
  return b;
}

/**
 * The C-STORE-RQ command set (PS3.7 9.3.1.1), encoded here instead of through dcmjs (a
 * denaturalize and write per instance): Affected SOP Class, Command Field 0x0001, Message ID,
 * Priority medium, a data set present, Affected SOP Instance.
 */
function storeRequestCommand(req: InstanceType<typeof requests.CStoreRequest>, ds: OutgoingDataset): Buffer {
  const us = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n & 0xffff, 0);
    return b;
  };
  const uid = (u: string) => Buffer.from(u.length % 2 ? `${u}\0` : u, 'latin1');
  const body = Buffer.concat([
    commandElement(0x0002, uid(ds.prepared.inst.sopClassUid)),
    commandElement(0x0100, us(0x0001)),
    commandElement(0x0110, us(Number(req.getMessageId()))),
    commandElement(0x0700, us(0x0000)),
    commandElement(0x0800, us(0x0000)),
    commandElement(0x1000, uid(ds.prepared.inst.sopInstanceUid)),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length, 0);
  return Buffer.concat([commandElement(0x0000, groupLength), body]);
}

/** The presentation contexts a group of instances needs: [abstract syntax, transfer syntaxes]. */
function contextsFor(items: Prepared[]): Array<[string, string[]]> {
  const own = new Map<string, [string, string[]]>();
  const fallback = new Map<string, Set<string>>();
  for (const p of items) {
    const cls = p.inst.sopClassUid;
    if (p.ownContext) own.set(`${cls}|${p.ownContext}`, [cls, [p.ownContext]]);
    if (p.fallback.length) {
      const s = fallback.get(cls) ?? new Set<string>();
      for (const t of p.fallback) s.add(t);
      fallback.set(cls, s);
    }
  }
  return [...own.values(), ...[...fallback.entries()].map(([cls, s]): [string, string[]] => [cls, UNCOMPRESSED.filter((t) => s.has(t))])];
}

export function cstoreSender(destination: Destination & { device?: Device | null }, exporter: Exporter, opts: CstoreSenderOptions = {}): ExportSender {
  if (!destination.device) throw new DicomNetworkError('refused', `Destination ${destination.name} has no DICOM device`);
  const device = destination.device;
  const peer: DicomPeer = devicePeer(device);
  const where = `${device.aeTitle} at ${device.host}:${device.port}`;
  const perAssociation = Math.max(1, exporter.instancesPerRequest);
  const lanes = Math.max(1, Math.min(exporter.concurrency, destination.maxAssociations || exporter.concurrency));
  const allowed = exporter.transferSyntaxes;
  let callingAe: Promise<string> | undefined;
  const ourAe = () =>
    (callingAe ??= opts.callingAe
      ? Promise.resolve(opts.callingAe)
      : db.pool.findUniqueOrThrow({ where: { id: exporter.poolId }, select: { aeTitle: true } }).then((p) => p.aeTitle));

  function prepare(inst: OutgoingInstance): Prepared | InstanceOutcome {
    let header;
    try {
      header = readPart10Header(inst.file);
    } catch {
      return { id: inst.id, state: 'FAILED', reason: 'the stored file cannot be read as DICOM Part 10' };
    }
    const storedTs = header.transferSyntaxUid;
    const asStoredOk = allowed.length === 0 || allowed.includes(storedTs);
    const uncompressed = allowed.length ? UNCOMPRESSED.filter((t) => allowed.includes(t)) : [...UNCOMPRESSED];
    // A compressed instance has an uncompressed fallback only when the exporter's list rules out
    // sending it as stored and a codec can decompress it (done in send(), before the association).
    const compressed = !UNCOMPRESSED.includes(storedTs);
    const fallback = !compressed || (!asStoredOk && canDecompress(storedTs)) ? uncompressed : [];
    if (!asStoredOk && fallback.length === 0)
      return { id: inst.id, state: 'FAILED', reason: `stored as ${storedTs}, which the exporter's transfer syntaxes do not list, and it cannot be converted to one they list` };
    return { inst, storedTs, datasetOffset: header.datasetOffset, ownContext: asStoredOk ? storedTs : undefined, fallback };
  }

  /** One association: sends `items`, resolves with an outcome for each. */
  async function associate(items: Prepared[], signal: AbortSignal): Promise<InstanceOutcome[]> {
    const contexts = contextsFor(items);
    if (contexts.length > MAX_PRESENTATION_CONTEXTS && items.length > 1) {
      const half = Math.ceil(items.length / 2);
      return [...(await associate(items.slice(0, half), signal)), ...(await associate(items.slice(half), signal))];
    }
    const outcomes = new Map<string, InstanceOutcome>();
    const datasets: OutgoingDataset[] = [];
    const reqs = items.map((p) => {
      const ds = new OutgoingDataset(p, p.inst.sopClassUid, p.inst.sopInstanceUid);
      datasets.push(ds);
      const req = new requests.CStoreRequest(ds);
      req.on('response', (rsp: InstanceType<typeof dimse.responses.CStoreResponse>) => {
        const status = rsp.getStatus() >>> 0;
        const comment = (rsp as unknown as { getErrorComment?: () => string | undefined }).getErrorComment?.();
        outcomes.set(p.inst.id, { id: p.inst.id, ...classifyStoreStatus(status, typeof comment === 'string' ? comment.trim() : undefined), transferSyntaxSent: ds.getTransferSyntaxUid(), sha256: ds.sha256 });
      });
      return req;
    });
    let client: { abort(): void; requests: unknown[] } | undefined;
    const onAbort = () => {
      try {
        client?.abort();
      } catch {
        /* not associated yet */
      }
      (client as unknown as { network?: { socket: { destroy(): void } } })?.network?.socket.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw new DicomNetworkError('aborted', 'canceled');
      await runAssociation(peer, await ourAe(), reqs as never, {
        connectTimeoutMs: opts.connectTimeoutMs,
        timeoutMs: opts.timeoutMs,
        defaultTimeoutMs: 5 * 60_000,
        onNetwork: (net, c) => {
          client = c as unknown as typeof client;
          framePData(net as unknown as PDataNetwork);
          const send = net.sendAssociationRequest.bind(net);
          net.sendAssociationRequest = (assoc) => {
            const a = assoc as AssociationLike & { clearPresentationContexts(): void; addPresentationContext(abstract: string): number; addTransferSyntaxToPresentationContext(id: number, ts: string): void };
            a.clearPresentationContexts();
            for (const [abstract, syntaxes] of contexts) {
              const id = a.addPresentationContext(abstract);
              for (const ts of syntaxes) a.addTransferSyntaxToPresentationContext(id, ts);
            }
            send(assoc);
          };
        },
        onAssociated: (c) => {
          // Runs before dcmjs-dimse sends the requests: pick each instance's context, convert
          // where needed, and drop what the device refused.
          const assoc = (c as unknown as { network?: { association: AssociationLike } }).network?.association;
          const accepted = (assoc?.getPresentationContexts() ?? []).map(({ id }) => assoc!.getPresentationContext(id)).filter((pc) => pc.getResult() === ACCEPT);
          const queue = (c as unknown as { requests: unknown[] }).requests;
          const keep: unknown[] = [];
          for (let i = 0; i < items.length; i++) {
            const p = items[i];
            const ds = datasets[i];
            const forClass = accepted.filter((pc) => pc.getAbstractSyntaxUid() === p.inst.sopClassUid);
            const syntaxes = forClass.map((pc) => pc.getAcceptedTransferSyntaxUid() ?? '');
            if (p.ownContext && syntaxes.includes(p.storedTs)) {
              keep.push(reqs[i]);
              continue;
            }
            const target = UNCOMPRESSED.find((t) => p.fallback.includes(t) && syntaxes.includes(t));
            if (!target) {
              outcomes.set(p.inst.id, {
                id: p.inst.id,
                state: 'FAILED',
                reason: forClass.length || !accepted.length ? `destination does not accept ${sopClassName(p.inst.sopClassUid)}` + (forClass.length ? ` in a transfer syntax we can send` : '') : `destination does not accept ${sopClassName(p.inst.sopClassUid)}`,
              });
              continue;
            }
            const converted = p.decompressed
              ? p.decompressed.ts === target
                ? p.decompressed.dataset
                : transcodeDataset(p.decompressed.dataset, p.decompressed.ts, target)
              : transcodeDataset(fs.readFileSync(p.inst.file).subarray(p.datasetOffset), p.storedTs, target);
            if ('refused' in converted) {
              outcomes.set(p.inst.id, { id: p.inst.id, state: 'FAILED', reason: converted.refused });
              continue;
            }
            ds.bytes = converted;
            ds.setTransferSyntaxUid(target);
            keep.push(reqs[i]);
          }
          queue.splice(0, queue.length, ...keep);
        },
      });
    } catch (err) {
      const reason = signal.aborted ? 'canceled before the destination acknowledged it' : err instanceof DicomNetworkError ? err.message : `Network error talking to ${where}`;
      if (!signal.aborted) log.warn('C-STORE association failed', { calledAe: device.aeTitle, host: device.host, port: device.port, reason: err instanceof DicomNetworkError ? err.reason : 'unknown' });
      for (const p of items) if (!outcomes.has(p.inst.id)) outcomes.set(p.inst.id, { id: p.inst.id, state: 'FAILED', reason, retryable: true });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    // Released normally but some request never answered (should not happen): not sent.
    for (const p of items)
      if (!outcomes.has(p.inst.id)) outcomes.set(p.inst.id, { id: p.inst.id, state: 'FAILED', reason: `${where} released the association without answering`, retryable: true });
    return items.map((p) => outcomes.get(p.inst.id)!);
  }

  return {
    async send(batch, signal) {
      const out: InstanceOutcome[] = [];
      const ready: Prepared[] = [];
      for (const inst of batch) {
        const p = prepare(inst);
        if ('state' in p) out.push(p);
        else if (!p.ownContext && !UNCOMPRESSED.includes(p.storedTs)) {
          // Compressed, and the exporter's list does not take it as stored: decompress it now to
          // an uncompressed syntax the list names (Explicit VR LE first), as STOW-RS does.
          const d = await prepareForDestination(inst.file, p.storedTs, p.fallback);
          if (d.kind === 'converted') {
            ready.push({ ...p, decompressed: { ts: d.transferSyntaxUid, dataset: d.bytes.subarray(readPart10Header(d.bytes).datasetOffset) } });
          } else out.push({ id: inst.id, state: 'FAILED', reason: d.kind === 'refused' ? d.reason : `stored as ${p.storedTs}, which the exporter's transfer syntaxes do not list` });
        } else ready.push(p);
      }
      const groups: Prepared[][] = [];
      for (let i = 0; i < ready.length; i += perAssociation) groups.push(ready.slice(i, i + perAssociation));
      let down: string | undefined;
      let next = 0;
      const lane = async () => {
        for (;;) {
          const g = groups[next++];
          if (!g) return;
          if (signal.aborted || down) {
            const reason = signal.aborted ? 'canceled before the destination acknowledged it' : (down as string);
            out.push(...g.map((p): InstanceOutcome => ({ id: p.inst.id, state: 'FAILED', reason, retryable: true })));
            continue;
          }
          const res = await associate(g, signal);
          const retry = res.find((o) => o.retryable);
          if (retry && !signal.aborted) down = retry.reason; // don't hammer a device that is down
          out.push(...res);
        }
      };
      await Promise.all(Array.from({ length: Math.min(lanes, groups.length) }, lane));
      log.info('C-STORE batch done', {
        calledAe: device.aeTitle,
        sent: out.filter((o) => o.state === 'SENT').length,
        warnings: out.filter((o) => o.state === 'WARNING').length,
        failed: out.filter((o) => o.state === 'FAILED').length,
      });
      return out;
    },

    async commit(sent, signal) {
      return requestCommitment({
        peer,
        callingAe: await ourAe(),
        deviceId: device.id,
        instances: sent,
        signal,
        timeoutMs: opts.commitTimeoutMs,
        connectTimeoutMs: opts.connectTimeoutMs,
      });
    },

    async close() {
      /* associations are closed per group */
    },
  };
}
