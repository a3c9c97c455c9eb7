import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { getHealth } from '@/lib/health/get-health';

/**
 * Public, for load balancers and supervisors: which parts are up, no host names or ports (those
 * are on the admin's Queues page). 200 while the web app can reach PostgreSQL (it can serve
 * pages and downloads), 503 otherwise; `status` is "degraded" when any part is down.
 */
export const GET = route(api.health, async () => {
  const { workers: _w, ...parts } = await getHealth();
  return Response.json(parts, { status: parts.postgres === 'ok' ? 200 : 503, headers: { 'Cache-Control': 'no-store' } });
});
