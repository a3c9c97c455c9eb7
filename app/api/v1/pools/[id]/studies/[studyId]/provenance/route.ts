import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { provenanceFile } from '@/lib/pools/provenance';

export const GET = route(api.getStudyProvenance, async ({ pool, params }) => {
  const doc = await provenanceFile(pool!.pool.id, [params.studyId]);
  return new Response(`${JSON.stringify(doc, null, 2)}\n`, {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': 'attachment; filename="provenance.json"',
      'cache-control': 'private, no-store',
    },
  });
});
