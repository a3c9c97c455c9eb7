import type { Destination, Exporter } from '../../generated/prisma/client';
import { AppError } from '../../errors';
import type { ExportSender } from '../sender';

export function stowSender(_destination: Destination, _exporter: Exporter): ExportSender {
  throw new AppError('VALIDATION', 'STOW-RS exporter under construction');
}
