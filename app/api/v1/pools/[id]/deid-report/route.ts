import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { getDeidReport } from '@/lib/reports/get-deid-report';

export const GET = route(api.getDeidReport, async ({ params }) => getDeidReport(params.id));
