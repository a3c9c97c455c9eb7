/**
 * multipart/related bodies (RFC 2387) for WADO-RS answers and STOW-RS requests, both streamed:
 * an answer is produced part by part from files on disk as the client reads it (a study is never
 * assembled in memory), and a request is written part by part to temporary files as it arrives,
 * holding at most one network chunk plus a boundary's length in memory.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors';
import { MultipartFraming, type FramingProblem } from '../http/multipart-framing';
import { logger } from '../logger';
import { badRequest } from './errors';

const log = logger('dicomweb');
const CRLF = Buffer.from('\r\n');

export interface OutPart {
  /** Full part Content-Type, e.g. `application/dicom; transfer-syntax=1.2.840.10008.1.2.1`. */
  contentType: string;
  contentLocation?: string;
  /** Produces the part's bytes; called when the part is reached. */
  body: () => AsyncIterable<Uint8Array>;
}

/** Bytes of a file (or of the range [start, start+length)) in 256 KB chunks. */
export async function* fileChunks(absPath: string, start?: number, length?: number): AsyncGenerator<Uint8Array> {
  if (length === 0) return;
  const stream = createReadStream(absPath, {
    highWaterMark: 256 * 1024,
    ...(start !== undefined ? { start, end: length !== undefined ? start + length - 1 : undefined } : {}),
  });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } finally {
    stream.destroy();
  }
}

/** A pull-driven web stream over an async generator; cancelling (client gone) ends the generator and closes its files. */
export function streamOf(gen: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        const { value, done } = await gen.next();
        if (done) ctrl.close();
        else ctrl.enqueue(value);
      } catch (e) {
        // The status line is long gone: all we can do is cut the body short (the client sees no closing boundary).
        log.error('stream failed mid-answer', { err: e });
        ctrl.error(e);
      }
    },
    async cancel() {
      await gen.return(undefined);
    },
  });
}

export function newBoundary(): string {
  return `tributary-${randomBytes(16).toString('hex')}`;
}

/** A multipart/related answer; `type` is the root type parameter (e.g. application/dicom). */
export function multipartResponse(parts: AsyncIterable<OutPart>, type: string, headers: Record<string, string> = {}): Response {
  const boundary = newBoundary();
  async function* body(): AsyncGenerator<Uint8Array> {
    for await (const p of parts) {
      const head = [`--${boundary}`, `Content-Type: ${p.contentType}`];
      if (p.contentLocation) head.push(`Content-Location: ${p.contentLocation}`);
      yield Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1');
      yield* p.body();
      yield CRLF;
    }
    yield Buffer.from(`--${boundary}--\r\n`, 'latin1');
  }
  return new Response(streamOf(body()), {
    status: 200,
    headers: {
      'Content-Type': `multipart/related; type="${type}"; boundary=${boundary}`,
      'Cache-Control': 'private, no-store',
      ...headers,
    },
  });
}

// -------------------------------------------------------------------------------------------
// Reading (STOW-RS)

export interface ReceivedPart {
  index: number;
  /** Temporary file holding the part's body. */
  path: string;
  /** The part's Content-Type header, lower-cased media type with parameters as sent. */
  contentType: string | null;
  size: number;
}

/**
 * Writes every part of a multipart body into `dir` (one file per part) as it streams in.
 * Refuses a body larger than `maxBytes` (413) and malformed framing (400).
 */
export async function receiveMultipart(body: ReadableStream<Uint8Array> | null, boundary: string, dir: string, maxBytes: number): Promise<ReceivedPart[]> {
  if (!body) throw badRequest('The request has no body');
  return readMultipart(body as unknown as AsyncIterable<Uint8Array>, boundary, dir, {
    maxBytes,
    malformed: badRequest,
    tooLarge: () => new AppError('PAYLOAD_TOO_LARGE', `STOW-RS requests are limited to ${maxBytes} bytes`),
  });
}

