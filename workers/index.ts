/**
 * The worker process: BullMQ workers for every queue, the DICOM SCP (one port; the called AE
 * selects the pool), the staging purge timer and the staging reconciliation (at start, then every
 * five minutes). Several worker processes may run against the
 * same Redis and PostgreSQL; the SCP port must then differ per host.
 * SIGTERM/SIGINT: stop taking jobs, let running ones finish, close the SCP.
 */
import fs from 'node:fs';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { startScp, type ScpOptions } from '../lib/dicom/scp';
import { db } from '../lib/db';
import { env } from '../lib/env';
import { backoffDelay, JOBS, QUEUES, type JobName, type QueueName } from '../lib/jobs/catalogue';
import { workerErrorLog } from '../lib/jobs/worker-error-log';
import { jobFailure } from '../lib/jobs/failure';
import { bullPrefix, closeQueues, queue } from '../lib/jobs/queues';
import { installCrashLogging } from '../lib/crash-logging';
import { startWorkerHeartbeat } from '../lib/health/worker-heartbeat';
import { logger } from '../lib/logger';
import { closeDeidPool } from '../lib/receive/ingest';
import { STAGED_FILE_GRACE_MS, reconcileStaging } from '../lib/receive/reconcile-staging';
import { scpHooks } from '../lib/receive/scp-hooks';
import { createRedis, key, redis } from '../lib/redis';
import { recoverJobsFromDatabase, watchForLostQueues } from '../lib/jobs/recover';
import { resumePurges } from '../lib/pools/purge';
import { sweepPendingOcr } from '../lib/ocr/run-ocr';
import { processors } from './processors';

const log = logger('worker');

export interface RunningWorker {
  scpPort: number;
  /** The DICOM TLS port (0: none). */
  scpTlsPort: number;
  stop(): Promise<void>;
}

/** Staging reconciliation period (and once at start). */
const RECONCILE_EVERY_MS = 5 * 60_000;

const CONCURRENCY: Record<QueueName, number> = {
  [QUEUES.find]: 8,
  [QUEUES.move]: 16,
  [QUEUES.anonymize]: 2,
  [QUEUES.maintenance]: 1,
  // Tesseract is CPU-bound (one core per process): OCR_CONCURRENCY, default 1.
  [QUEUES.ocr]: 1,
  // Each export job runs its own exporter.concurrency requests; the destination's cap is a lease.
  [QUEUES.export]: 4,
};

