/**
 * Our SCP against real senders: our own C-STORE SCU (byte-exact), DCMTK storescu, a raw
 * dcmjs-dimse client for crafted commands. No socket mocks.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dimse } from '@/lib/dicom/dimse';
import { readPart10Header } from '@/lib/dicom/part10';
import { StagingStream, startScp, type RunningScp, type StoredInfo } from '@/lib/dicom/scp';
import { DicomNetworkError, echo, store } from '@/lib/dicom/scu';
import { bufferSource, walkDataset } from '@/lib/dicom/walker';
import { generateCorpus, generateCtStudy } from '@/lib/synthetic';
import { DCMTK_ENV } from '../../helpers/orthanc';

const run = promisify(execFile);
const RX = 'TRIB_RX';
const SENDER = 'MODALITY1';

let root: string;
let staging: string;
let scp: RunningScp;
let failHook = false;
const stored: StoredInfo[] = [];
const corpus = generateCorpus({ seed: 11 });
const files: string[] = [];

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-scp-test-'));
  staging = path.join(root, 'staging');
  for (const [i, inst] of corpus.instances.entries()) {
    const f = path.join(root, 'src', `${i}.dcm`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, inst.buffer);
    files.push(f);
  }
  scp = await startScp({
    port: 0,
    hooks: {
      resolveCalledAe: async (ae) => (ae === RX ? { id: 'pool-rx', stagingDir: staging } : null),
      isCallingAeAllowed: async (calling) => calling !== 'STRANGER',
      onStored: async (info) => {
        if (failHook) throw new Error('database down');
        stored.push(info);
      },
    },
  });
});

afterAll(async () => {
  await scp?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  stored.length = 0;
  failHook = false;
});

const rx = () => ({ aeTitle: RX, host: '127.0.0.1', port: scp.port });
const datasetOf = (buf: Buffer) => buf.subarray(readPart10Header(buf).datasetOffset);
const incoming = () => (fs.existsSync(path.join(staging, '.incoming')) ? fs.readdirSync(path.join(staging, '.incoming')) : []);
function allFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('association negotiation', () => {
  it('answers C-ECHO for a known called AE', async () => {
    expect((await echo(rx(), SENDER)).ok).toBe(true);
  });

  it('rejects an unknown called AE', async () => {
    const err = await echo({ ...rx(), aeTitle: 'NOT_A_POOL' }, SENDER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DicomNetworkError);
    expect((err as DicomNetworkError).reason).toBe('association-rejected');
    expect((err as Error).message).toMatch(/called AE title "NOT_A_POOL" not recognised/);
  });

  it('rejects a calling AE the pool does not allow', async () => {
    const err = await echo(rx(), 'STRANGER').catch((e: unknown) => e);
    expect((err as DicomNetworkError).reason).toBe('association-rejected');
    expect((err as Error).message).toMatch(/calling AE title "STRANGER" not recognised/);
  });
});

describe('C-STORE', () => {
  it('stores byte-exact: the file is our meta header + exactly the bytes sent, private tags included', async () => {
    const r = await store(rx(), SENDER, files.slice(0, 4));
    expect(r).toEqual({ stored: 4, failed: 0 });
    expect(stored).toHaveLength(4);
    for (const s of stored) {
      const original = corpus.instances.find((i) => i.sopInstanceUid === s.sopInstanceUid)!;
      const got = fs.readFileSync(s.path);
      expect(datasetOf(got).equals(datasetOf(original.buffer))).toBe(true);
      expect(s.path).toBe(path.join(staging, original.studyInstanceUid, `${original.sopInstanceUid}.dcm`));
      expect(s).toMatchObject({ calledAe: RX, callingAe: SENDER, poolId: 'pool-rx', transferSyntaxUid: '1.2.840.10008.1.2.1', size: got.length });
      expect(readPart10Header(got)).toMatchObject({ sourceAeTitle: SENDER, mediaStorageSopInstanceUid: original.sopInstanceUid });
      expect(s.moveOriginatorAe).toBeUndefined();
    }
    const { stdout } = await run('dcmdump', [stored[0].path]);
    expect(stdout).toContain('(0009,0010) LO [ACME 1.1]');
    expect(stdout).toMatch(/\(0009,1001\) LO \[PT /);
    expect(stdout).toMatch(/\(0029,1010\) OB 53\\56\\31\\30/);
    expect(incoming()).toEqual([]);
  });

  it('takes objects from DCMTK storescu, uncompressed and JPEG-LS, stored in the accepted syntax', async () => {
    const jls = path.join(root, 'jls.dcm');
    await run('dcmcjpls', [files[5], jls], { env: DCMTK_ENV });
    await run('storescu', ['-aet', SENDER, '-aec', RX, '127.0.0.1', String(scp.port), files[4]], { env: DCMTK_ENV });
    await run('storescu', ['-aet', SENDER, '-aec', RX, '-xt', '127.0.0.1', String(scp.port), jls], { env: DCMTK_ENV });
    expect(stored).toHaveLength(2);
    const [plain, compressed] = stored;
    expect(plain.sopInstanceUid).toBe(corpus.instances[4].sopInstanceUid);
    expect(compressed.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.80');
    for (const s of stored) {
      const buf = fs.readFileSync(s.path);
      const walked = walkDataset(bufferSource(buf), readPart10Header(buf).datasetOffset, { explicitVr: true, littleEndian: true });
      expect(walked.end).toBe(buf.length);
      const { stdout } = await run('dcmdump', [s.path]);
      expect(stdout).toMatch(/\(0009,1001\) LO \[PT /);
    }
    const { stdout } = await run('dcmdump', ['-M', compressed.path]);
    expect(stdout).toMatch(/\(0002,0010\) UI =JPEGLSLossless/);
  });

  it('refuses a malformed object with a failure status, leaves nothing behind, and keeps serving the association', async () => {
    const good = fs.readFileSync(files[6]);
    const truncated = path.join(root, 'truncated.dcm');
    fs.writeFileSync(truncated, good.subarray(0, good.length - 1000));
    const garbage = path.join(root, 'garbage.dcm');
    const g = Buffer.from(fs.readFileSync(files[7]));
    // Corrupt an element header after the UIDs the sender reads (the walker meets it first).
    const at = g.indexOf(Buffer.from('SIEMENS CSA HEADER')) - 8;
    g.write('\x29\x00\x10\x00??', at, 'latin1');
    fs.writeFileSync(garbage, g);
    const statuses: number[] = [];
    const r = await store(rx(), SENDER, [truncated, files[6], garbage, files[8]], { onStored: (_f, st) => statuses.push(st) });
    expect(r).toEqual({ stored: 2, failed: 2 });
    expect(statuses).toEqual([0xc000, 0x0000, 0xc000, 0x0000]);
    expect(stored.map((s) => s.sopInstanceUid)).toEqual([corpus.instances[6].sopInstanceUid, corpus.instances[8].sopInstanceUid]);
    const onDisk = allFiles(staging).filter((f) => !f.includes('.incoming'));
    expect(onDisk.some((f) => f.includes(corpus.instances[7].sopInstanceUid))).toBe(false);
    expect(incoming()).toEqual([]);
    // ...and the SCP still serves new associations.
    expect((await echo(rx(), SENDER)).ok).toBe(true);
  });

  it('refuses an object whose SOP Instance UID differs from the C-STORE command', async () => {
    const { Client, Dataset, requests } = dimse;
    const inst = corpus.instances[9];
    const ds = new Dataset({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
      SOPInstanceUID: inst.sopInstanceUid,
      StudyInstanceUID: inst.studyInstanceUid,
      SeriesInstanceUID: inst.seriesInstanceUid,
      Modality: 'OT',
    }, '1.2.840.10008.1.2.1');
    const req = new requests.CStoreRequest(ds);
    req.setAffectedSopInstanceUid('1.2.3.4.5.6'); // the command says another object
    const status = await new Promise<number>((resolve, reject) => {
      const client = new Client();
      let st = -1;
      req.on('response', (rsp: { getStatus(): number }) => void (st = rsp.getStatus()));
      client.addRequest(req);
      client.on('closed', () => resolve(st));
      client.on('networkError', reject);
      client.send('127.0.0.1', scp.port, SENDER, RX);
    });
    expect(status).toBe(0xc000);
    expect(stored).toHaveLength(0);
    expect(allFiles(staging).some((f) => f.includes('1.2.3.4.5.6'))).toBe(false);
  });

  it('removes the file and fails the C-STORE when onStored throws', async () => {
    failHook = true;
    const inst = corpus.instances[10];
    expect(await store(rx(), SENDER, [files[10]])).toEqual({ stored: 0, failed: 1 });
    expect(fs.existsSync(path.join(staging, inst.studyInstanceUid, `${inst.sopInstanceUid}.dcm`))).toBe(false);
    failHook = false;
    expect(await store(rx(), SENDER, [files[10]])).toEqual({ stored: 1, failed: 0 });
  });

  it('drops a half-received object when the sender disappears mid-transfer', async () => {
    const [big] = [...generateCtStudy({ instances: 1, seed: 5, rows: 1024, columns: 1024 })];
    const f = path.join(root, 'big.dcm');
    fs.writeFileSync(f, big.buffer);
    const { Client, Dataset, requests } = dimse;
    const ds = Dataset.fromFile(f) as InstanceType<typeof Dataset>;
    const req = new requests.CStoreRequest(ds);
    await new Promise<void>((resolve) => {
      const client = new Client();
      client.addRequest(req);
      client.on('closed', () => resolve());
      client.on('networkError', () => undefined);
      client.send('127.0.0.1', scp.port, SENDER, RX);
      // Cut the connection once ~300 KB of the 2 MB object have gone out.
      const socket = (client as unknown as { network: { socket: import('node:net').Socket } }).network.socket;
      let sent = 0;
      const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
      (socket as unknown as { write: (chunk: Buffer) => boolean }).write = (chunk: Buffer) => {
        sent += chunk.length;
        if (sent > 300_000) {
          socket.destroy();
          return false;
        }
        return write(chunk);
      };
    });
    for (let i = 0; i < 50 && incoming().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(incoming()).toEqual([]);
    expect(allFiles(staging).some((x) => x.includes(big.sopInstanceUid))).toBe(false);
    expect(stored).toHaveLength(0);
    expect((await echo(rx(), SENDER)).ok).toBe(true);
  });

  // 128 KB PDUs (what Orthanc and DCMTK senders use) arrive in several socket reads and are
  // assembled before their data is written; both ways of writing staging files must keep every byte.
  for (const mode of ['sync', 'async'] as const) {
    it(`stores 128 KB-PDU objects intact with ${mode} staging writes`, async () => {
      const ct = [...generateCtStudy({ instances: 12, seed: mode === 'sync' ? 71 : 72, patientId: 'PDU' })];
      const dir = path.join(root, `ct-${mode}`);
      fs.mkdirSync(dir, { recursive: true });
      const paths = ct.map((inst, i) => {
        const f = path.join(dir, `${i}.dcm`);
        fs.writeFileSync(f, inst.buffer);
        return f;
      });
      const saved = StagingStream.writeMode;
      StagingStream.writeMode = mode;
      try {
        await run('storescu', ['-aet', SENDER, '-aec', RX, '--max-send-pdu', '131072', '127.0.0.1', String(scp.port), ...paths], { env: DCMTK_ENV });
      } finally {
        StagingStream.writeMode = saved;
      }
      expect(stored).toHaveLength(ct.length);
      // storescu re-encodes the dataset it reads (header elements may differ from the file's
      // bytes); the pixel data, 512 x 512 x 2 bytes at the end and nearly all of each object, does not.
      const pixels = 512 * 512 * 2;
      for (const s of stored) {
        const original = ct.find((i) => i.sopInstanceUid === s.sopInstanceUid)!;
        const got = fs.readFileSync(s.path);
        expect(walkDataset(bufferSource(got), readPart10Header(got).datasetOffset, { explicitVr: true, littleEndian: true }).end).toBe(got.length);
        expect(got.subarray(-pixels).equals(original.buffer.subarray(-pixels))).toBe(true);
      }
    });
  }

  it('serves concurrent associations', async () => {
    const batches = [files.slice(0, 6), files.slice(6, 12), files.slice(12, 18), files.slice(18, 24)];
    const results = await Promise.all([...batches.map((b) => store(rx(), SENDER, b)), echo(rx(), SENDER), echo(rx(), 'OTHER')]);
    expect(results.slice(0, 4)).toEqual(batches.map((b) => ({ stored: b.length, failed: 0 })));
    expect(new Set(stored.map((s) => s.sopInstanceUid)).size).toBe(24);
    for (const s of stored) {
      const original = corpus.instances.find((i) => i.sopInstanceUid === s.sopInstanceUid)!;
      expect(datasetOf(fs.readFileSync(s.path)).equals(datasetOf(original.buffer))).toBe(true);
    }
  });
});
