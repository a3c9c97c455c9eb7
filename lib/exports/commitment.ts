/**
 * Storage Commitment Push Model (PS3.4 Annex J), SCU side, for the C-STORE exporter.
 *
 * requestCommitment: N-ACTION-RQ (SOP Class 1.2.840.10008.1.20.1, well-known instance
 * 1.2.840.10008.1.20.1.1, Action Type 1) with a fresh Transaction UID and the Referenced SOP
 * Sequence, then waits for the device's N-EVENT-REPORT (Event Type 1: all committed; 2: some
 * failed, Failed SOP Sequence). The report comes either
 *   - on the same association, if the device sends it before we release (we linger a few
 *     seconds after the N-ACTION-RSP for that), or
 *   - on a new association the device opens to our SCP (its called AE: the pool's AE title we
 *     called it with). The SCP may live in another process (the worker hosting the SCP is not
 *     necessarily the one running the export), so the report travels through Redis:
 *       <prefix>:commit:<transactionUid>         the pending transaction: the device we asked
 *                                                 (written before the N-ACTION, TTL = timeout)
 *       <prefix>:commit:<transactionUid>:report  a list the SCP pushes the report onto; the
 *                                                 waiting sender BLPOPs it (no lost wake-up:
 *                                                 a report that arrives first waits in the list).
 * Who may send us a report (docs/security.md): only a registered device (the SCP identified the
 * caller by AE title + address, and TLS where the device requires it), only for a Transaction
 * UID we issued and have not yet settled, and only the device we asked. Anything else is answered
 * with a failure status and logged (AE titles and reason only).
 * No answer within the timeout (default 10 min, EXPORT_COMMIT_TIMEOUT_MS) → every instance FAILED
 * "no storage commitment answer within …".
 */
import { randomBytes } from 'node:crypto';
import { db } from '../db';
import { dimse } from '../dicom/dimse';
import { DicomNetworkError, hex4 } from '../dicom/errors';
import { runAssociation, type DicomPeer } from '../dicom/scu';
import { createRedis, key, redis } from '../redis';
import { logger } from '../logger';

const log = logger('exports.commitment');
const { Dataset, requests, responses } = dimse;

export const STORAGE_COMMITMENT_SOP_CLASS = '1.2.840.10008.1.20.1';
export const STORAGE_COMMITMENT_INSTANCE = '1.2.840.10008.1.20.1.1';
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export type CommitResult = Map<string, 'COMMITTED' | 'FAILED'>;

/** The parsed content of an N-EVENT-REPORT for Storage Commitment. */
export interface CommitmentReport {
  transactionUid: string;
  eventTypeId: number;
  committed: string[];
  failed: { sopInstanceUid: string; reason?: number }[];
}

/** Failure reasons of the Failed SOP Sequence (PS3.4 J.3.3.1.1) in words. */
function failureReason(code?: number): string {
  switch (code) {
    case 0x0110: return 'processing failure';
    case 0x0112: return 'no such object instance';
    case 0x0213: return 'resource limitation';
    case 0x0122: return 'referenced SOP class not supported';
    case 0x0119: return 'class / instance conflict';
    case 0x0131: return 'duplicate transaction UID';
    default: return code === undefined ? 'no reason given' : hex4(code);
  }
}

/** A new Transaction UID under 2.25 (a random 122-bit UUID as a decimal number). */
export function newTransactionUid(): string {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${b.toString('hex')}`).toString(10)}`;
}

const pendingKey = (tx: string) => key('commit', tx);
const reportKey = (tx: string) => key('commit', tx, 'report');

type Elements = Record<string, unknown>;
const arr = (v: unknown): Elements[] => (Array.isArray(v) ? (v as Elements[]) : v ? [v as Elements] : []);
const str = (v: unknown): string => String(Array.isArray(v) ? v[0] ?? '' : v ?? '').trim();

