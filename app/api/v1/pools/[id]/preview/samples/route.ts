import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { listPreviewSamples } from '@/lib/pools/preview';

export const GET = route(api.listPreviewSamples, async ({ params }) => ({ samples: await listPreviewSamples(params.id) }));
