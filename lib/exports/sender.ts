/**
 * The one interface both exporters implement (docs/exports.md): the export job (lib/exports/run-export.ts)
 * hands a sender batches of pool instances and records what it answers, per instance. A sender
 * never marks an instance sent that the destination did not acknowledge.
 */

/** One pool instance to send: research UIDs and the stored file (path relative to STORAGE_ROOT). */
export interface OutgoingInstance {
  /** ExportInstance.id */
  id: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  /** Absolute path of the stored (de-identified) file. */
  file: string;
}

export type InstanceOutcomeState = 'SENT' | 'WARNING' | 'FAILED';

export interface InstanceOutcome {
  id: string;
  state: InstanceOutcomeState;
  /** Why it failed or was warned about: a sentence for the export page, never PHI. */
  reason?: string;
  /** The transfer syntax of the bytes sent (after any decompression). */
  transferSyntaxSent?: string;
  /** SHA-256 (hex) of the exact bytes sent. */
  sha256?: string;
  /** Set when the whole destination is unusable (down, credentials refused, certificate refused):
   *  the job retries with backoff instead of failing the instance for good. */
  retryable?: boolean;
}

export interface ExportSender {
  /** Send one batch (≤ instancesPerRequest); resolves with one outcome per instance, in any order. */
  send(batch: OutgoingInstance[], signal: AbortSignal): Promise<InstanceOutcome[]>;
  /** C-STORE with storage commitment: ask for it over the SOP instances sent; resolves per SOP UID. */
  commit?(sent: { sopClassUid: string; sopInstanceUid: string }[], signal: AbortSignal): Promise<Map<string, 'COMMITTED' | 'FAILED'>>;
  close(): Promise<void>;
}