export interface ReadMultipartOptions {
  maxBytes?: number;
  /** The error for broken framing (a truncated or malformed body). */
  malformed: (message: string) => Error;
  tooLarge?: () => Error;
  /**
   * Called with each part once it is complete on disk, before the next is read (back-pressure:
   * a slow consumer slows the reading). When given, parts are not kept in the returned list.
   */
  onPart?: (part: ReceivedPart) => Promise<void>;
  /**
   * Instead of files: where each part's body goes (a staging sink). `write` may return a promise
   * (back-pressure), `end` resolves once the part is handled, `abandon` drops a part cut short.
   */
  openPart?: (headers: Record<string, string>, index: number) => PartWriter;
}

export interface PartWriter {
  write(chunk: Buffer): Promise<void> | void;
  end(): Promise<void>;
  /** Drops a part cut short; awaited before the reader returns, so no descriptor outlives it. */
  abandon(): void | Promise<void>;
}

/** A part written to its own file (the default). */
async function filePart(dir: string, index: number, headers: Record<string, string>, onDone: (p: ReceivedPart) => Promise<void>): Promise<PartWriter> {
  const file = path.join(dir, `${String(index).padStart(5, '0')}.part`);
  const fh = await fs.open(file, 'w');
  const part: ReceivedPart = { index, path: file, contentType: headers['content-type'] ?? null, size: 0 };
  let closed = false;
  return {
    async write(chunk) {
      await fh.write(chunk);
      part.size += chunk.length;
    },
    async end() {
      closed = true;
      await fh.close();
      await onDone(part);
    },
    async abandon() {
      if (!closed) {
        closed = true;
        await fh.close().catch(() => undefined);
      }
    },
  };
}

/**
 * The streaming multipart/related reader (STOW-RS requests, WADO-RS answers): holds at most one
 * network chunk plus a boundary's length in memory, each part goes to its own file in `dir`.
 * A body that ends before its closing boundary is `malformed` (the part being written is left
 * as a .part file for the caller to remove with the directory).
 */
export async function readMultipart(source: AsyncIterable<Uint8Array>, boundary: string, dir: string, opts: ReadMultipartOptions): Promise<ReceivedPart[]> {
  const fail = opts.malformed;
  const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  if (!boundary || boundary.length > 200) throw fail('The multipart boundary is missing or too long');
  const problems: Record<FramingProblem, string> = {
    'no-boundary': 'No multipart boundary found in the body',
    delimiter: 'Malformed multipart delimiter line',
    'headers-too-long': 'Multipart part headers are too long',
  };
  const framing = new MultipartFraming(boundary, (problem) => fail(problems[problem]), { maxPreambleBytes: 64 * 1024, maxHeaderBytes: 16 * 1024 });
  const parts: ReceivedPart[] = [];
  let count = 0;
  let total = 0;
  let current: PartWriter | null = null;

  const partDone = async (p: ReceivedPart) => {
    if (opts.onPart) await opts.onPart(p);
    else parts.push(p);
  };

  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const { value, done } = await iterator.next();
      if (value) {
        total += value.length;
        if (total > maxBytes) throw (opts.tooLarge ?? (() => fail(`The body is larger than ${maxBytes} bytes`)))();
      }
      for (const ev of framing.push(value ?? null)) {
        if (ev.kind === 'part') {
          const index = count++;
          current = opts.openPart ? opts.openPart(ev.headers, index) : await filePart(dir, index, ev.headers, partDone);
        } else if (ev.kind === 'data') {
          if (!current) throw new Error('multipart data without a part');
          await current.write(ev.chunk);
        } else if (current) {
          const finished: PartWriter = current;
          current = null;
          await finished.end();
        }
      }
      if (framing.done || done) break;
    }
    if (!framing.done) throw fail('The multipart body ends before its closing boundary');
    // Anything after the closing boundary is an epilogue: not read.
    await iterator.return?.().catch(() => undefined);
    return parts;
  } catch (e) {
    await Promise.resolve(iterator.return?.()).catch(() => undefined);
    throw e;
  } finally {
    // A part cut short (the body ended or broke inside it) is dropped, never handed on.
    const cur = current as PartWriter | null;
    if (cur) await Promise.resolve(cur.abandon()).catch(() => undefined);
  }
}