export async function startWorker(opts: { scpPort?: number; scpTlsPort?: number; withScp?: boolean; queueCheckMs?: number } = {}): Promise<RunningWorker> {
  const e = env();
  const workers: Worker[] = [];
  for (const name of Object.values(QUEUES)) {
    const w = new Worker(
      name,
      async (job: Job, token?: string) => {
        const p = processors[job.name as JobName];
        if (!p || JOBS[job.name as JobName]?.queue !== name) throw new UnrecoverableError('unknown job on this queue');
        try {
          return await p(job, token);
        } catch (e) {
          // BullMQ stores the message and stack in Redis: PHI-free ones only (lib/jobs/failure.ts).
          throw jobFailure(e, job.name);
        }
      },
      {
        connection: createRedis(),
        prefix: bullPrefix(),
        concurrency: name === QUEUES.ocr ? e.OCR_CONCURRENCY : CONCURRENCY[name],
        // A killed worker's job is picked up again once its lock lapses (≤ 30 s); every step is
        // idempotent, so running it again neither duplicates nor drops an instance.
        lockDuration: 20_000,
        stalledInterval: 10_000,
        maxStalledCount: 5,
        settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade) },
        // Started below, once staging is reconciled and the SCP listens: a C-MOVE issued before
        // our SCP can receive would be answered with no sub-operations, which reads as "the PACS
        // does not know our AE" and fails the study (found by the chaos test).
        autorun: false,
      },
    );
    w.on('failed', (job, err) => log.warn('job failed', { job: job?.name, id: job?.id, attempt: job?.attemptsMade, err }));
    w.on('error', workerErrorLog(name));
    workers.push(w);
  }
  const ensureSchedules = async () => {
    await queue(QUEUES.maintenance).upsertJobScheduler('staging-purge', { every: 15 * 60_000 }, { name: 'staging.purge', data: {} });
    await queue(QUEUES.maintenance).upsertJobScheduler('staging-reconcile', { every: RECONCILE_EVERY_MS }, { name: 'staging.reconcile', data: {} });
    await queue(QUEUES.maintenance).upsertJobScheduler('notifications-sweep', { every: 5 * 60_000 }, { name: 'notifications.sweep', data: {} });
    // OCR of quarantined instances whose job was lost (Redis emptied, enqueue failed) or that wait for tesseract.
    await queue(QUEUES.maintenance).upsertJobScheduler('ocr-sweep', { every: 15 * 60_000 }, { name: 'quarantine.ocr-sweep', data: {} });
  };
  await ensureSchedules();
  // Redis holds only queues: when it starts empty or comes back without its data, whatever the
  // database says is under way is enqueued again (lib/jobs/recover.ts).
  const queueWatch = watchForLostQueues({
    redis: redis(),
    markerKey: key('queues-alive'),
    onLost: async () => {
      await ensureSchedules();
      await recoverJobsFromDatabase();
      await sweepPendingOcr();
    },
    intervalMs: opts.queueCheckMs,
  });
  await queueWatch.ready;
  // Before the SCP listens: nothing of this process is being received yet, so whatever an earlier
  // (crashed) process left half-done is settled now, not at the next timer.
  const reconcile = () => reconcileStaging().catch((err: unknown) => log.error('staging reconciliation failed', { err }));
  await reconcile();
  await sweepPendingOcr().catch((err: unknown) => log.error('OCR sweep failed', { err }));
  // A pool purge (project close-out) a crash interrupted is finished in the background (lib/pools/purge.ts).
  void resumePurges().catch((err: unknown) => log.error('resuming pool purges failed', { err }));
  // Once more when the grace for files without a row has passed: a crash's leftovers are gone
  // within minutes of the restart, not at the next timer.
  const secondPass = setTimeout(() => void reconcile(), STAGED_FILE_GRACE_MS + 5_000);
  secondPass.unref();

  let scp: { port: number; close(): Promise<void> } | null = null;
  let tlsScp: { port: number; close(): Promise<void> } | null = null;
  if (opts.withScp !== false) {
    const scpOptions: Omit<ScpOptions, 'port'> = {
      host: e.DICOM_BIND,
      pduTimeoutMs: 5 * 60_000,
      hooks: scpHooks,
    };
    scp = await startScp({ ...scpOptions, port: opts.scpPort ?? e.DICOM_PORT });
    log.info('DICOM SCP listening', { port: scp.port, bind: e.DICOM_BIND });
    // The same SCP (pools, rules, hooks) behind DICOM TLS; env.ts checked the files at start.
    const tlsPort = opts.scpTlsPort ?? e.DICOM_TLS_PORT;
    if (tlsPort !== undefined && e.DICOM_TLS_CERT && e.DICOM_TLS_KEY) {
      const tls = {
        cert: fs.readFileSync(e.DICOM_TLS_CERT, 'utf8'),
        key: fs.readFileSync(e.DICOM_TLS_KEY, 'utf8'),
        ...(e.DICOM_TLS_CA ? { ca: fs.readFileSync(e.DICOM_TLS_CA, 'utf8') } : {}),
      };
      tlsScp = await startScp({ ...scpOptions, port: tlsPort, tls });
      log.info('DICOM TLS SCP listening', { port: tlsScp.port, bind: e.DICOM_BIND, clientCa: !!e.DICOM_TLS_CA });
    }
  }
  for (const w of workers) w.run().catch((err: unknown) => log.error('worker stopped', { queue: w.name, err }));
  const running = scp;
  const runningTls = tlsScp;
  const heartbeat = startWorkerHeartbeat(() => ({
    listening: running !== null,
    port: running?.port ?? null,
    bind: running ? e.DICOM_BIND : null,
    tlsPort: runningTls?.port ?? null,
  }));
  log.info('workers started', { queues: Object.values(QUEUES).length });

  return {
    scpPort: scp?.port ?? 0,
    scpTlsPort: tlsScp?.port ?? 0,
    async stop() {
      clearTimeout(secondPass);
      queueWatch.stop();
      await heartbeat.stop();
      await Promise.all(workers.map((w) => w.close()));
      if (scp) await scp.close();
      if (tlsScp) await tlsScp.close();
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
  installCrashLogging(log);
  main().catch((err) => {
    log.error('worker failed to start', { err });
    process.exit(1);
  });
}
