/**
 * Which registered devices a DICOM peer is: those with its calling AE title whose host or listed
 * addresses match the address the connection comes from (lib/devices/peer-address.ts). Several
 * devices may share an AE title (two lanes to one PACS); each is checked on its own.
 *
 * A device set to TLS is only recognised over our TLS port, and (when it must present a client
 * certificate) only with a certificate its CA issued, or DICOM_TLS_CA when it has none
 * (lib/devices/tls.ts tlsSenderVerdict). `transport` is what the SCP saw; DICOMweb callers pass none.
 */
import { db } from '../db';
import type { DicomTransport } from '../dicom/scp';
import { peerIsDevice } from './peer-address';
import { tlsSenderVerdict, type TlsRefusal } from './tls';

export type SenderRefusal = 'calling-ae-unknown' | 'address-mismatch' | TlsRefusal;

export async function identifySender(opts: {
  callingAe: string;
  peerAddress: string;
  transport?: DicomTransport;
}): Promise<{ deviceIds: string[] } | { refused: SenderRefusal }> {
  const devices = await db.device.findMany({
    where: { aeTitle: opts.callingAe.trim() },
    select: { id: true, host: true, addresses: true, tls: true, tlsCaCertificates: true, tlsRequireClientCertificate: true },
  });
  if (!devices.length) return { refused: 'calling-ae-unknown' };
  const deviceIds: string[] = [];
  let tlsRefusal: TlsRefusal | undefined;
  for (const d of devices) {
    if (!(await peerIsDevice(opts.peerAddress, d))) continue;
    const verdict = opts.transport ? tlsSenderVerdict(d, opts.transport) : 'ok';
    if (verdict === 'ok') deviceIds.push(d.id);
    else tlsRefusal ??= verdict;
  }
  if (deviceIds.length) return { deviceIds };
  return { refused: tlsRefusal ?? 'address-mismatch' };
}
