import { NextResponse } from 'next/server';
import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { AppError } from '@/lib/errors';
import { submitSpreadsheet } from '@/lib/queries/spreadsheet';

export const POST = route(api.uploadQuerySpreadsheet, async ({ actor, body, files }) => {
  const file = files.file;
  if (!file) throw new AppError('VALIDATION', 'Attach the spreadsheet as the "file" field', { file: ['required'] });
  const result = await submitSpreadsheet(actor, { poolId: body.poolId, connectorId: body.connectorId, file, dryRun: body.dryRun === 'true' });
  return NextResponse.json(result, { status: result.queryId ? 201 : 200 });
});
