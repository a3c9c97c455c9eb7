/**
 * A worker_threads pool running de-identification jobs on files, so the anonymize step uses every
 * core while the event loop stays free for the SCP and the queues.
 *
 * Workers start lazily on the first job (creating a pool costs nothing) and a worker that dies is
 * replaced; its job fails with an INTERNAL error and the caller's retry logic takes over. With
 * size 0 jobs run inline on the calling thread (tests, debugging, environments without the
 * worker entry file).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError } from '../errors';
import { logger } from '../logger';
import { type DeidJob, type DeidJobResult, type SerializedError, runDeidJob } from './worker-job';

export type { DeidJob, DeidJobResult } from './worker-job';

const log = logger('anonymize.pool');

interface Task {
  id: number;
  job: DeidJob;
  resolve(r: DeidJobResult): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Posted to this worker, oldest first: the one it runs, and the next one waiting in its port. */
  tasks: Task[];
  /** The rule sets this worker already holds (sent once, then named by their number). */
  rulesSent: Set<number>;
}

/**
 * Jobs posted to one worker at a time: the one it runs and the next, so it starts the next as soon
 * as it finishes instead of waiting for the main thread (busy receiving) to hear back and post it.
 */
const DEPTH = 2;
/** The main thread forgets what it sent a worker well before the worker drops it (256, worker.mjs). */
const RULES_FORGET = 200;

function moduleDir(): string {
  // tsx runs this file as CommonJS (__dirname); vitest and native ESM loaders give import.meta.url.
  if (typeof __dirname !== 'undefined') return __dirname;
  return path.dirname(fileURLToPath(import.meta.url));
}

/** The worker entry: next to this file, or under the working directory when bundled elsewhere. */
function workerEntry(): string | null {
  // turbopackIgnore: these paths are resolved at run time; without the hints Next's bundler
  // traces the whole project (tests and configs included) into the server build.
  const candidates = [
    path.join(/* turbopackIgnore: true */ moduleDir(), 'worker.mjs'),
    path.join(/* turbopackIgnore: true */ process.cwd(), 'lib', 'anonymize', 'worker.mjs'),
  ];
  return candidates.find((c) => existsSync(/* turbopackIgnore: true */ c)) ?? null;
}

export interface DeidPool {
  run(job: DeidJob): Promise<DeidJobResult>;
  close(): Promise<void>;
  readonly size: number;
}

export function createDeidPool(size: number = os.availableParallelism()): DeidPool {
  let entry: string | null = null;
  if (size > 0) {
    entry = workerEntry();
    if (!entry) {
      log.warn('worker entry not found; de-identifying on the calling thread');
      size = 0;
    }
  }
  const slots: Slot[] = [];
  const queue: Task[] = [];
  let nextId = 1;
  let closed = false;
  // Workers that die before they are ready (e.g. a module fails to load) would otherwise be
  // respawned forever while jobs wait; after a few in a row the pool gives up loudly.
  let startFailures = 0;
  let broken = false;

  // Each rule set object gets a number; a worker is sent its rules once, later jobs name them.
  const ruleIds = new WeakMap<object, number>();
  let nextRulesId = 1;
  const post = (slot: Slot, task: Task) => {
    const { rules, ...rest } = task.job;
    let rulesId = ruleIds.get(rules);
    if (rulesId === undefined) ruleIds.set(rules, (rulesId = nextRulesId++));
    if (slot.rulesSent.size >= RULES_FORGET) slot.rulesSent.clear();
    const send = !slot.rulesSent.has(rulesId);
    slot.rulesSent.add(rulesId);
    slot.worker.postMessage({ id: task.id, rulesId, job: send ? task.job : rest });
  };

  const dispatch = () => {
    // Every ready worker gets one job before any gets a second.
    for (let depth = 1; depth <= DEPTH && queue.length; depth++) {
      for (const slot of slots) {
        if (!queue.length) break;
        if (!slot.ready || slot.tasks.length >= depth) continue;
        const task = queue.shift()!;
        slot.tasks.push(task);
        post(slot, task);
      }
    }
    // Idle workers must not keep the process alive (a CLI run ends when its work does); busy or
    // starting ones must, or a caller awaiting a job could see the process exit under it.
    for (const slot of slots) {
      if (slot.tasks.length || queue.length) slot.worker.ref();
      else slot.worker.unref();
    }
  };

  const spawn = (): Slot => {
    // Constructed indirectly: Next's bundler treats `new Worker(<runtime path>)` as a reason to
    // trace the whole project into the server build (the entry is resolved at run time here).
    const worker = Reflect.construct(Worker, [entry!]) as Worker;
    const slot: Slot = { worker, ready: false, tasks: [], rulesSent: new Set() };
    worker.on('message', (msg: { ready?: boolean; id?: number; ok?: boolean; result?: DeidJobResult; error?: SerializedError }) => {
      if (msg.ready) {
        slot.ready = true;
        startFailures = 0;
        dispatch();
        return;
      }
      const i = slot.tasks.findIndex((t) => t.id === msg.id);
      const task = i >= 0 ? slot.tasks.splice(i, 1)[0] : null;
      if (task) {
        if (msg.ok) task.resolve(msg.result!);
        else task.reject(new AppError(msg.error!.code, msg.error!.message));
      }
      dispatch();
    });
    const fail = (why: string) => {
      const idx = slots.indexOf(slot);
      if (idx >= 0) slots.splice(idx, 1);
      // The job it was running fails; the one waiting behind it (not started) goes to another worker.
      const [running, ...waiting] = slot.tasks.splice(0);
      running?.reject(new AppError('INTERNAL', `De-identification worker ${why}`));
      queue.unshift(...waiting);
      if (closed || broken) return;
      if (!slot.ready && ++startFailures >= 3) {
        broken = true;
        log.error('de-identification workers cannot start', { why });
        for (const t of queue.splice(0)) t.reject(new AppError('INTERNAL', 'De-identification workers cannot start'));
        return;
      }
      log.warn('de-identification worker replaced', { why });
      slots.push(spawn());
      dispatch();
    };
    worker.on('error', (err) => fail(`crashed (${err.name})`));
    worker.on('exit', (code) => {
      if (!closed && slots.includes(slot)) fail(`exited with code ${code}`);
    });
    return slot;
  };

  return {
    size,
    run(job: DeidJob): Promise<DeidJobResult> {
      if (closed) return Promise.reject(new AppError('UNAVAILABLE', 'De-identification pool is closed'));
      if (broken) return Promise.reject(new AppError('INTERNAL', 'De-identification workers cannot start'));
      if (size === 0) return runDeidJob(job);
      if (!slots.length) for (let i = 0; i < size; i++) slots.push(spawn());
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, job, resolve, reject });
        dispatch();
      });
    },
    async close(): Promise<void> {
      closed = true;
      const closedError = () => new AppError('UNAVAILABLE', 'De-identification pool is closed');
      for (const t of queue.splice(0)) t.reject(closedError());
      for (const s of slots) for (const t of s.tasks.splice(0)) t.reject(closedError());
      await Promise.all(slots.splice(0).map((s) => s.worker.terminate()));
    },
  };
}
