/**
 * A small seeded mutator for the fuzz tests (tests/integration/fuzz). Deterministic: the same seed
 * gives the same cases on every machine, so a failure names its seed and case number and can be
 * replayed exactly (FUZZ_SEED=<n> overrides the default seed, FUZZ_SCALE=<x> multiplies every case count).
 *
 * Strategies, chosen at random per mutation (one to `maxMutations` per case):
 *   bitflip      flip one bit
 *   interesting  set one byte to 0x00, 0x01, 0x7f, 0x80, 0xff
 *   truncate     cut the input at a random point
 *   duplicate    copy a random range and insert it elsewhere
 *   delete       remove a random range
 *   length16     set a 16-bit value to 0, 1, 0x7fff, 0x8000, 0xffff (little or big endian)
 *   length32     set a 32-bit value to 0, 1, 0x7fffffff, 0xfffffffe, 0xffffffff (LE or BE)
 *   insert       insert random bytes
 * `hotspots` (byte offsets of known length fields, e.g. PDU and element lengths) draw the 16/32-bit
 * strategies there half the time: random offsets rarely hit a length field.
 */

/** mulberry32: tiny, fast, good enough to spread mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261207);

/** Case count for a run: FUZZ_CASES scales every run (e.g. 10x for a long local session). */
export function fuzzCases(n: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? 1);
  return Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

export type Strategy = 'bitflip' | 'interesting' | 'truncate' | 'duplicate' | 'delete' | 'length16' | 'length32' | 'insert';
export const STRATEGIES: readonly Strategy[] = ['bitflip', 'interesting', 'truncate', 'duplicate', 'delete', 'length16', 'length32', 'insert'];

const INTERESTING8 = [0x00, 0x01, 0x7f, 0x80, 0xff];
const INTERESTING16 = [0, 1, 0x7fff, 0x8000, 0xffff];
const INTERESTING32 = [0, 1, 0x7fffffff, 0xfffffffe, 0xffffffff];

export class Mutator {
  readonly rand: () => number;
  constructor(seed: number) {
    this.rand = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** One mutation of `input` (never modifies it). */
  mutateOnce(input: Buffer, opts: { hotspots?: number[]; strategies?: readonly Strategy[] } = {}): { out: Buffer; strategy: Strategy } {
    const strategy = this.pick(opts.strategies ?? STRATEGIES);
    const b = Buffer.from(input);
    const len = b.length;
    if (len === 0) return { out: this.bytes(1 + this.int(16)), strategy: 'insert' };
    const at = (width: number) => {
      const hs = opts.hotspots?.filter((h) => h + width <= len) ?? [];
      if (hs.length && this.rand() < 0.5) return this.pick(hs);
      return this.int(Math.max(1, len - width + 1));
    };
    switch (strategy) {
      case 'bitflip': {
        const i = this.int(len);
        b[i] ^= 1 << this.int(8);
        return { out: b, strategy };
      }
      case 'interesting':
        b[this.int(len)] = this.pick(INTERESTING8);
        return { out: b, strategy };
      case 'truncate':
        return { out: b.subarray(0, this.int(len)), strategy };
      case 'duplicate': {
        const from = this.int(len);
        const n = 1 + this.int(Math.min(len - from, 4096));
        const to = this.int(len + 1);
        return { out: Buffer.concat([b.subarray(0, to), b.subarray(from, from + n), b.subarray(to)]), strategy };
      }
      case 'delete': {
        const from = this.int(len);
        const n = 1 + this.int(Math.min(len - from, 4096));
        return { out: Buffer.concat([b.subarray(0, from), b.subarray(from + n)]), strategy };
      }
      case 'length16': {
        if (len < 2) return { out: b, strategy };
        const i = at(2);
        const v = this.pick(INTERESTING16);
        if (this.rand() < 0.5) b.writeUInt16LE(v, i);
        else b.writeUInt16BE(v, i);
        return { out: b, strategy };
      }
      case 'length32': {
        if (len < 4) return { out: b, strategy };
        const i = at(4);
        const v = this.pick(INTERESTING32);
        if (this.rand() < 0.5) b.writeUInt32LE(v, i);
        else b.writeUInt32BE(v, i);
        return { out: b, strategy };
      }
      case 'insert': {
        const to = this.int(len + 1);
        return { out: Buffer.concat([b.subarray(0, to), this.bytes(1 + this.int(32)), b.subarray(to)]), strategy };
      }
    }
  }

  /** One to `maxMutations` mutations in a row. */
  mutate(input: Buffer, opts: { hotspots?: number[]; strategies?: readonly Strategy[]; maxMutations?: number } = {}): { out: Buffer; strategies: Strategy[] } {
    const n = 1 + this.int(opts.maxMutations ?? 3);
    let out = input;
    const strategies: Strategy[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.mutateOnce(out, opts);
      out = r.out;
      strategies.push(r.strategy);
    }
    return { out, strategies };
  }
}

/** Offsets of explicit-VR little-endian element length fields (16-bit short form, 32-bit long form) in a dataset. */
export function elementLengthOffsets(buf: Buffer, start = 0, max = 400): number[] {
  const out: number[] = [];
  const LONG = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
  let off = start;
  while (off + 8 <= buf.length && out.length < max) {
    const group = buf.readUInt16LE(off);
    const vr = buf.toString('latin1', off + 4, off + 6);
    if (group === 0xfffe) {
      out.push(off + 4);
      off += 8; // item / delimiter: step into it
      continue;
    }
    if (!/^[A-Z]{2}$/.test(vr)) break;
    if (LONG.has(vr)) {
      out.push(off + 8);
      const len = buf.readUInt32LE(off + 8);
      off += 12;
      if (vr === 'SQ' || len === 0xffffffff) continue; // walk into sequences and undefined lengths
      off += len;
    } else {
      out.push(off + 6);
      off += 8 + buf.readUInt16LE(off + 6);
    }
  }
  return out;
}

/** Resident set size in MiB. */
export function rssMiB(): number {
  return process.memoryUsage.rss() / (1024 * 1024);
}

/** Runs `fn` but fails (rather than hangs the suite) if it takes longer than `ms`. */
export async function withinMs<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hang: ${what} took more than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
