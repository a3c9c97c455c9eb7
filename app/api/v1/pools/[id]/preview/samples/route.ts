import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { listPacsPreviewStudies, listPreviewSamples } from '@/lib/pools/preview';

export const GET = route(api.listPreviewSamples, async ({ params }) => {
  const [samples, pacsStudies] = await Promise.all([listPreviewSamples(params.id), listPacsPreviewStudies(params.id)]);
  return { samples, pacsStudies };
});
