/**
 * The multipart framing both streaming readers use (lib/http/multipart-framing.ts): the same
 * parts whatever the chunking, delimiters only where RFC 2046 puts them, and each malformed
 * framing named.
 */
import { describe, expect, it } from 'vitest';
import { MultipartFraming, type FramingEvent, type FramingProblem } from '@/lib/http/multipart-framing';

const B = 'xyz-boundary';
const fail = (p: FramingProblem) => new Error(p);
const limits = { maxPreambleBytes: 1024, maxHeaderBytes: 512 };

function body(parts: { headers: string; data: string }[], { preamble = '', epilogue = '' } = {}): Buffer {
  let s = preamble ? `${preamble}\r\n` : '';
  for (const p of parts) s += `--${B}\r\n${p.headers}\r\n\r\n${p.data}\r\n`;
  return Buffer.from(`${s}--${B}--\r\n${epilogue}`, 'latin1');
}

/** Feeds `buf` in pieces of `size` bytes; returns the parts as (headers, data) and whether done. */
function run(buf: Buffer, size: number) {
  const f = new MultipartFraming(B, fail, limits);
  const events: FramingEvent[] = [];
  for (let i = 0; i < buf.length && !f.done; i += size) events.push(...f.push(buf.subarray(i, i + size)));
  if (!f.done) events.push(...f.push(null));
  const parts: { headers: Record<string, string>; data: string }[] = [];
  for (const e of events) {
    if (e.kind === 'part') parts.push({ headers: e.headers, data: '' });
    else if (e.kind === 'data') parts[parts.length - 1].data += e.chunk.toString('latin1');
  }
  const ends = events.filter((e) => e.kind === 'part-end').length;
  return { parts, ends, done: f.done, inPart: f.inPart };
}

describe('MultipartFraming', () => {
  const tricky = `a\r\n--${B.slice(0, 5)} not a delimiter\r\n-${B}\r\n`;
  const msg = body(
    [
      { headers: 'Content-Disposition: form-data; name="a"', data: 'one' },
      { headers: 'Content-Type: application/dicom\r\nX-Other:  spaced ', data: tricky },
      { headers: 'Content-Type: text/plain', data: '' },
    ],
    { preamble: 'ignored preamble', epilogue: `--${B}\r\nnot a part\r\n\r\nx` },
  );

  it('yields the same parts for every chunk size, down to one byte', () => {
    for (const size of [1, 2, 3, 7, 16, 64, msg.length]) {
      const r = run(msg, size);
      expect(r.done, `size ${size}`).toBe(true);
      expect(r.ends).toBe(3);
      expect(r.parts.map((p) => p.data)).toEqual(['one', tricky, '']);
      expect(r.parts[0].headers['content-disposition']).toBe('form-data; name="a"');
      expect(r.parts[1].headers).toEqual({ 'content-type': 'application/dicom', 'x-other': 'spaced' });
    }
  });

  it('reports a body cut inside a part as not done, still in the part', () => {
    const cut = msg.subarray(0, msg.indexOf('one') + 2);
    const r = run(cut, 5);
    expect(r.done).toBe(false);
    expect(r.inPart).toBe(true);
    expect(r.ends).toBe(0);
  });

  it('names malformed framing', () => {
    const f1 = new MultipartFraming(B, fail, limits);
    expect(() => f1.push(Buffer.alloc(2000, 0x61))).toThrow('no-boundary');
    const f2 = new MultipartFraming(B, fail, limits);
    expect(() => f2.push(Buffer.from(`--${B}garbage\r\n`))).toThrow('delimiter');
    const f3 = new MultipartFraming(B, fail, limits);
    expect(() => f3.push(Buffer.from(`--${B}\r\nX: ${'h'.repeat(600)}`))).toThrow('headers-too-long');
  });

  it('takes a delimiter at the very start, and only after a line break elsewhere', () => {
    const r = run(Buffer.from(`x--${B}\r\n--${B}\r\nA: 1\r\n\r\nv\r\n--${B}--`), 4);
    expect(r.done).toBe(true);
    expect(r.parts.map((p) => p.data)).toEqual(['v']);
  });
});
