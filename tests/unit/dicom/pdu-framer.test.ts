/**
 * The SCP's PDU framing (lib/dicom/pdu-framer.ts): whatever way TCP cuts the bytes, the same PDUs
 * come out, whole and in order; an unknown PDU type is an error and nothing after it is framed.
 */
import { describe, expect, it } from 'vitest';
import { PduFramer } from '@/lib/dicom/pdu-framer';

function pdu(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(body.length, 2);
  return Buffer.concat([h, body]);
}

const body = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
const pdus = [pdu(0x01, body(68, 1)), pdu(0x04, body(300_000, 2)), pdu(0x04, body(12, 3)), pdu(0x05, body(4, 4)), pdu(0x04, body(0, 5))];
const stream = Buffer.concat(pdus);

function frame(cuts: number[]) {
  const out: Buffer[] = [];
  const errors: Error[] = [];
  const f = new PduFramer((p) => out.push(Buffer.from(p)), (e) => errors.push(e));
  let at = 0;
  for (const c of [...cuts, stream.length]) {
    f.push(stream.subarray(at, c));
    at = c;
  }
  return { out, errors };
}

describe('PduFramer', () => {
  it('gives back the same PDUs from one chunk, from 1-byte chunks and from random cuts', () => {
    const whole = frame([]);
    expect(whole.out.map((b) => b.toString('hex'))).toEqual(pdus.map((b) => b.toString('hex')));
    const bytes = frame(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(bytes.out).toHaveLength(pdus.length);
    expect(Buffer.concat(bytes.out).equals(stream)).toBe(true);
    for (let seed = 1; seed <= 20; seed++) {
      let x = seed;
      const cuts: number[] = [];
      for (let at = 0; ; ) {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        at += 1 + (x % 70_000);
        if (at >= stream.length) break;
        cuts.push(at);
      }
      const r = frame(cuts);
      expect(r.errors).toEqual([]);
      expect(r.out.map((b) => b.length)).toEqual(pdus.map((b) => b.length));
      expect(Buffer.concat(r.out).equals(stream)).toBe(true);
    }
  });

  it('reports an unknown PDU type once and frames nothing after it', () => {
    const out: Buffer[] = [];
    const errors: Error[] = [];
    const f = new PduFramer((p) => out.push(p), (e) => errors.push(e));
    f.push(Buffer.concat([pdus[0], pdu(0x09, body(10, 9)), pdus[2]]));
    f.push(pdus[3]);
    expect(out).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/Unknown PDU type: 9/);
  });
});
