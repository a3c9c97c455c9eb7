/**
 * How StagingStream writes a received object (lib/dicom/scp.ts, StagingStream.writeMode): by
 * default ('auto') on the event loop, and through the thread pool for a while after a slow write
 * (the kernel throttling dirty pages must not stall every association more than once per period);
 * in the pool one write at a time, the chunks that arrive meanwhile batched. Every mode leaves
 * exactly the header and the chunks, in order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { StagingStream, streamFinished } from '@/lib/dicom/scp';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-staging-stream-'));
let n = 0;

async function writeObject(chunks: Buffer[]): Promise<{ file: string; content: Buffer; expected: Buffer }> {
  const file = path.join(dir, `o${++n}.part`);
  const header = Buffer.from(`header-${n}`);
  const s = new StagingStream(file, header, () => undefined);
  for (const c of chunks) s.write(c);
  s.end();
  expect(await streamFinished(s)).toBeUndefined();
  expect(s.bytes).toBe(header.length + chunks.reduce((a, c) => a + c.length, 0));
  s.closeFd();
  return { file, content: fs.readFileSync(file), expected: Buffer.concat([header, ...chunks]) };
}

const chunks = () => Array.from({ length: 6 }, (_, i) => Buffer.alloc(100_000 + i, i + 1));

afterEach(() => {
  vi.restoreAllMocks();
  StagingStream.writeMode = 'auto';
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('StagingStream writes', () => {
  it("'auto' writes on the event loop, and through the pool after a slow write", async () => {
    expect(StagingStream.writeMode).toBe('auto');
    const real = fs.writevSync;
    const sync = vi.spyOn(fs, 'writevSync');
    const pool = vi.spyOn(fs, 'writev');

    const a = await writeObject(chunks());
    expect(a.content.equals(a.expected)).toBe(true);
    expect(sync).toHaveBeenCalled();
    expect(pool).not.toHaveBeenCalled();

    // One write that takes longer than the limit (20 ms): the next objects go through the pool.
    sync.mockImplementationOnce((...args: Parameters<typeof fs.writevSync>) => {
      const t = performance.now();
      while (performance.now() - t < 40) {
        /* a throttled write */
      }
      return real(...args);
    });
    const b = await writeObject(chunks());
    expect(b.content.equals(b.expected)).toBe(true);
    const syncCalls = sync.mock.calls.length;
    const c = await writeObject(chunks());
    expect(c.content.equals(c.expected)).toBe(true);
    expect(pool).toHaveBeenCalled();
    expect(sync.mock.calls.length).toBe(syncCalls);
  });

  it("'async' writes one at a time, batching what arrives meanwhile", async () => {
    StagingStream.writeMode = 'async';
    const real = fs.writev;
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const pool = vi.spyOn(fs, 'writev').mockImplementation(((fd: number, bufs: Buffer[], pos: number, cb: (e: Error | null, n: number) => void) => {
      inFlight++;
      calls++;
      most = Math.max(most, inFlight);
      setTimeout(() => real(fd, bufs, pos, (e, w) => (inFlight--, cb(e, w))), 5);
    }) as unknown as typeof fs.writev);
    const file = path.join(dir, 'async.part');
    const header = Buffer.from('header-async');
    const s = new StagingStream(file, header, () => undefined);
    // Until the file is open and the header's write issued; chunks arriving while a write is in
    // flight go together in the next one.
    while (pool.mock.calls.length === 0) await new Promise((r) => setImmediate(r));
    const parts = chunks();
    for (const p of parts) {
      s.write(p);
      await new Promise((r) => setImmediate(r));
    }
    s.end();
    expect(await streamFinished(s)).toBeUndefined();
    s.closeFd();
    expect(most).toBe(1);
    expect(calls).toBeLessThan(parts.length + 1);
    expect(fs.readFileSync(file).equals(Buffer.concat([header, ...parts]))).toBe(true);
  });
});
