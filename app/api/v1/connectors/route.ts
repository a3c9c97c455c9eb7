import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { isAdmin } from '@/lib/auth/access';
import { createConnector, listConnectors } from '@/lib/connectors/connectors';

// Coordinators choose a connector when they query; they see names only, not PACS addresses.
export const GET = route(api.listConnectors, async ({ actor }) => {
  const all = await listConnectors();
  if (isAdmin(actor)) return all;
  return all.map((c) => ({ id: c.id, name: c.name, type: c.type, schedule: c.schedule }));
});
export const POST = route(api.createConnector, async ({ actor, body }) => createConnector(actor, body));
