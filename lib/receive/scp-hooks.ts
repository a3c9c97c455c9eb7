/**
 * The SCP's hooks (lib/dicom/scp.ts): which called AE is which pool, who may call it, and where a
 * stored instance goes (a retrieval's staging, the capability check's probe, or a device push
 * de-identified into a research pool). The worker wires these into the SCP it hosts; instances
 * that come back on our own connection (C-GET, WADO-RS) go through lib/receive/sink.ts instead,
 * into the same staging.
 */
import type { ScpHooks } from '../dicom/scp';
import { identifySender } from '../devices/identify-sender';
import { deliverCommitmentReport, isCommitmentReporter, parseReport } from '../exports/commitment';
import { isCallingAeAllowed, recordStaged, resolveCalledAe } from './staging';

export const scpHooks: ScpHooks = {
  resolveCalledAe,
  isCallingAeAllowed,
  onStored: (info) =>
    recordStaged({
      poolId: info.poolId,
      path: info.path,
      size: info.size,
      callingAe: info.callingAe,
      senderDeviceIds: info.senderDeviceIds,
      sopClassUid: info.sopClassUid,
      sopInstanceUid: info.sopInstanceUid,
      studyInstanceUid: info.studyInstanceUid,
      transferSyntaxUid: info.transferSyntaxUid,
    }),
  // Storage Commitment reports from export destinations (lib/exports/commitment.ts).
  commitment: {
    identify: (callingAe, peerAddress, transport) => identifySender({ callingAe, peerAddress, transport }),
    isReporter: isCommitmentReporter,
    onReport: (r, from) => deliverCommitmentReport(parseReport(r.eventTypeId, r.elements), from),
  },
};
