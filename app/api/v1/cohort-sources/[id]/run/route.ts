import { NextResponse } from 'next/server';
import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { runCohortSource } from '@/lib/cohorts/sources';

export const POST = route(api.runCohortSource, async ({ actor, params, body }) => {
  const result = await runCohortSource(actor, params.id, body);
  return NextResponse.json(result, { status: result.queryId ? 201 : 200 });
});
