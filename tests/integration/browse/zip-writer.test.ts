/**
 * The streaming zip writer (lib/exports/zip.ts): readable by yauzl, exact length known in
 * advance, real CRCs in local headers, one entry open at a time and nothing read before the
 * consumer asks, ZIP64 beyond 65,535 entries, and a file that changes fails the archive.
 */
import { describe, expect, it } from 'vitest';
import { createZipStream, zipChunks, zipLength, ZipEntryChangedError, type ZipSource } from '@/lib/exports/zip';
import { unzip } from './unzip';

async function collect(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(Buffer.from(value));
  }
  return Buffer.concat(parts);
}

function memory(name: string, data: Buffer, chunk = 1000): ZipSource {
  return {
    name,
    size: data.length,
    async *open() {
      for (let o = 0; o < data.length; o += chunk) yield data.subarray(o, o + chunk);
    },
  };
}

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251));

describe('zip writer', () => {
  it('writes STORE entries that yauzl reads back byte for byte, with the length predicted', async () => {
    const data = [bytes(5000, 1), bytes(1, 2), Buffer.alloc(0), bytes(70_000, 3)];
    const names = ['A/1.dcm', 'A/b/2.dcm', 'empty.dcm', 'Ünïcode/é.dcm'];
    const files = names.map((n, i) => memory(n, data[i]));
    const zip = await collect(createZipStream(files));
    expect(zip.length).toBe(zipLength(files));
    const { entries, entryCount } = await unzip(zip);
    expect(entryCount).toBe(4);
    expect(entries.map((e) => e.name)).toEqual(files.map((f) => f.name));
    for (const [i, e] of entries.entries()) {
      expect(e.method).toBe(0);
      expect(e.localFlags & 0x0008).toBe(0); // no data descriptor
      expect(e.localFlags & 0x0800).toBe(0x0800); // UTF-8 names
      expect(e.data.equals(data[i])).toBe(true);
    }
  });

  it('reads one entry at a time, and nothing before the consumer asks', async () => {
    let opened = 0;
    let open = 0;
    let maxOpen = 0;
    const sources: ZipSource[] = Array.from({ length: 50 }, (_, i) => ({
      name: `f${i}.bin`,
      size: 300_000,
      async *open() {
        opened++;
        open++;
        maxOpen = Math.max(maxOpen, open);
        try {
          for (let k = 0; k < 3; k++) yield Buffer.alloc(100_000, i);
        } finally {
          open--;
        }
      },
    }));
    const stream = createZipStream(sources);
    await new Promise((r) => setTimeout(r, 20));
    expect(opened).toBe(0);
    const reader = stream.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // The first entry's CRC pass, and at most its data pass: 49 files untouched.
    expect(opened).toBeLessThanOrEqual(2);
    let biggest = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      biggest = Math.max(biggest, value.length);
    }
    expect(maxOpen).toBe(1);
    expect(opened).toBe(100);
    expect(biggest).toBeLessThanOrEqual(256 * 1024);
  });

  it('closes the entry being read when the consumer cancels', async () => {
    let closed = 0;
    const sources: ZipSource[] = Array.from({ length: 3 }, (_, i) => ({
      name: `f${i}`,
      size: 10 * 65536,
      async *open() {
        try {
          for (let k = 0; k < 10; k++) yield Buffer.alloc(65536);
        } finally {
          closed++;
        }
      },
    }));
    const reader = createZipStream(sources).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    // CRC pass of f0 finished normally, its data pass was interrupted: both closed, nothing left open.
    expect(closed).toBe(2);
  });

  it('writes ZIP64 end records beyond 65,535 entries', async () => {
    const n = 65_536 + 10;
    const files = Array.from({ length: n }, (_, i) => memory(`d/${i}`, Buffer.from([i & 0xff])));
    const zip = await collect(createZipStream(files));
    expect(zip.length).toBe(zipLength(files));
    // ZIP64 end of central directory record and locator, then the classic record saying 0xFFFF.
    const eocd = zip.length - 22;
    expect(zip.readUInt32LE(eocd)).toBe(0x06054b50);
    expect(zip.readUInt16LE(eocd + 10)).toBe(0xffff);
    expect(zip.readUInt32LE(eocd - 20)).toBe(0x07064b50);
    expect(zip.readUInt32LE(eocd - 20 - 56)).toBe(0x06064b50);
    const { entries, entryCount } = await unzip(zip);
    expect(entryCount).toBe(n);
    expect(entries[n - 1].name).toBe(`d/${n - 1}`);
    expect(entries[70].data[0]).toBe(70);
  }, 120_000);

  it('predicts the ZIP64 records for offsets past 4 GiB without writing them', () => {
    const small = zipLength([{ name: 'a', size: 10 }]);
    expect(small).toBe(30 + 1 + 10 + 46 + 1 + 22);
    // 3 GiB + 2 GiB: the third entry starts past 4 GiB, so its central record gets a ZIP64
    // offset (extra field of 4 + 8 bytes) and the central directory needs the ZIP64 end records.
    const big = zipLength([
      { name: 'a', size: 3 * 2 ** 30 },
      { name: 'b', size: 2 * 2 ** 30 },
      { name: 'c', size: 1 },
    ]);
    const local = 3 * (30 + 1) + 5 * 2 ** 30 + 1;
    const central = 2 * (46 + 1) + (46 + 1 + 12);
    expect(big).toBe(local + central + 56 + 20 + 22);
  });

  it('fails the archive when a file is not the size it was said to be', async () => {
    const liar: ZipSource = { name: 'x', size: 10, async *open() { yield Buffer.alloc(9); } };
    const chunks = zipChunks([liar]);
    await expect((async () => { for await (const _ of chunks) void _; })()).rejects.toBeInstanceOf(ZipEntryChangedError);
  });

  it('fails the archive when a file changes between its CRC pass and its data pass', async () => {
    let pass = 0;
    const flaky: ZipSource = { name: 'x', size: 4, async *open() { yield Buffer.from([1, 2, 3, pass++]); } };
    await expect(collect(createZipStream([flaky]))).rejects.toBeInstanceOf(ZipEntryChangedError);
  });
});
