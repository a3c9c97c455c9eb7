/**
 * A streaming ZIP writer for files that are already compressed or compress poorly (DICOM):
 * STORE method, UTF-8 names, ZIP64 records only where a size, an offset or the entry count
 * needs them (APPNOTE 6.3.x, sections 4.3 and 4.5.3).
 *
 * No data descriptors: every local header carries the real CRC-32 and sizes, which some
 * readers (Java's ZipInputStream among them) require for stored entries. The CRC is computed
 * by reading the entry once just before it is streamed (the second read comes from the page
 * cache). Memory: one read chunk at a time plus the central directory records (about 100 bytes
 * per entry); the output is pulled by the consumer, so a slow client slows the reads.
 *
 * Because every size is known before the first byte, the exact archive length is known too
 * (`zipLength`), so downloads can send Content-Length and browsers can show progress.
 */
import zlib from 'node:zlib';

export interface ZipSource {
  /** Path inside the archive, '/'-separated, no leading '/'. */
  name: string;
  /** Exact size in bytes (checked while streaming: a file that changed fails the archive). */
  size: number;
  /** Opens the entry's bytes; called twice (CRC pass, then data pass). */
  open(): AsyncIterable<Uint8Array>;
}

const U32 = 0xffffffff;
const U16 = 0xffff;
const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const EOCD64_SIG = 0x06064b50;
const LOCATOR_SIG = 0x07064b50;
const FLAG_UTF8 = 0x0800;
const VERSION_20 = 20;
const VERSION_45 = 45; // ZIP64
const MADE_BY_UNIX = 3 << 8;

export class ZipEntryChangedError extends Error {}

function dosDateTime(d: Date): { date: number; time: number } {
  const year = Math.max(1980, Math.min(2107, d.getFullYear()));
  return {
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
  };
}

const localNeeds64 = (size: number) => size >= U32;
const centralNeeds64 = (size: number, offset: number) => size >= U32 || offset >= U32;

function localHeaderLength(nameLength: number, size: number): number {
  return 30 + nameLength + (localNeeds64(size) ? 20 : 0);
}

function centralExtraLength(size: number, offset: number): number {
  if (!centralNeeds64(size, offset)) return 0;
  return 4 + (size >= U32 ? 16 : 0) + (offset >= U32 ? 8 : 0);
}

/** Exact byte length of the archive `createZipStream` writes for these entries. */
export function zipLength(entries: readonly { name: string; size: number }[]): number {
  let offset = 0;
  let central = 0;
  for (const e of entries) {
    const n = Buffer.byteLength(e.name, 'utf8');
    central += 46 + n + centralExtraLength(e.size, offset);
    offset += localHeaderLength(n, e.size) + e.size;
  }
  const needs64 = entries.length >= U16 || offset >= U32 || central >= U32;
  return offset + central + (needs64 ? 56 + 20 : 0) + 22;
}

interface CentralRecord {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
}

function localHeader(name: Buffer, crc: number, size: number, dt: { date: number; time: number }): Buffer {
  const z64 = localNeeds64(size);
  const h = Buffer.alloc(30 + (z64 ? 20 : 0));
  h.writeUInt32LE(LOCAL_SIG, 0);
  h.writeUInt16LE(z64 ? VERSION_45 : VERSION_20, 4);
  h.writeUInt16LE(FLAG_UTF8, 6);
  h.writeUInt16LE(0, 8); // STORE
  h.writeUInt16LE(dt.time, 10);
  h.writeUInt16LE(dt.date, 12);
  h.writeUInt32LE(crc, 14);
  h.writeUInt32LE(z64 ? U32 : size, 18);
  h.writeUInt32LE(z64 ? U32 : size, 22);
  h.writeUInt16LE(name.length, 26);
  h.writeUInt16LE(z64 ? 20 : 0, 28);
  if (z64) {
    h.writeUInt16LE(0x0001, 30);
    h.writeUInt16LE(16, 32);
    h.writeBigUInt64LE(BigInt(size), 34);
    h.writeBigUInt64LE(BigInt(size), 42);
  }
  return Buffer.concat([h.subarray(0, 30), name, h.subarray(30)]);
}

