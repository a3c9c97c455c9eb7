import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { fetchManifest } from '@/lib/viewers/weasis';

// Public on purpose: Weasis fetches it without a session; the random, single-use id is the capability.
export const GET = route(api.getWeasisManifest, async ({ params, query }) => fetchManifest(params.manifestId, query.noGzip !== undefined));
