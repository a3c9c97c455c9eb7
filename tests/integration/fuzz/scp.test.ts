/**
 * Fuzz: the DICOM SCP (lib/dicom/scp.ts, started as the worker starts it) on raw sockets.
 *
 * One real association (our C-STORE SCU sending two objects) is recorded once through a TCP proxy
 * (tests/helpers/tcp-proxy.ts); its bytes are then replayed with seeded mutations: PDU and PDV
 * lengths set to extremes, unknown PDU types, byte flips, truncations, duplicated and deleted
 * ranges, in random chunkings. Then slow-loris associations (opened and trickled, or stalled
 * mid-PDU). After all of it the SCP still answers DCMTK's echoscu and storescu, memory stayed
 * bounded, no .part file is left in staging, no descriptor is left open on it, and every object
 * the SCP reported as stored (a staging row, in the worker) has its complete file.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { StagingStream, startScp, type RunningScp, type StoredInfo } from '@/lib/dicom/scp';
import { store } from '@/lib/dicom/scu';
import { generateCorpus } from '@/lib/synthetic';
import { FUZZ_SEED, Mutator, fuzzCases, rssMiB } from '../../helpers/fuzz';
import { DCMTK_ENV } from '../../helpers/orthanc';
import { startTcpProxy } from '../../helpers/tcp-proxy';

const run = promisify(execFile);
const RX = 'TRIB_FUZZ';
const SENDER = 'MODALITY1';
const PDU_TIMEOUT_MS = 1500;

let root: string;
let staging: string;
let scp: RunningScp;
const rows: StoredInfo[] = [];
const files: string[] = [];
const corpus = generateCorpus({ seed: 13, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 4, rows: 16, columns: 16 });

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-fuzz-scp-'));
  staging = path.join(root, 'staging');
  for (const [i, inst] of corpus.instances.entries()) {
    const f = path.join(root, 'src', `${i}.dcm`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, inst.buffer);
    files.push(f);
  }
  scp = await startScp({
    port: 0,
    pduTimeoutMs: PDU_TIMEOUT_MS,
    hooks: {
      resolveCalledAe: async (ae) => (ae === RX ? { id: 'pool-fuzz', stagingDir: staging } : null),
      isCallingAeAllowed: async () => true,
      onStored: async (info) => void rows.push(info),
    },
  });
});

afterAll(async () => {
  await scp?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Splits a recorded client stream into PDUs: [offset, type, length]. */
function pdus(stream: Buffer): { at: number; type: number; length: number }[] {
  const out = [];
  for (let at = 0; at + 6 <= stream.length; ) {
    const length = stream.readUInt32BE(at + 2);
    out.push({ at, type: stream[at], length });
    at += 6 + length;
  }
  return out;
}

/**
 * Where a real peer stops and waits for an answer: after the association request and after the
 * last fragment of each dataset (it waits for the C-STORE-RSP before the next object).
 */
function turns(stream: Buffer): number[] {
  const out: number[] = [];
  for (const p of pdus(stream)) {
    const end = p.at + 6 + p.length;
    if (p.type === 0x01) out.push(end);
    if (p.type !== 0x04) continue;
    for (let at = p.at + 6; at + 6 <= end; at += 4 + stream.readUInt32BE(at)) {
      const last = at + 4 + stream.readUInt32BE(at) >= end;
      if (last && (stream[at + 5] & 0x03) === 0x02) out.push(end);
    }
  }
  return out;
}

/** Where lengths live: every PDU length, every PDV item length, the A-ASSOCIATE-RQ's item lengths. */
function hotspots(stream: Buffer): number[] {
  const out: number[] = [];
  for (const p of pdus(stream)) {
    out.push(p.at, p.at + 2);
    if (p.type === 0x04) {
      for (let at = p.at + 6; at + 6 <= p.at + 6 + p.length && at + 4 <= stream.length; at += 4 + stream.readUInt32BE(at)) out.push(at, at + 4, at + 5);
    } else if (p.type === 0x01) {
      for (let at = p.at + 6 + 68; at + 4 <= p.at + 6 + p.length && at + 4 <= stream.length; at += 4 + stream.readUInt16BE(at + 2)) out.push(at, at + 2);
    }
  }
  return out;
}

/**
 * Plays `bytes` to the SCP as a peer would: segment by segment (split at `splits`), each after the
 * SCP answered the previous one (or was silent for `idleMs`: a mutated length left it waiting),
 * then waits for the SCP to close the connection (release or abort). Once the SCP has been silent
 * for `idleMs` after the last segment the socket is half-closed; after `ms` it is destroyed.
 */
