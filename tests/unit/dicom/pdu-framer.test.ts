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

describe('PduFramer.recycle', () => {
  // Four 100 KB P-DATA-TFs, each arriving in two reads (so each is assembled, not a view).
  const big = [1, 2, 3, 4].map((k) => pdu(0x04, body(100_000, k)));
  const push = (f: PduFramer, p: Buffer) => {
    f.push(p.subarray(0, 40_000));
    f.push(p.subarray(40_000));
  };

  it('writes the next assembled PDU into memory handed back, and only then', () => {
    const got: Buffer[] = [];
    const f = new PduFramer((p) => got.push(p), () => undefined);
    push(f, big[0]);
    push(f, big[1]);
    // Not handed back: two distinct memories, both still intact.
    expect(got[0].buffer).not.toBe(got[1].buffer);
    expect(got[0].equals(big[0])).toBe(true);
    const copyOfSecond = Buffer.from(got[1]);
    f.recycle(got[1]);
    push(f, big[2]);
    // The third PDU now lives where the second did: correct bytes, and the second is overwritten.
    expect(got[2].buffer).toBe(got[1].buffer);
    expect(got[2].equals(big[2])).toBe(true);
    expect(got[1].equals(copyOfSecond)).toBe(false);
    // Handing back an older PDU (not the last one lent) is ignored.
    f.recycle(got[0]);
    push(f, big[3]);
    expect(got[3].buffer).not.toBe(got[0].buffer);
    expect(got[3].equals(big[3])).toBe(true);
    expect(got[0].equals(big[0])).toBe(true);
  });

  it('never reuses a view of a socket read, nor memory from Node\'s shared pool of small Buffers', () => {
    const got: Buffer[] = [];
    const f = new PduFramer((p) => got.push(p), () => undefined);
    const whole = pdu(0x04, body(50_000, 7));
    const read = Buffer.concat([whole]);
    f.push(read); // inside one read: a view of it
    expect(got[0].buffer).toBe(read.buffer);
    f.recycle(got[0]);
    const small = [pdu(0x04, body(100, 8)), pdu(0x04, body(100, 9))];
    for (const p of small) {
      f.push(p.subarray(0, 10));
      f.push(p.subarray(10));
    }
    // The read was not taken over: the next assembled PDU did not land in it.
    expect(read.equals(whole)).toBe(true);
    // Small assembled PDUs have memory of their own, not a slice of the shared 8 KB pool.
    expect(got[1].byteOffset).toBe(0);
    expect(got[1].buffer.byteLength).toBe(got[1].length);
    f.recycle(got[1]);
    const other = Buffer.from('shared pool neighbour');
    expect(got[2].equals(small[1])).toBe(true);
    expect(other.toString()).toBe('shared pool neighbour');
  });

  it('recognises P-DATA-TFs that carry only object data', async () => {
    const { isDataOnlyPDataTf } = await import('@/lib/dicom/scp');
    const pdv = (mch: number, n: number) => {
      const b = Buffer.alloc(6 + n);
      b.writeUInt32BE(2 + n, 0);
      b[4] = 1;
      b[5] = mch;
      return b;
    };
    expect(isDataOnlyPDataTf(pdu(0x04, Buffer.concat([pdv(0x00, 10), pdv(0x02, 5)])))).toBe(true);
    expect(isDataOnlyPDataTf(pdu(0x04, Buffer.concat([pdv(0x03, 10), pdv(0x00, 5)])))).toBe(false); // a command
    expect(isDataOnlyPDataTf(pdu(0x04, Buffer.concat([pdv(0x00, 10), pdv(0x01, 5)])))).toBe(false);
    expect(isDataOnlyPDataTf(pdu(0x01, pdv(0x00, 10)))).toBe(false); // not a P-DATA-TF
    const bad = pdu(0x04, pdv(0x00, 10));
    bad.writeUInt32BE(99, 6); // an item longer than the PDU
    expect(isDataOnlyPDataTf(bad)).toBe(false);
  });
});
