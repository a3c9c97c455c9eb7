import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { quarantineOcrView } from '@/lib/pools/quarantine-ocr';

export const GET = route(api.getQuarantineOcr, async ({ pool, params }) => quarantineOcrView(pool!.pool.id, params.quarantineId));
