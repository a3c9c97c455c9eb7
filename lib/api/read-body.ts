/**
 * Request bodies read with a limit enforced on the bytes actually received, never on what the
 * client declares: a chunked body has no Content-Length and a declared one can lie. The stream is
 * pulled chunk by chunk and abandoned (413) as soon as the count passes the limit, so at most the
 * limit plus one network chunk is ever held. A declared Content-Length above the limit is refused
 * before anything is read (that only saves work; it is never trusted to accept).
 *
 * lib/api/handler.ts calls these only after access has been decided (or, where access depends on
 * a pool id inside the body, under a small cap first: see lib/api/read-form.ts).
 */
import { NextRequest } from 'next/server';
import { AppError } from '../errors';

/** The largest JSON body any endpoint accepts. */
export const JSON_MAX_BYTES = 1_000_000;

export function sizeLabel(bytes: number): string {
  return bytes >= 1_000_000 ? `${Math.max(1, Math.round(bytes / 1024 / 1024))} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** Pulls a body stream, counting bytes; the limit can be raised once access has been decided. */
export class LimitedBody {
  received = 0;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null;

  constructor(
    body: ReadableStream<Uint8Array> | null,
    private limit: number,
    private tooLarge: () => AppError,
  ) {
    this.reader = body ? body.getReader() : null;
  }

  setLimit(limit: number, tooLarge: () => AppError): void {
    this.limit = limit;
    this.tooLarge = tooLarge;
  }

  /** The next chunk, or null at the end of the body. Past the limit: cancels the stream and throws 413. */
  async read(): Promise<Uint8Array | null> {
    if (!this.reader) return null;
    const { value, done } = await this.reader.read();
    if (done) {
      this.reader = null;
      return null;
    }
    this.received += value.length;
    if (this.received > this.limit) {
      await this.cancel();
      throw this.tooLarge();
    }
    return value;
  }

  /** Stops reading (the rest of the body is never pulled). */
  async cancel(): Promise<void> {
    const r = this.reader;
    this.reader = null;
    await r?.cancel().catch(() => undefined);
  }
}

/** 413 at once when the client itself declares more than `max` bytes. */
export function refuseDeclaredSize(req: Request, max: number, tooLarge: () => AppError): void {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) throw tooLarge();
}

/** The whole body as bytes, at most `max` of them (413 beyond). */
export async function readBytes(req: Request, max: number, tooLarge: () => AppError): Promise<Buffer> {
  refuseDeclaredSize(req, max, tooLarge);
  const body = new LimitedBody(req.body, max, tooLarge);
  const chunks: Uint8Array[] = [];
  for (let c = await body.read(); c; c = await body.read()) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A JSON body (Content-Type application/json) of at most JSON_MAX_BYTES; an empty body is {}. */
export async function readJsonBody(req: Request, max = JSON_MAX_BYTES): Promise<unknown> {
  const type = req.headers.get('content-type') ?? '';
  if (!type.includes('application/json')) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send a JSON body (Content-Type: application/json)');
  const bytes = await readBytes(req, max, () => new AppError('PAYLOAD_TOO_LARGE', `Request bodies are limited to ${sizeLabel(max)}`));
  const text = bytes.toString('utf8');
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new AppError('BAD_REQUEST', 'The request body is not valid JSON');
  }
}

/**
 * The same request with its body read under `max` bytes (413 beyond), for handlers we do not
 * own that read bodies whole (next-auth's POSTs).
 */
export async function withBoundedBody(req: NextRequest, max: number, tooLarge: () => AppError): Promise<NextRequest> {
  const body = await readBytes(req, max, tooLarge);
  return new NextRequest(req.url, { method: req.method, headers: req.headers, body: body.length ? new Uint8Array(body) : undefined });
}
