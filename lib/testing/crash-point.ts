/**
 * Crash points for the crash-safety tests: `crashPoint('after-write')` kills the process with
 * SIGKILL (no handler, no cleanup, exactly like the OOM killer or a power cut of the process)
 * when TRIBUTARY_CRASH_AT names that point (`name`: the first time it is reached; `name@N`: the
 * N-th time, to crash in the middle of a study). Only in test mode (TRIBUTARY_MODE=test); in any
 * other mode this is one string comparison and never fires.
 *
 * TRIBUTARY_CRASH_AT is a test hook, not a setting: it is read here only, on purpose outside
 * lib/env.ts, and is not documented in the README's configuration table.
 */
import { env } from '../env';

export type CrashPointName = 'deid.before-write' | 'deid.after-write' | 'deid.after-commit' | 'export.before-record' | 'export.after-record';

const reached = new Map<string, number>();

export function crashPoint(name: CrashPointName): void {
  if (env().TRIBUTARY_MODE !== 'test') return;
  const [at, nth] = (process.env.TRIBUTARY_CRASH_AT ?? '').split('@');
  if (at !== name) return;
  const n = (reached.get(name) ?? 0) + 1;
  reached.set(name, n);
  if (n < Number(nth || 1)) return;
  process.kill(process.pid, 'SIGKILL');
  // Never go on past a crash point, even for the instant before the signal lands.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