function centralHeader(r: CentralRecord, dt: { date: number; time: number }): Buffer {
  const extraLength = centralExtraLength(r.size, r.offset);
  const z64 = extraLength > 0;
  const h = Buffer.alloc(46 + r.name.length + extraLength);
  h.writeUInt32LE(CENTRAL_SIG, 0);
  h.writeUInt16LE(MADE_BY_UNIX | (z64 ? VERSION_45 : VERSION_20), 4);
  h.writeUInt16LE(z64 ? VERSION_45 : VERSION_20, 6);
  h.writeUInt16LE(FLAG_UTF8, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt16LE(dt.time, 12);
  h.writeUInt16LE(dt.date, 14);
  h.writeUInt32LE(r.crc, 16);
  h.writeUInt32LE(r.size >= U32 ? U32 : r.size, 20);
  h.writeUInt32LE(r.size >= U32 ? U32 : r.size, 24);
  h.writeUInt16LE(r.name.length, 28);
  h.writeUInt16LE(extraLength, 30);
  h.writeUInt16LE(0, 32); // comment
  h.writeUInt16LE(0, 34); // disk
  h.writeUInt16LE(0, 36); // internal attributes
  h.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
  h.writeUInt32LE(r.offset >= U32 ? U32 : r.offset, 42);
  r.name.copy(h, 46);
  if (z64) {
    let o = 46 + r.name.length;
    h.writeUInt16LE(0x0001, o);
    h.writeUInt16LE(extraLength - 4, o + 2);
    o += 4;
    // Only the fields whose 32-bit slot holds 0xFFFFFFFF, in this order.
    if (r.size >= U32) {
      h.writeBigUInt64LE(BigInt(r.size), o);
      h.writeBigUInt64LE(BigInt(r.size), o + 8);
      o += 16;
    }
    if (r.offset >= U32) h.writeBigUInt64LE(BigInt(r.offset), o);
  }
  return h;
}

function endRecords(count: number, cdOffset: number, cdSize: number): Buffer {
  const needs64 = count >= U16 || cdOffset >= U32 || cdSize >= U32;
  const parts: Buffer[] = [];
  if (needs64) {
    const z = Buffer.alloc(56);
    z.writeUInt32LE(EOCD64_SIG, 0);
    z.writeBigUInt64LE(44n, 4); // size of the rest of this record
    z.writeUInt16LE(MADE_BY_UNIX | VERSION_45, 12);
    z.writeUInt16LE(VERSION_45, 14);
    z.writeUInt32LE(0, 16);
    z.writeUInt32LE(0, 20);
    z.writeBigUInt64LE(BigInt(count), 24);
    z.writeBigUInt64LE(BigInt(count), 32);
    z.writeBigUInt64LE(BigInt(cdSize), 40);
    z.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(LOCATOR_SIG, 0);
    loc.writeUInt32LE(0, 4);
    loc.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    loc.writeUInt32LE(1, 16);
    parts.push(z, loc);
  }
  const e = Buffer.alloc(22);
  e.writeUInt32LE(EOCD_SIG, 0);
  e.writeUInt16LE(0, 4);
  e.writeUInt16LE(0, 6);
  e.writeUInt16LE(Math.min(count, U16), 8);
  e.writeUInt16LE(Math.min(count, U16), 10);
  e.writeUInt32LE(Math.min(cdSize, U32), 12);
  e.writeUInt32LE(Math.min(cdOffset, U32), 16);
  e.writeUInt16LE(0, 20);
  parts.push(e);
  return Buffer.concat(parts);
}

async function crcOf(src: ZipSource): Promise<number> {
  let crc = 0;
  let n = 0;
  for await (const chunk of src.open()) {
    crc = zlib.crc32(chunk, crc);
    n += chunk.length;
  }
  if (n !== src.size) throw new ZipEntryChangedError(`entry ${src.name}: ${n} bytes, expected ${src.size}`);
  return crc >>> 0;
}

/** The archive as a sequence of chunks; pulled by the consumer. */
export async function* zipChunks(entries: Iterable<ZipSource> | AsyncIterable<ZipSource>, opts: { date?: Date } = {}): AsyncGenerator<Uint8Array> {
  const dt = dosDateTime(opts.date ?? new Date());
  const records: CentralRecord[] = [];
  let offset = 0;
  for await (const src of entries) {
    const name = Buffer.from(src.name, 'utf8');
    if (name.length > U16) throw new Error('entry name too long');
    const crc = await crcOf(src);
    const header = localHeader(name, crc, src.size, dt);
    records.push({ name, crc, size: src.size, offset });
    yield header;
    offset += header.length;
    let n = 0;
    let check = 0;
    for await (const chunk of src.open()) {
      n += chunk.length;
      if (n > src.size) throw new ZipEntryChangedError(`entry ${src.name} grew while being written`);
      check = zlib.crc32(chunk, check);
      yield chunk;
    }
    if (n !== src.size || check >>> 0 !== crc) throw new ZipEntryChangedError(`entry ${src.name} changed while being written`);
    offset += n;
  }
  const cdOffset = offset;
  let cdSize = 0;
  // The central directory, in batches so that a 100k-entry archive is not one huge buffer.
  let batch: Buffer[] = [];
  let batchBytes = 0;
  for (const r of records) {
    const h = centralHeader(r, dt);
    batch.push(h);
    batchBytes += h.length;
    cdSize += h.length;
    if (batchBytes >= 256 * 1024) {
      yield Buffer.concat(batch);
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length) yield Buffer.concat(batch);
  yield endRecords(records.length, cdOffset, cdSize);
}

/**
 * A web ReadableStream of the archive (for a Response body). Nothing is read before the
 * consumer asks; cancelling the stream (client gone) closes the file being read.
 */
export function createZipStream(entries: Iterable<ZipSource> | AsyncIterable<ZipSource>, opts: { date?: Date; onError?: (e: unknown) => void } = {}): ReadableStream<Uint8Array> {
  const it = zipChunks(entries, opts);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const r = await it.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (e) {
          opts.onError?.(e);
          controller.error(e);
        }
      },
      async cancel() {
        await it.return(undefined);
      },
    },
    // No read-ahead: nothing is read until the consumer asks for it.
    { highWaterMark: 0 },
  );
}
