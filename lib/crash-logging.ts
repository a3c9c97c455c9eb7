/**
 * Node prints an uncaught exception or unhandled rejection with its message and stack before it
 * exits, and a library error's message can quote a value it was handed (a name, an MRN). Long-
 * running processes install these handlers instead: the error is logged by class and code only
 * (lib/logger.ts), then the process exits with status 1 so its supervisor restarts it — the
 * state it was in is unknown, and every job step is idempotent.
 */
import type { Logger } from './logger';

export function installCrashLogging(log: Logger): void {
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception; exiting', { err });
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log.error('unhandled rejection; exiting', { err });
    process.exit(1);
  });
}
