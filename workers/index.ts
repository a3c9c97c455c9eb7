/**
 * The worker process: BullMQ workers for every queue, the DICOM SCP (one port; the called AE
 * selects the pool), the staging purge timer and the staging reconciliation (at start, then every
 * five minutes). Several worker processes may run against the
 * same Redis and PostgreSQL; the SCP port must then differ per host.
 * SIGTERM/SIGINT: stop taking jobs, let running ones finish, close the SCP.
 */
import { Worker, type Job } from 'bullmq';
import { startScp } from '../lib/dicom/scp';
import { db } from '../lib/db';
import { env } from '../lib/env';
import { backoffDelay, JOBS, QUEUES, type JobName, type QueueName } from '../lib/jobs/catalogue';
import { bullPrefix, closeQueues, queue } from '../lib/jobs/queues';
import { logger } from '../lib/logger';
import { closeDeidPool } from '../lib/pools/ingest';
import { STAGED_FILE_GRACE_MS, reconcileStaging } from '../lib/retrievals/reconcile-staging';
import { isCallingAeAllowed, recordStaged, resolveCalledAe } from '../lib/retrievals/staging';
import { createRedis } from '../lib/redis';
import { processors } from './processors';

const log = logger('worker');

export interface RunningWorker {
  scpPort: number;
  stop(): Promise<void>;
}

/** Staging reconciliation period (and once at start). */
const RECONCILE_EVERY_MS = 5 * 60_000;

const CONCURRENCY: Record<QueueName, number> = {
  [QUEUES.find]: 8,
  [QUEUES.move]: 16,
  [QUEUES.anonymize]: 2,
  [QUEUES.maintenance]: 1,
};

export async function startWorker(opts: { scpPort?: number; withScp?: boolean } = {}): Promise<RunningWorker> {
  const e = env();
  const workers: Worker[] = [];
  for (const name of Object.values(QUEUES)) {
    const w = new Worker(
      name,
      async (job: Job, token?: string) => {
        const p = processors[job.name as JobName];
        if (!p || JOBS[job.name as JobName].queue !== name) throw new Error(`unknown job ${job.name} on ${name}`);
        return p(job, token);
      },
      {
        connection: createRedis(),
        prefix: bullPrefix(),
        concurrency: CONCURRENCY[name],
        // A killed worker's job is picked up again once its lock lapses (≤ 30 s); every step is
        // idempotent, so running it again neither duplicates nor drops an instance.
        lockDuration: 20_000,
        stalledInterval: 10_000,
        maxStalledCount: 5,
        settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade) },
      },
    );
    w.on('failed', (job, err) => log.warn('job failed', { job: job?.name, id: job?.id, attempt: job?.attemptsMade, err: err.message }));
    w.on('error', (err) => log.error('worker error', { queue: name, err: err.message }));
    workers.push(w);
  }
  await queue(QUEUES.maintenance).upsertJobScheduler('staging-purge', { every: 15 * 60_000 }, { name: 'staging.purge', data: {} });
  await queue(QUEUES.maintenance).upsertJobScheduler('staging-reconcile', { every: RECONCILE_EVERY_MS }, { name: 'staging.reconcile', data: {} });
  // Before the SCP listens: nothing of this process is being received yet, so whatever an earlier
  // (crashed) process left half-done is settled now, not at the next timer.
  const reconcile = () => reconcileStaging().catch((err: unknown) => log.error('staging reconciliation failed', { err: err instanceof Error ? err.name : 'error' }));
  await reconcile();
  // Once more when the grace for files without a row has passed: a crash's leftovers are gone
  // within minutes of the restart, not at the next timer.
  const secondPass = setTimeout(() => void reconcile(), STAGED_FILE_GRACE_MS + 5_000);
  secondPass.unref();

  let scp: { port: number; close(): Promise<void> } | null = null;
  if (opts.withScp !== false) {
    scp = await startScp({
      port: opts.scpPort ?? e.DICOM_PORT,
      pduTimeoutMs: 5 * 60_000,
      hooks: {
        resolveCalledAe,
        isCallingAeAllowed,
        onStored: (info) =>
          recordStaged({
            poolId: info.poolId,
            path: info.path,
            size: info.size,
            callingAe: info.callingAe,
            sopClassUid: info.sopClassUid,
            sopInstanceUid: info.sopInstanceUid,
            studyInstanceUid: info.studyInstanceUid,
            transferSyntaxUid: info.transferSyntaxUid,
          }),
      },
    });
    log.info('DICOM SCP listening', { port: scp.port });
  }
  log.info('workers started', { queues: Object.values(QUEUES).length });

  return {
    scpPort: scp?.port ?? 0,
    async stop() {
      clearTimeout(secondPass);
      await Promise.all(workers.map((w) => w.close()));
      if (scp) await scp.close();
      await closeDeidPool();
      await closeQueues();
    },
  };
}

async function main() {
  const w = await startWorker();
  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal: sig });
    await w.stop();
    await db.$disconnect();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

if (process.argv[1] && /workers[/\\]index\.(ts|js|mjs)$/.test(process.argv[1])) {
  main().catch((err) => {
    log.error('worker failed to start', { err: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
}
