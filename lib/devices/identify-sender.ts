/**
 * Which registered devices a DICOM peer is: those with its calling AE title whose host or listed
 * addresses match the address the connection comes from (lib/devices/peer-address.ts). Several
 * devices may share an AE title (two lanes to one PACS); each is checked on its own.
 */
import { db } from '../db';
import { peerIsDevice } from './peer-address';

export type SenderRefusal = 'calling-ae-unknown' | 'address-mismatch';

export async function identifySender(opts: { callingAe: string; peerAddress: string }): Promise<{ deviceIds: string[] } | { refused: SenderRefusal }> {
  const devices = await db.device.findMany({ where: { aeTitle: opts.callingAe.trim() }, select: { id: true, host: true, addresses: true } });
  if (!devices.length) return { refused: 'calling-ae-unknown' };
  const deviceIds: string[] = [];
  for (const d of devices) if (await peerIsDevice(opts.peerAddress, d)) deviceIds.push(d.id);
  return deviceIds.length ? { deviceIds } : { refused: 'address-mismatch' };
}
