/**
 * Placeholder: the C-STORE sender is built on branch i-exp-cstore, which replaces this file.
 * Same signature as stowSender (./stow.ts).
 */
import type { Destination, Exporter } from '../../generated/prisma/client';
import { AppError } from '../../errors';
import type { ExportSender } from '../sender';

export function cstoreSender(_destination: Destination, _exporter: Exporter): ExportSender {
  throw new AppError('VALIDATION', 'C-STORE exporter not in this build');
}
