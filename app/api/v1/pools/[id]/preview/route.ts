import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { AppError } from '@/lib/errors';
import { previewRules } from '@/lib/pools/preview';

export const POST = route(api.previewRules, async ({ actor, pool, body, files }) => {
  let rules: unknown;
  if (body.rules !== undefined) {
    try {
      rules = JSON.parse(body.rules);
    } catch {
      throw new AppError('VALIDATION', 'The rules field is not valid JSON', { rules: ['not valid JSON'] });
    }
  }
  return previewRules(actor, pool!.pool, { rules, stagedInstanceId: body.stagedInstanceId, queryResultId: body.queryResultId, file: files.file });
});
