/**
 * A small supervisor for `npm start` and `npm run demo`: web and worker run as independent child
 * processes; when one exits unexpectedly it alone is restarted, after a delay that doubles with each
 * crash in a row (1 s, 2 s, 4 s … at most 30 s) and starts over once the child has stayed up for a
 * minute. The other keeps serving. SIGINT/SIGTERM stop both (SIGTERM to each, then wait).
 *
 * In production a system supervisor (systemd, docker compose `restart: unless-stopped`) should run
 * web and worker as two services instead (deploy/systemd/); this keeps a single `npm start` honest
 * on a machine without one.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
}

export interface SuperviseOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A child that ran this long before exiting counts as healthy: the next delay starts over. */
  resetAfterMs?: number;
  log?: (msg: string) => void;
  stdio?: 'inherit' | 'ignore';
}

export interface Supervisor {
  /** Current pid per child name (undefined while waiting to restart). */
  pids(): Record<string, number | undefined>;
  restarts(): Record<string, number>;
  stop(): Promise<void>;
}

export function supervise(specs: ChildSpec[], opts: SuperviseOptions): Supervisor {
  const initial = opts.initialDelayMs ?? 1_000;
  const max = opts.maxDelayMs ?? 30_000;
  const resetAfter = opts.resetAfterMs ?? 60_000;
  const log = opts.log ?? ((m: string) => process.stdout.write(`[tributary] ${m}\n`));
  const running = new Map<string, ChildProcess>();
  const restarts: Record<string, number> = {};
  const delays: Record<string, number> = {};
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  const start = (spec: ChildSpec) => {
    const startedAt = Date.now();
    const child = spawn(spec.command, spec.args, { cwd: opts.cwd, env: opts.env, stdio: opts.stdio ?? 'inherit' });
    running.set(spec.name, child);
    child.once('exit', (code, signal) => {
      running.delete(spec.name);
      if (stopping) return;
      const upFor = Date.now() - startedAt;
      delays[spec.name] = upFor >= resetAfter || delays[spec.name] === undefined ? initial : Math.min(max, delays[spec.name] * 2);
      restarts[spec.name] = (restarts[spec.name] ?? 0) + 1;
      const delay = delays[spec.name];
      log(`${spec.name} exited (${signal ?? `code ${code}`}) after ${Math.round(upFor / 1000)} s; restarting in ${Math.round(delay / 100) / 10} s`);
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopping) start(spec);
      }, delay);
      timers.add(t);
    });
  };
  for (const s of specs) start(s);

  return {
    pids: () => Object.fromEntries(specs.map((s) => [s.name, running.get(s.name)?.pid])),
    restarts: () => ({ ...restarts }),
    async stop() {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      const alive = [...running.values()].filter((c) => c.exitCode === null && c.signalCode === null);
      for (const c of alive) c.kill('SIGTERM');
      await Promise.all(alive.map((c) => new Promise((r) => c.once('exit', r))));
    },
  };
}