function replay(bytes: Buffer, m: Mutator, splits: number[], idleMs = 50, ms = 3000): Promise<'closed' | 'timeout' | 'refused'> {
  return new Promise((resolve) => {
    const sock = net.connect(scp.port, '127.0.0.1');
    const bounds = [...splits.filter((x) => x > 0 && x < bytes.length), bytes.length];
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    let next = 0;
    let from = 0;
    const done = (r: 'closed' | 'timeout' | 'refused') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(idle);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), ms);
    const step = () => {
      clearTimeout(idle);
      if (next >= bounds.length) {
        idle = setTimeout(() => sock.end(), idleMs);
        return;
      }
      const to = bounds[next++];
      for (let pos = from; pos < to; ) {
        const n = Math.min(to - pos, 1 + m.int(m.rand() < 0.2 ? 8 : 65536));
        sock.write(bytes.subarray(pos, pos + n));
        pos += n;
      }
      from = to;
      idle = setTimeout(step, idleMs);
    };
    sock.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'closed'));
    sock.on('close', () => done('closed'));
    sock.on('data', () => {
      clearTimeout(idle);
      idle = setTimeout(step, 5);
    });
    sock.on('connect', step);
  });
}

const incoming = () => {
  const dir = path.join(staging, '.incoming');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

function openFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

async function settle(check: () => boolean, ms = 5000) {
  for (let waited = 0; waited < ms && !check(); waited += 50) await new Promise((r) => setTimeout(r, 50));
}

describe('fuzz: DICOM SCP', () => {
  let recorded: Buffer;

  it('records one real association through a TCP proxy', async () => {
    const chunks: Buffer[] = [];
    const proxy = await startTcpProxy({ targetPort: scp.port, onClientChunk: (conn, chunk) => conn === 1 && chunks.push(Buffer.from(chunk)) });
    try {
      expect(await store({ aeTitle: RX, host: '127.0.0.1', port: proxy.port }, SENDER, files.slice(0, 2))).toEqual({ stored: 2, failed: 0 });
    } finally {
      await proxy.close();
    }
    recorded = Buffer.concat(chunks);
    const types = pdus(recorded).map((p) => p.type);
    expect(types[0]).toBe(0x01); // A-ASSOCIATE-RQ
    expect(types).toContain(0x04); // P-DATA-TF
    expect(types.at(-1)).toBe(0x05); // A-RELEASE-RQ
    // The unmutated recording replays: two more objects stored.
    rows.length = 0;
    expect(await replay(recorded, new Mutator(1), turns(recorded))).toBe('closed');
    await settle(() => rows.length === 2);
    expect(rows).toHaveLength(2);
  });

  it('survives mutated replays, unknown PDU types and absurd lengths', async () => {
    // Thousands of refusals, each logged at warn by design: keep the test output readable.
    const level = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'error';
    onTestFinished(() => {
      if (level === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = level;
    });
    const m = new Mutator(FUZZ_SEED);
    const spots = hotspots(recorded);
    const splits = turns(recorded);
    const cases = fuzzCases(400);
    const tally = { closed: 0, timeout: 0, refused: 0 };
    const rss0 = rssMiB();
    let peak = rss0;
    // Hand-made cases first: every unknown PDU type, and every PDU length at its extremes.
    const special: Buffer[] = [];
    for (const type of [0x00, 0x08, 0x09, 0x7f, 0xff]) {
      const b = Buffer.from(recorded);
      b[0] = type;
      special.push(b);
    }
    for (const p of pdus(recorded)) {
      for (const len of [0, 1, 0x7fffffff, 0xffffffff]) {
        const b = Buffer.from(recorded);
        b.writeUInt32BE(len, p.at + 2);
        special.push(b);
      }
    }
    for (const [i, b] of special.entries()) tally[await replay(b, m, i < 5 ? [] : splits)]++;
    for (let c = 0; c < cases; c++) {
      const { out } = m.mutate(recorded, { hotspots: spots, maxMutations: 3 });
      tally[await replay(out, m, splits)]++;
      if (c % 100 === 0) peak = Math.max(peak, rssMiB());
    }
    expect(tally.refused).toBe(0);
    // A half-closed socket that announced more data than it sent is closed by the SCP, at the latest by its PDU timeout.
    expect(tally.timeout).toBeLessThan((cases + special.length) / 20);
    expect(peak - rss0).toBeLessThan(300);
  }, 180_000);

  // Found by the fuzzer: a peer that sends its whole association in one burst (the next C-STORE
  // before our C-STORE-RSP) and closes made dcmjs-dimse's callback throw inside a promise once the
  // object was checked: an unhandled rejection, which ends the worker process under Node's default.
  // Only the latest object of an association was discarded on close; now all of them are.
  it('a pipelined burst (next C-STORE before our answer) neither crashes the process nor leaves files open', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The association request, then (once accepted) both objects and the release request at once.
      for (let i = 0; i < 5; i++) expect(await replay(recorded, new Mutator(i), turns(recorded).slice(0, 1))).toBe('closed');
      await settle(() => incoming().length === 0 && openFilesUnder(staging).length === 0);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled.map((e) => (e instanceof Error ? e.message : String(e)))).toEqual([]);
    expect(incoming()).toEqual([]);
    expect(openFilesUnder(staging)).toEqual([]);
    await run('echoscu', ['-aet', SENDER, '-aec', RX, '127.0.0.1', String(scp.port)], { env: DCMTK_ENV });
  });

  // Found by the fuzzer (FUZZ_SEED=2): an object refused before its staging file was open (a write
  // after the end of the stream errors at once) had its path removed first and its file opened after:
  // the descriptor stayed open on a deleted .part until the worker restarted.
  it('an object refused before its staging file is open leaves neither the descriptor nor the file', async () => {
    const dir = path.join(staging, '.incoming');
    fs.mkdirSync(dir, { recursive: true });
    const tempPath = path.join(dir, `1.2.3.4.abandoned-${process.pid}.part`);
    const s = new StagingStream(tempPath, Buffer.from('header'), () => undefined);
    s.on('error', () => undefined);
    // What the C-STORE's failure path does: close the descriptor (none yet) and remove the path.
    s.closeFd();
    fs.rmSync(tempPath, { force: true });
    await settle(() => s.errored !== null || s.destroyed, 2000);
    await new Promise((r) => setTimeout(r, 50));
    expect(openFilesUnder(tempPath)).toEqual([]);
    expect(fs.existsSync(tempPath)).toBe(false);
  });

  it('keeps serving while slow-loris associations trickle, and closes stalled ones', async () => {
    const trickle = (bytes: Buffer, everyMs: number) => {
      const sock = net.connect(scp.port, '127.0.0.1');
      sock.on('error', () => undefined);
      let pos = 0;
      const timer = setInterval(() => {
        if (pos < bytes.length && !sock.destroyed) sock.write(bytes.subarray(pos, ++pos));
      }, everyMs);
      sock.on('close', () => clearInterval(timer));
      return { sock, stop: () => (clearInterval(timer), sock.destroy()) };
    };
    // 40 associations that send one byte of their request every 200 ms (under the PDU timeout),
    // and 20 that send half a PDU and stop.
    const slow = Array.from({ length: 40 }, () => trickle(recorded, 200));
    const stalled = Array.from({ length: 20 }, () => {
      const sock = net.connect(scp.port, '127.0.0.1');
      sock.on('error', () => undefined);
      sock.on('connect', () => sock.write(recorded.subarray(0, 40)));
      return sock;
    });
    try {
      await new Promise((r) => setTimeout(r, 500));
      // Others are served meanwhile: DCMTK echoscu and storescu.
      await run('echoscu', ['-aet', SENDER, '-aec', RX, '127.0.0.1', String(scp.port)], { env: DCMTK_ENV });
      rows.length = 0;
      await run('storescu', ['-aet', SENDER, '-aec', RX, '127.0.0.1', String(scp.port), files[3]], { env: DCMTK_ENV });
      expect(rows.map((r) => r.sopInstanceUid)).toContain(corpus.instances[3].sopInstanceUid);
      // Stalled associations are closed by the PDU timeout.
      await settle(() => stalled.every((s) => s.destroyed || s.readableEnded), PDU_TIMEOUT_MS * 4);
      expect(stalled.filter((s) => !(s.destroyed || s.readableEnded))).toHaveLength(0);
    } finally {
      for (const s of slow) s.stop();
      for (const s of stalled) s.destroy();
    }
  });

  it('after the run: answers a real C-ECHO and C-STORE, leaves no .part file, no open staging file, no row without its file', async () => {
    const { stdout, stderr } = await run('echoscu', ['-v', '-aet', SENDER, '-aec', RX, '127.0.0.1', String(scp.port)], { env: DCMTK_ENV });
    expect(`${stdout}${stderr}`).toMatch(/Received Echo Response \(Success\)/);
    const before = rows.length;
    await run('storescu', ['-aet', SENDER, '-aec', RX, '127.0.0.1', String(scp.port), files[2]], { env: DCMTK_ENV });
    expect(rows.length).toBe(before + 1);
    await settle(() => incoming().length === 0 && openFilesUnder(staging).length === 0);
    expect(incoming()).toEqual([]);
    expect(openFilesUnder(staging).map((f) => path.relative(staging, f))).toEqual([]);
    for (const r of rows) {
      expect(fs.existsSync(r.path), r.path).toBe(true);
      expect(fs.statSync(r.path).size).toBe(r.size);
    }
  });
});
