import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { deleteLookupTable } from '@/lib/pools/lookups';

export const DELETE = route(api.deleteLookupTable, async ({ actor, params }) => deleteLookupTable(actor, params.id, params.table));
