/**
 * `npm start`'s supervisor: a child that crashes is restarted with a growing delay while the
 * other keeps running (same pid); stop() ends both.
 */
import { describe, expect, it } from 'vitest';
import { supervise } from '@/scripts/lib/supervise';
import { waitFor } from '../../helpers/fixtures';

describe('supervise', () => {
  it('restarts a crashed child with backoff and leaves the other alone', async () => {
    const lines: string[] = [];
    const sup = supervise(
      [
        { name: 'crasher', command: process.execPath, args: ['-e', 'setTimeout(() => process.exit(3), 50)'] },
        { name: 'steady', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
      ],
      { cwd: process.cwd(), env: process.env, initialDelayMs: 100, maxDelayMs: 400, resetAfterMs: 60_000, log: (m) => lines.push(m), stdio: 'ignore' },
    );
    const steadyPid = await waitFor(async () => sup.pids().steady, { what: 'steady child' });
    await waitFor(async () => (sup.restarts().crasher ?? 0) >= 4, { timeoutMs: 10_000, what: 'four restarts' });
    expect(sup.pids().steady).toBe(steadyPid);
    expect(sup.restarts().steady).toBeUndefined();
    // 100, 200, 400, 400 ms: doubling, capped.
    const delays = lines.filter((l) => l.startsWith('crasher exited')).map((l) => Number(/restarting in ([\d.]+) s/.exec(l)![1]));
    expect(delays.slice(0, 4)).toEqual([0.1, 0.2, 0.4, 0.4]);
    expect(lines[0]).toMatch(/crasher exited \(code 3\)/);
    await sup.stop();
    expect(() => process.kill(steadyPid, 0)).toThrow();
  });
});
