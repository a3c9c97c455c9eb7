/**
 * An uncaught exception or unhandled rejection whose message quotes a value is logged by class
 * and code only, and the process exits 1 (for its supervisor to restart it).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

function crash(kind: 'throw' | 'reject') {
  const code = `
    const { installCrashLogging } = await import(${JSON.stringify(path.join(ROOT, 'lib', 'crash-logging.ts'))});
    const { logger } = await import(${JSON.stringify(path.join(ROOT, 'lib', 'logger.ts'))});
    installCrashLogging(logger('test'));
    const e = new TypeError('invalid input syntax for type integer: "DOE^JANE 0012345"');
    if (${JSON.stringify(kind)} === 'throw') setTimeout(() => { throw e; }, 1);
    else Promise.reject(e);
  `;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'info' } });
}

describe('crash logging', () => {
  it.each(['throw', 'reject'] as const)('an uncaught %s is logged by class only and exits 1', (kind) => {
    const r = crash(kind);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('"class":"TypeError"');
    expect(r.stderr).not.toContain('DOE^JANE');
    expect(r.stderr).not.toContain('0012345');
  });
});
