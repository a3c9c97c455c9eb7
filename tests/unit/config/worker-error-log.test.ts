/**
 * BullMQ worker errors during a Redis outage: each kind (code) logged once a minute with the
 * count of what was not logged, even when kinds alternate (the chaos test's Redis restart produced
 * -1, another error, then -1 again within seconds, and the second -1 used to be logged again).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { workerErrorLog } from '@/lib/jobs/worker-error-log';

const err = (code?: string) => Object.assign(new Error('x'), code === undefined ? {} : { code });

describe('workerErrorLog', () => {
  afterEach(() => vi.useRealTimers());

  it('logs each code once a minute, however they alternate, then again with the count', () => {
    vi.useFakeTimers({ now: 0 });
    const lines: Record<string, unknown>[] = [];
    const onError = workerErrorLog('move', (f) => lines.push(f));
    for (const code of ['ECONNRESET', 'ECONNREFUSED', '-1', undefined, '-1', 'ECONNREFUSED', '-1']) onError(err(code));
    expect(lines.map((l) => String((l.err as { code?: string }).code ?? (l.err as Error).name))).toEqual(['ECONNRESET', 'ECONNREFUSED', '-1', 'Error']);
    vi.setSystemTime(61_000);
    onError(err('-1'));
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatchObject({ queue: 'move', repeatsNotLogged: 2 });
  });
});
