/**
 * BullMQ queues, one connection per process for producers. Every key lives under REDIS_PREFIX.
 */
import { Queue, type JobsOptions } from 'bullmq';
import { env } from '../env';
import { createRedis } from '../redis';
import { DEFAULT_JOB_OPTIONS, JOBS, type JobName, type JobPayload, type QueueName } from './catalogue';

const g = globalThis as unknown as { __tributaryQueues?: Map<string, Queue>; __tributaryQueueConn?: ReturnType<typeof createRedis> };

export function bullPrefix(): string {
  return `${env().REDIS_PREFIX}:bull`;
}

export function connection() {
  return (g.__tributaryQueueConn ??= createRedis());
}

export function queue(name: QueueName): Queue {
  const map = (g.__tributaryQueues ??= new Map());
  let q = map.get(name);
  if (!q) {
    q = new Queue(name, { connection: connection(), prefix: bullPrefix(), defaultJobOptions: { ...DEFAULT_JOB_OPTIONS } });
    // A queue re-emits its connection's errors; without a listener BullMQ console.error()s each
    // one (a stack per reconnect while Redis is down). The connection logs the outage once
    // (lib/redis.ts); what a command failed with reaches its caller.
    q.on('error', () => undefined);
    map.set(name, q);
  }
  return q;
}

export async function enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts: JobsOptions & { jobId: string }) {
  const def = JOBS[name];
  def.schema.parse(payload);
  return queue(def.queue).add(name, payload, opts);
}

export async function closeQueues() {
  const map = g.__tributaryQueues;
  if (map) await Promise.all([...map.values()].map((q) => q.close()));
  g.__tributaryQueues = undefined;
  if (g.__tributaryQueueConn) await g.__tributaryQueueConn.quit().catch(() => undefined);
  g.__tributaryQueueConn = undefined;
}