/** Reads an N-EVENT-REPORT-RQ's dataset (naturalized by dcmjs-dimse). */
export function parseReport(eventTypeId: number, elements: Elements): CommitmentReport {
  return {
    transactionUid: str(elements.TransactionUID),
    eventTypeId,
    committed: arr(elements.ReferencedSOPSequence).map((i) => str(i.ReferencedSOPInstanceUID)).filter(Boolean),
    failed: arr(elements.FailedSOPSequence)
      .map((i) => ({ sopInstanceUid: str(i.ReferencedSOPInstanceUID), reason: typeof i.FailureReason === 'number' ? i.FailureReason : Array.isArray(i.FailureReason) ? Number(i.FailureReason[0]) : undefined }))
      .filter((f) => f.sopInstanceUid),
  };
}

/**
 * The SCP's side: a report arrived on an association from `senderDeviceIds` (the devices the
 * caller was identified as). Returns the N-EVENT-REPORT-RSP status.
 */
export async function deliverCommitmentReport(report: CommitmentReport, from: { callingAe: string; senderDeviceIds: string[] }): Promise<number> {
  if (!/^[0-9.]{1,64}$/.test(report.transactionUid)) {
    log.warn('storage commitment report refused', { callingAe: from.callingAe, reason: 'no-transaction-uid' });
    return 0x0110;
  }
  const pending = await redis().get(pendingKey(report.transactionUid));
  if (!pending) {
    log.warn('storage commitment report refused', { callingAe: from.callingAe, reason: 'unknown-transaction' });
    return 0x0110;
  }
  const { deviceId } = JSON.parse(pending) as { deviceId: string };
  if (!from.senderDeviceIds.includes(deviceId)) {
    log.warn('storage commitment report refused', { callingAe: from.callingAe, reason: 'not-the-device-asked' });
    return 0x0110;
  }
  const k = reportKey(report.transactionUid);
  await redis().multi().rpush(k, JSON.stringify(report)).pexpire(k, 3600_000).exec();
  log.info('storage commitment report received', { callingAe: from.callingAe, committed: report.committed.length, failed: report.failed.length });
  return 0x0000;
}

/**
 * May this caller open an association to send us Storage Commitment reports? Any registered
 * device identified by AE title and address (lib/devices/identify-sender) that is the device of
 * a DICOM destination. Used by the SCP only for associations that propose the Storage Commitment
 * SOP class; such an association gets nothing but that context (and Verification).
 */
export async function isCommitmentReporter(deviceIds: string[]): Promise<boolean> {
  if (!deviceIds.length) return false;
  return (await db.destination.count({ where: { type: 'DICOM', deviceId: { in: deviceIds } } })) > 0;
}

function toResult(instances: { sopInstanceUid: string }[], report: CommitmentReport | null): CommitResult {
  const out: CommitResult = new Map();
  const ok = new Set(report?.committed ?? []);
  for (const i of instances) out.set(i.sopInstanceUid, ok.has(i.sopInstanceUid) ? 'COMMITTED' : 'FAILED');
  return out;
}

export interface CommitmentRequest {
  peer: DicomPeer;
  callingAe: string;
  deviceId: string;
  instances: { sopClassUid: string; sopInstanceUid: string }[];
  signal: AbortSignal;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Linger after the N-ACTION-RSP for a report on the same association. Default 3 s. */
  lingerMs?: number;
  /** Called with the failure reasons (per SOP Instance UID) for the export page. */
  onReasons?: (reasons: Map<string, string>) => void;
}

