import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { AppError } from '@/lib/errors';
import { importLookupTable, listLookupTables } from '@/lib/pools/lookups';

export const GET = route(api.listLookupTables, async ({ params }) => ({ tables: await listLookupTables(params.id) }));
export const POST = route(api.uploadLookupTable, async ({ actor, params, body, files }) => {
  const file = files.file;
  if (!file) throw new AppError('VALIDATION', 'Attach the table as the "file" field', { file: ['required'] });
  return importLookupTable(actor, params.id, {
    kind: body.kind,
    table: body.table,
    mode: body.mode,
    file: { buffer: Buffer.from(await file.arrayBuffer()), name: file.name || 'upload' },
  });
});
