/**
 * Issue 9, finding 6 (last point): whatever goes wrong while the SCP receives an object — the
 * disk fails mid-write, the onStored hook throws, the association is aborted or cut mid-object,
 * or something unexpected throws while the object is being finished — the descriptor is closed
 * and no .part (or unrecorded staged file) is left. Descriptors are counted in /proc/self/fd:
 * the SCP runs in this process.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dimse } from '@/lib/dicom/dimse';
import { liveStagingFiles, startScp, unwrittenStagingBytes, type RunningScp } from '@/lib/dicom/scp';
import { echo, store } from '@/lib/dicom/scu';
import { generateCorpus, generateCtStudy } from '@/lib/synthetic';

const RX = 'TRIB_CLEAN';
const SENDER = 'MODALITY1';

let root: string;
let staging: string;
let tiny: string;
let scp: RunningScp;
let mode: 'ok' | 'hook-throws' | 'tiny-disk' | 'unexpected' = 'ok';
let poolLookups = 0;
const corpus = generateCorpus({ seed: 12 });
let small: string;
let big: string;
let bigSop: string;

const fdCount = () => fs.readdirSync('/proc/self/fd').length;
function allFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
async function settle<T>(fn: () => T, want: (v: T) => boolean): Promise<T> {
  let v = fn();
  for (let i = 0; i < 100 && !want(v); i++) {
    await new Promise((r) => setTimeout(r, 20));
    v = fn();
  }
  return v;
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-scp-cleanup-'));
  staging = path.join(root, 'staging');
  // A 512 KB disk: a 2 MB object fails mid-write with ENOSPC.
  tiny = path.join(root, 'tiny');
  fs.mkdirSync(tiny);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', tiny]);
  small = path.join(root, 'small.dcm');
  fs.writeFileSync(small, corpus.instances[0].buffer);
  const [b] = [...generateCtStudy({ instances: 1, seed: 6, rows: 1024, columns: 1024 })];
  big = path.join(root, 'big.dcm');
  fs.writeFileSync(big, b.buffer);
  bigSop = b.sopInstanceUid;
  scp = await startScp({
    port: 0,
    hooks: {
      resolveCalledAe: async (ae) => {
        if (ae !== RX) return null;
        const dir = mode === 'tiny-disk' ? tiny : staging;
        if (mode !== 'unexpected') return { id: 'pool-clean', stagingDir: dir };
        // A stand-in for any bug that throws while an object is finished: looking at the staging
        // folder throws once an object's .part file exists (the association's and the object's
        // own looks come before it is opened).
        return {
          id: 'pool-clean',
          get stagingDir() {
            const incoming = path.join(dir, '.incoming');
            if (fs.existsSync(incoming) && fs.readdirSync(incoming).some((f) => f.endsWith('.part'))) {
              poolLookups++;
              throw new Error('unexpected');
            }
            return dir;
          },
        };
      },
      isCallingAeAllowed: async () => true,
      onStored: async () => {
        if (mode === 'hook-throws') throw new Error('database down');
      },
    },
  });
  // Warm up (lazily opened descriptors of the runtime) before any baseline is taken.
  expect(await store({ aeTitle: RX, host: '127.0.0.1', port: scp.port }, SENDER, [small])).toEqual({ stored: 1, failed: 0 });
  fs.rmSync(staging, { recursive: true, force: true });
});

afterAll(async () => {
  await scp?.close();
  try {
    execFileSync('umount', [tiny]);
  } catch {
    /* not mounted */
  }
  fs.rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  mode = 'ok';
});

const rx = () => ({ aeTitle: RX, host: '127.0.0.1', port: scp.port });

/** After the association: descriptors back to the baseline, nothing left on disk, nothing live. */
async function expectClean(baseline: number) {
  expect(await settle(fdCount, (n) => n <= baseline)).toBe(baseline);
  expect(await settle(() => [...allFiles(staging), ...allFiles(tiny)], (f) => f.length === 0)).toEqual([]);
  expect(liveStagingFiles().size).toBe(0);
  // Nothing of a failed object stays counted against the SCP's memory bounds (GLOBAL_HIGH).
  expect(await settle(unwrittenStagingBytes, (n) => n === 0)).toBe(0);
}

/** Sends the big object and cuts the association after ~300 KB: by socket close, or by an A-ABORT PDU. */
function sendAndCut(how: 'close' | 'abort'): Promise<void> {
  const { Client, Dataset, requests } = dimse;
  const req = new requests.CStoreRequest(Dataset.fromFile(big) as InstanceType<typeof Dataset>);
  return new Promise<void>((resolve) => {
    const client = new Client();
    client.addRequest(req);
    client.on('closed', () => resolve());
    client.on('networkError', () => resolve());
    client.send('127.0.0.1', scp.port, SENDER, RX);
    const socket = (client as unknown as { network: { socket: import('node:net').Socket } }).network.socket;
    let sent = 0;
    let cut = false;
    const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
    (socket as unknown as { write: (chunk: Buffer) => boolean }).write = (chunk: Buffer) => {
      if (cut) return false;
      sent += chunk.length;
      if (sent > 300_000) {
        cut = true;
        if (how === 'close') socket.destroy();
        else {
          // A-ABORT (PS3.8 9.3.8): type 0x07, length 4, source 0 (service user), reason 0.
          write(Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
          setTimeout(() => socket.destroy(), 200);
        }
        return false;
      }
      return write(chunk);
    };
  });
}

describe('the SCP leaves no descriptor and no file behind', () => {
  it('when the disk fails mid-write (ENOSPC)', async () => {
    const baseline = fdCount();
    mode = 'tiny-disk';
    expect(await store(rx(), SENDER, [big])).toEqual({ stored: 0, failed: 1 });
    await expectClean(baseline);
    // The space is free again: the next object fits.
    expect(await store(rx(), SENDER, [small])).toEqual({ stored: 1, failed: 0 });
    fs.rmSync(path.join(tiny, corpus.instances[0].studyInstanceUid), { recursive: true, force: true });
    await expectClean(baseline);
  });

  it('when the onStored hook throws', async () => {
    const baseline = fdCount();
    mode = 'hook-throws';
    expect(await store(rx(), SENDER, [small, big])).toEqual({ stored: 0, failed: 2 });
    await expectClean(baseline);
  });

  it('when the association is cut mid-object', async () => {
    const baseline = fdCount();
    await sendAndCut('close');
    await expectClean(baseline);
    expect(allFiles(root).some((f) => f.includes(bigSop) && f !== big)).toBe(false);
  });

  it('when the association is aborted (A-ABORT) mid-object', async () => {
    const baseline = fdCount();
    await sendAndCut('abort');
    await expectClean(baseline);
    expect((await echo(rx(), SENDER)).ok).toBe(true);
  });

  it('when something unexpected throws while the object is finished', async () => {
    const baseline = fdCount();
    mode = 'unexpected';
    poolLookups = 0;
    expect(await store(rx(), SENDER, [small])).toEqual({ stored: 0, failed: 1 });
    expect(poolLookups).toBeGreaterThanOrEqual(1);
    await expectClean(baseline);
  });
});
