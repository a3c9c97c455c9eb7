/**
 * The framing of a multipart body (RFC 2046 5.1.1), shared by the two streaming readers:
 * multipart/form-data uploads (lib/api/read-form.ts) and multipart/related STOW-RS requests and
 * WADO-RS answers (lib/dicomweb/multipart.ts). It turns network chunks into part events and keeps
 * at most one chunk plus a delimiter's length (or one part's headers) buffered; what happens to a
 * part's bytes (memory, a file, a staging sink) and when access is decided is the reader's.
 *
 * Use: `push(chunk)` each chunk as it arrives, then `push(null)` at the end of the body, and
 * handle the events each call returns, in order. `done` is true once the closing delimiter was
 * seen; anything after it (an epilogue) is never looked at.
 */

export type FramingProblem =
  /** No delimiter within `maxPreambleBytes` of the start. */
  | 'no-boundary'
  /** Something other than whitespace after a delimiter. */
  | 'delimiter'
  /** A part's header block longer than `maxHeaderBytes`. */
  | 'headers-too-long';

export type FramingEvent =
  | { kind: 'part'; headers: Record<string, string> }
  | { kind: 'data'; chunk: Buffer }
  | { kind: 'part-end' };

export interface FramingLimits {
  maxPreambleBytes: number;
  maxHeaderBytes: number;
}

/** Part header lines as a map, names lower-cased. */
export function parsePartHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

export class MultipartFraming {
  private readonly dash: Buffer;
  private readonly delimiter: Buffer;
  private state: 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done' = 'preamble';
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    boundary: string,
    private readonly fail: (problem: FramingProblem) => Error,
    private readonly limits: FramingLimits,
  ) {
    this.dash = Buffer.from(`--${boundary}`, 'latin1');
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** The closing delimiter has been seen. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** Inside a part whose end has not been seen (a body cut short leaves one). */
  get inPart(): boolean {
    return this.state === 'body';
  }

  /** Feeds one chunk (null: the body has ended); returns what it completes, in order. */
  push(chunk: Uint8Array | null): FramingEvent[] {
    const events: FramingEvent[] = [];
    if (this.state === 'done') return events;
    if (chunk) this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (;;) {
      if (this.state === 'preamble') {
        let i = this.buf.indexOf(this.dash);
        // The first delimiter starts the body or follows a line break (RFC 2046 5.1.1).
        while (i > 0 && !(this.buf[i - 2] === 0x0d && this.buf[i - 1] === 0x0a)) i = this.buf.indexOf(this.dash, i + 1);
        if (i < 0) {
          if (this.buf.length > this.limits.maxPreambleBytes) throw this.fail('no-boundary');
          break;
        }
        this.buf = this.buf.subarray(i + this.dash.length);
        this.state = 'after-delimiter';
      }
      if (this.state === 'after-delimiter') {
        if (this.buf.length < 2) break;
        if (this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
          this.state = 'done';
          this.buf = Buffer.alloc(0);
          break;
        }
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) {
          if (this.buf.length > 1024) throw this.fail('delimiter');
          break;
        }
        if (this.buf.subarray(0, eol).toString('latin1').trim() !== '') throw this.fail('delimiter');
        // Keep the CRLF: headers end at the first empty line, which may be this very one.
        this.buf = this.buf.subarray(eol);
        this.state = 'headers';
      }
      if (this.state === 'headers') {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buf.length > this.limits.maxHeaderBytes) throw this.fail('headers-too-long');
          break;
        }
        events.push({ kind: 'part', headers: parsePartHeaders(this.buf.subarray(2, end).toString('latin1')) });
        this.buf = this.buf.subarray(end + 4);
        this.state = 'body';
      }
      if (this.state === 'body') {
        const j = this.buf.indexOf(this.delimiter);
        if (j < 0) {
          // Everything but a possible partial delimiter at the end belongs to the part.
          const keep = this.delimiter.length - 1;
          if (this.buf.length > keep) {
            events.push({ kind: 'data', chunk: this.buf.subarray(0, this.buf.length - keep) });
            this.buf = Buffer.from(this.buf.subarray(this.buf.length - keep));
          }
          break;
        }
        if (j > 0) events.push({ kind: 'data', chunk: this.buf.subarray(0, j) });
        events.push({ kind: 'part-end' });
        this.buf = this.buf.subarray(j + this.delimiter.length);
        this.state = 'after-delimiter';
        continue;
      }
      break;
    }
    return events;
  }
}
