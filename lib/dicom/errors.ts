/**
 * Errors raised by the DICOM SCU. Messages are meant for the coordinator's screen and for
 * logs: they name hosts, ports, AE titles and status codes, never patients, MRNs or UIDs.
 */
import { AppError } from '../errors';
import { describeTlsFailure } from './tls';

export type DicomNetworkErrorReason = 'refused' | 'timeout' | 'association-rejected' | 'aborted' | 'status' | 'tls';

export class DicomNetworkError extends AppError {
  constructor(
    public readonly reason: DicomNetworkErrorReason,
    message: string,
    /** DIMSE status of the failed operation when reason is 'status'. */
    public readonly dimseStatus?: number,
  ) {
    super('DICOM_NETWORK', message);
    this.name = 'DicomNetworkError';
  }
}

/** A query that would be unsafe or meaningless to send (e.g. a wildcard MRN). */
export class DicomQueryError extends AppError {
  constructor(message: string) {
    super('VALIDATION', message);
    this.name = 'DicomQueryError';
  }
}

export const hex4 = (n: number) => '0x' + (n >>> 0).toString(16).toUpperCase().padStart(4, '0');

/** A-ASSOCIATE-RJ result/source/reason in words (PS3.8 9.3.4). */
export function describeRejection(r: { result?: number; source?: number; reason?: number }, calledAe: string, callingAe: string): string {
  const permanent = r.result === 1 ? '' : ' (temporarily)';
  if (r.source === 1) {
    switch (r.reason) {
      case 2:
        return `Association rejected by ${calledAe}${permanent}: application context not supported`;
      case 3:
        return `Association rejected by ${calledAe}${permanent}: calling AE title "${callingAe}" not recognised`;
      case 7:
        return `Association rejected by the peer${permanent}: called AE title "${calledAe}" not recognised`;
      default:
        return `Association rejected by ${calledAe}${permanent}: no reason given`;
    }
  }
  if (r.source === 2) {
    return r.reason === 2
      ? `Association rejected by ${calledAe}: protocol version not supported`
      : `Association rejected by ${calledAe}: no reason given (ACSE)`;
  }
  if (r.source === 3) {
    return r.reason === 1
      ? `Association rejected by ${calledAe}: temporary congestion, try again later`
      : `Association rejected by ${calledAe}: local limit exceeded (too many associations), try again later`;
  }
  return `Association rejected by ${calledAe}`;
}

/**
 * Why an association's connection closed before the exchange finished, from how far it got: the
 * TLS handshake, the association answer, or after it. One wording for every SCU (dcmjs-dimse's
 * client in scu.ts and our own C-FIND client).
 */
export function closedEarlyError(
  peer: { aeTitle: string; tls?: unknown },
  where: string,
  state: { secured: boolean; associated: boolean; answered: boolean; rawCode?: string; callingAe: string },
): DicomNetworkError {
  if (peer.tls && !state.secured)
    return new DicomNetworkError('tls', `TLS handshake with ${peer.aeTitle} at ${where} failed: ${describeTlsFailure(state.rawCode ?? 'ECONNRESET')}`);
  if (peer.tls && !state.associated && !state.answered)
    return new DicomNetworkError('tls', `${peer.aeTitle} at ${where} closed the connection after the TLS handshake without answering the association (it may require a client certificate, or refuse ours)`);
  if (!peer.tls && !state.associated)
    // A TLS port reads our A-ASSOCIATE-RQ as a broken ClientHello and hangs up.
    return new DicomNetworkError('aborted', `${peer.aeTitle} at ${where} closed the connection without answering the association request (if this is a DICOM TLS port, set the device to TLS)`);
  return new DicomNetworkError('aborted', `${peer.aeTitle} at ${where} closed the association before answering${abortHint(state)}`);
}

/** The hint an abort right after association gets: the PACS may not let this AE query or retrieve. */
export function abortHint(state: { associated: boolean; answered: boolean; callingAe: string }): string {
  return state.associated && !state.answered ? ` (is "${state.callingAe}" allowed to query/retrieve on it?)` : '';
}
