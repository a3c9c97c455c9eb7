/**
 * The HTTP answer of a zip download: plan (scoped to the authorized pool), audit (ids and counts
 * only, one 'study.download' event per study), then the streamed archive with its exact length.
 */
import type { Actor } from '../auth/actor';
import { audit } from '../audit';
import { logger } from '../logger';
import { attachment, planStudiesZip, zipSources, type ZipPlan } from './download';
import { createZipStream } from './zip';

const log = logger('exports.zip');

export async function zipResponse(opts: { actor: Actor; poolId: string; studyIds: string[]; fileName: (plan: ZipPlan) => string }): Promise<Response> {
  const started = Date.now();
  const plan = await planStudiesZip(opts.poolId, opts.studyIds);
  const selection = plan.studies.length;
  await Promise.all(
    plan.studies.map((s) =>
      audit({
        userId: opts.actor.userId,
        action: 'study.download',
        poolId: opts.poolId,
        targetType: 'study',
        targetId: s.id,
        detail: { format: 'zip', instances: s.instances, bytes: s.bytes, selection },
      }),
    ),
  );
  const stream = createZipStream(zipSources(plan), {
    onError: (e) => log.error('zip stream failed', { poolId: opts.poolId, studies: selection, err: e instanceof Error ? e : String(e) }),
  });
  log.info('zip download', { poolId: opts.poolId, studies: selection, instances: plan.instances, bytes: plan.length, planMs: Date.now() - started });
  return new Response(stream, {
    headers: {
      'Content-Type': 'application/zip',
      'Content-Length': String(plan.length),
      'Content-Disposition': attachment(opts.fileName(plan)),
      'Cache-Control': 'private, no-store',
    },
  });
}
