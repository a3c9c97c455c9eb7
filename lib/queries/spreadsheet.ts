/**
 * A coordinator's spreadsheet upload: every row is validated before anything runs. A dry run
 * returns the verdict (valid rows, invalid rows with reasons, warnings) so the coordinator can
 * decide; a real run queries the valid rows now and records the invalid ones on the query with
 * their reasons, to be fixed and uploaded again later.
 */
import type { Actor } from '../auth/actor';
import { db } from '../db';
import { env } from '../env';
import { AppError } from '../errors';
import { parseQuerySpreadsheet } from '../excel';
import { createQuery } from './queries';

export interface SpreadsheetVerdict {
  fileName: string;
  validRows: number;
  duplicatesMerged: number;
  invalid: { rowNumber: number; errors: string[] }[];
  warnings: string[];
  /** A few valid rows to show back (coordinator-only page). */
  sample: { rowNumber: number; patientId: string; accessionNumber?: string; modality?: string; studyDateFrom?: string; studyDateTo?: string }[];
}

export async function submitSpreadsheet(
  actor: Actor,
  opts: { poolId: string; connectorId: string; file: File; dryRun: boolean },
): Promise<{ verdict: SpreadsheetVerdict; queryId?: string }> {
  const max = env().UPLOAD_MAX_BYTES;
  if (opts.file.size > max) throw new AppError('PAYLOAD_TOO_LARGE', `The file is larger than ${Math.round(max / 1024 / 1024)} MB`);
  if (!(await db.connector.findUnique({ where: { id: opts.connectorId }, select: { id: true } })))
    throw new AppError('VALIDATION', 'Unknown connector', { connectorId: ['unknown connector'] });
  const parsed = await parseQuerySpreadsheet(
    { buffer: Buffer.from(await opts.file.arrayBuffer()), fileName: opts.file.name || 'upload', contentType: opts.file.type },
    { maxFileBytes: max },
  );
  const verdict: SpreadsheetVerdict = {
    fileName: opts.file.name,
    validRows: parsed.rows.length,
    duplicatesMerged: parsed.duplicatesMerged,
    invalid: parsed.invalid.map((r) => ({ rowNumber: r.rowNumber, errors: r.errors })),
    warnings: parsed.warnings,
    sample: parsed.rows.slice(0, 5).map((r) => ({
      rowNumber: r.rowNumber,
      patientId: r.patientId,
      accessionNumber: r.accessionNumber,
      modality: r.modality,
      studyDateFrom: r.studyDateFrom,
      studyDateTo: r.studyDateTo,
    })),
  };
  if (opts.dryRun) return { verdict };
  if (!parsed.rows.length) throw new AppError('VALIDATION', 'No valid row to run: fix the rows listed and upload the sheet again', { file: ['no valid row'] });
  const query = await createQuery(actor, {
    poolId: opts.poolId,
    connectorId: opts.connectorId,
    source: 'SPREADSHEET',
    fileName: opts.file.name.slice(0, 200),
    items: parsed.rows,
    invalid: parsed.invalid.map((r) => ({ rowNumber: r.rowNumber, errors: r.errors, patientId: r.raw.PatientID })),
  });
  return { verdict, queryId: query.id };
}
