/**
 * Sender selection: the destination's type decides the protocol (docs/exports.md).
 * DICOMWEB → STOW-RS (./stow.ts), DICOM → C-STORE (./cstore.ts).
 */
import type { Destination, Device, Exporter } from '../../generated/prisma/client';
import type { ExportSender } from '../sender';
import { cstoreSender } from './cstore';
import { stowSender } from './stow';

export type DestinationWithDevice = Destination & { device?: Device | null };

export function senderFor(destination: DestinationWithDevice, exporter: Exporter): ExportSender {
  return destination.type === 'DICOMWEB' ? stowSender(destination, exporter) : cstoreSender(destination, exporter);
}