/** Asks for commitment and waits for the answer; resolves per SOP Instance UID. */
export async function requestCommitment(r: CommitmentRequest): Promise<CommitResult> {
  if (!r.instances.length) return new Map();
  const timeoutMs = r.timeoutMs ?? (Number(process.env.EXPORT_COMMIT_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS);
  const tx = newTransactionUid();
  await redis().set(pendingKey(tx), JSON.stringify({ deviceId: r.deviceId }), 'PX', timeoutMs + 60_000);
  let sameAssociation: CommitmentReport | null = null;
  const settle = async () => void (await redis().del(pendingKey(tx), reportKey(tx)));
  try {
    const req = new requests.NActionRequest(STORAGE_COMMITMENT_SOP_CLASS, STORAGE_COMMITMENT_INSTANCE, 1);
    req.setDataset(
      new Dataset({
        TransactionUID: tx,
        ReferencedSOPSequence: r.instances.map((i) => ({ ReferencedSOPClassUID: i.sopClassUid, ReferencedSOPInstanceUID: i.sopInstanceUid })),
      }),
    );
    let actionStatus: number | undefined;
    req.on('response', (rsp: { getStatus(): number }) => void (actionStatus = rsp.getStatus() >>> 0));
    const failAll = (why: string) => {
      r.onReasons?.(new Map(r.instances.map((i) => [i.sopInstanceUid, why])));
      return toResult(r.instances, null);
    };
    try {
      await runAssociation(r.peer, r.callingAe, [req as never], {
        connectTimeoutMs: r.connectTimeoutMs,
        defaultTimeoutMs: 60_000,
        lingerMs: r.lingerMs ?? 3_000,
        onNetwork: (_net, client) => {
          (client as unknown as { on(ev: string, fn: (...a: unknown[]) => void): void }).on('nEventReportRequest', (request: unknown, callback: unknown) => {
            const rq = request as InstanceType<typeof requests.NEventReportRequest>;
            const report = parseReport(rq.getEventTypeId(), (rq.getDataset()?.getElements() ?? {}) as Elements);
            const rsp = responses.NEventReportResponse.fromRequest(rq);
            const mine = report.transactionUid === tx;
            rsp.setStatus(mine ? 0x0000 : 0x0110);
            if (mine) sameAssociation = report;
            (callback as (x: unknown) => void)(rsp);
          });
        },
      });
    } catch (err) {
      if (!(err instanceof DicomNetworkError)) throw err;
      // The report may still have come on the association before it broke.
      if (!sameAssociation) {
        log.warn('storage commitment request failed', { calledAe: r.peer.aeTitle, reason: err.reason });
        return failAll(`storage commitment request failed: ${err.message}`);
      }
    }
    if (actionStatus === undefined && !sameAssociation) return failAll(`${r.peer.aeTitle} did not answer the storage commitment request`);
    if (actionStatus !== undefined && actionStatus !== 0x0000) {
      log.warn('storage commitment request refused', { calledAe: r.peer.aeTitle, status: hex4(actionStatus) });
      r.onReasons?.(new Map(r.instances.map((i) => [i.sopInstanceUid, `storage commitment request refused (${hex4(actionStatus!)})`])));
      return toResult(r.instances, null);
    }
    const report = sameAssociation ?? (await waitForReport(tx, timeoutMs, r.signal));
    if (!report) {
      const why = r.signal.aborted ? 'storage commitment canceled' : `no storage commitment answer within ${Math.round(timeoutMs / 1000)} s`;
      r.onReasons?.(new Map(r.instances.map((i) => [i.sopInstanceUid, why])));
      return toResult(r.instances, null);
    }
    const reasons = new Map<string, string>();
    for (const f of report.failed) reasons.set(f.sopInstanceUid, `storage commitment failed: ${failureReason(f.reason)}`);
    for (const i of r.instances) if (!reasons.has(i.sopInstanceUid) && !report.committed.includes(i.sopInstanceUid)) reasons.set(i.sopInstanceUid, 'not in the storage commitment report');
    if (reasons.size) r.onReasons?.(reasons);
    return toResult(r.instances, report);
  } finally {
    await settle();
  }
}

async function waitForReport(tx: string, timeoutMs: number, signal: AbortSignal): Promise<CommitmentReport | null> {
  const conn = createRedis();
  const deadline = Date.now() + timeoutMs;
  try {
    while (!signal.aborted && Date.now() < deadline) {
      const wait = Math.max(0.1, Math.min(1, (deadline - Date.now()) / 1000));
      const got = await conn.blpop(reportKey(tx), wait);
      if (got) return JSON.parse(got[1]) as CommitmentReport;
    }
    return null;
  } finally {
    conn.disconnect();
  }
}
