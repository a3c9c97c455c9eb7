/**
 * The two dcmjs-dimse 0.3.3 problems we work around, each with a test that fails without the
 * workaround, and a test that shows the library's own behaviour (so we notice when an upgrade
 * fixes it and the workaround can go).
 *
 * (a) dimseStream is not reset after a command without a dataset (lib/dicom/patch.ts).
 * (b) The default C-STORE path re-encodes the object and drops private tags (lib/dicom/scp.ts
 *     streams the received bytes instead).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dimse } from '@/lib/dicom/dimse';
import { isPatched, setPatchEnabled } from '@/lib/dicom/patch';
import { readPart10Header } from '@/lib/dicom/part10';
import { startScp, type RunningScp, type StoredInfo } from '@/lib/dicom/scp';
import { findSeries, findStudies, move, store } from '@/lib/dicom/scu';
import { generateCorpus } from '@/lib/synthetic';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

const run = promisify(execFile);
const N = 40;

let root: string;
let scp: RunningScp;
let orthanc: OrthancHandle;
const stored: StoredInfo[] = [];
// One study, one series of N small instances: N pending C-MOVE responses without a dataset.
const corpus = generateCorpus({ patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: N, rows: 8, columns: 8, seed: 3 });
const studyUid = corpus.patients[0].studies[0].studyInstanceUid;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-dimse-fixes-'));
  scp = await startScp({
    port: 0,
    hooks: {
      resolveCalledAe: async () => ({ id: 'pool', stagingDir: path.join(root, 'staging') }),
      isCallingAeAllowed: async () => true,
      onStored: async (i) => void stored.push(i),
    },
  });
  orthanc = await startOrthanc({ modalities: { q: ['TRIB_Q', '127.0.0.1', 1], rx: ['TRIB_RX', '127.0.0.1', scp.port] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
});

afterAll(async () => {
  setPatchEnabled(true);
  await orthanc?.stop();
  await scp?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Moves the study and records the size of the command stream dcmjs-dimse parses each time. */
async function moveAndMeasure() {
  const proto = Object.getPrototypeOf(dimse.Scp.prototype) as {
    _performDimse: (this: { dimseStream?: { _getQueueSize(): number } }, pc: unknown, d: unknown) => void;
  };
  const inner = proto._performDimse;
  const sizes: number[] = [];
  proto._performDimse = function (pc, d) {
    sizes.push(this.dimseStream?._getQueueSize() ?? 0);
    return inner.call(this, pc, d);
  };
  try {
    stored.length = 0;
    const result = await move({ aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort }, 'TRIB_Q', 'TRIB_RX', { studyInstanceUid: studyUid });
    return { result, maxStream: Math.max(...sizes) };
  } finally {
    proto._performDimse = inner;
  }
}

describe('(a) dimseStream reset', () => {
  it('is applied: final C-MOVE counters are right and each command is parsed alone', async () => {
    expect(isPatched()).toBe(true);
    const { result, maxStream } = await moveAndMeasure();
    expect(result).toMatchObject({ status: 'success', completed: N, remaining: 0, failed: 0 });
    expect(stored).toHaveLength(N);
    // One C-MOVE-RSP command set is ~150 bytes; never a pile of them.
    expect(maxStream).toBeLessThan(400);
  });

  it('is still needed: without it the final response carries a stale "remaining" and the parse grows with every message', async () => {
    setPatchEnabled(false);
    try {
      const { result, maxStream } = await moveAndMeasure();
      // This is exactly what the previous test would see without the patch.
      expect(result.status).toBe('success');
      expect(result.remaining).toBe(1);
      expect(maxStream).toBeGreaterThan(N * 100);
    } finally {
      setPatchEnabled(true);
    }
  });

  it('can be switched off for a whole process with TRIBUTARY_DIMSE_UNPATCHED=1', async () => {
    const probe = path.join(root, 'probe.ts');
    fs.writeFileSync(probe, `import { isPatched } from ${JSON.stringify(path.resolve('lib/dicom/patch.ts'))};\nconsole.log(JSON.stringify(isPatched()));\n`);
    const tsx = path.resolve('node_modules/.bin/tsx');
    const off = await run(tsx, [probe], { env: { ...process.env, TRIBUTARY_DIMSE_UNPATCHED: '1', LOG_LEVEL: 'error' } });
    expect(off.stdout.trim()).toBe('false');
  });
});

describe('(a) 0xFF01 pending C-FIND responses', () => {
  /**
   * A tiny C-FIND SCP that answers every query with two 0xFF01 matches, then Success; the
   * second match and the final response come 50 ms later, as from a PACS still searching.
   */
  async function ff01Pacs() {
    const { Dataset, Scp, Server, constants, responses } = dimse;
    class Ff01Scp extends Scp {
      override associationRequested(a: Parameters<InstanceType<typeof Scp>['associationRequested']>[0]) {
        for (const { id } of a.getPresentationContexts()) {
          a.getPresentationContext(id).setResult(constants.PresentationContextResult.Accept, constants.TransferSyntax.ImplicitVRLittleEndian);
        }
        this.sendAssociationAccept();
      }
      override associationReleaseRequested() {
        this.sendAssociationReleaseResponse();
      }
      override cFindRequest(req: Parameters<InstanceType<typeof Scp>['cFindRequest']>[0], cb: Parameters<InstanceType<typeof Scp>['cFindRequest']>[1]) {
        const answers = ['1.2.3.1', '1.2.3.2'].map((uid) => {
          const r = responses.CFindResponse.fromRequest(req);
          r.setStatus(0xff01);
          r.setDataset(new Dataset({ PatientID: 'P1', StudyInstanceUID: uid, QueryRetrieveLevel: 'STUDY' }));
          return r;
        });
        const last = responses.CFindResponse.fromRequest(req);
        last.setStatus(constants.Status.Success);
        cb([answers[0]]);
        setTimeout(() => {
          this.sendResponse(req, answers[1]);
          this.sendResponse(req, last);
        }, 50);
      }
    }
    const port = await freePort();
    const server = new Server(Ff01Scp);
    server.listen(port);
    await new Promise((r) => setTimeout(r, 100));
    return { peer: { aeTitle: 'FF01', host: '127.0.0.1', port }, close: () => server.close() };
  }

  it('collects every match of a PACS that answers "pending" with 0xFF01', async () => {
    const pacs = await ff01Pacs();
    try {
      // Study level: our own C-FIND client (lib/dicom/cfind-client.ts); series level: dcmjs-dimse with the fix.
      const matches = await findStudies(pacs.peer, 'TRIB_Q', { patientId: 'P1' });
      expect(matches.map((m) => m.studyInstanceUid)).toEqual(['1.2.3.1', '1.2.3.2']);
      expect(await findSeries(pacs.peer, 'TRIB_Q', '1.2.3')).toHaveLength(2);
    } finally {
      pacs.close();
    }
  });

  it('is still needed: without the fix the query ends at the first 0xFF01 answer', async () => {
    const pacs = await ff01Pacs();
    setPatchEnabled(false);
    try {
      // Series level still goes through dcmjs-dimse (study level no longer does).
      const outcome = await findSeries(pacs.peer, 'TRIB_Q', '1.2.3').then(
        (m) => m.length,
        (e: Error) => e,
      );
      // dcmjs-dimse closes the request at the first answer and releases the association.
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toMatch(/did not finish answering/);
    } finally {
      setPatchEnabled(true);
      pacs.close();
    }
  });
});

describe('(b) byte-exact C-STORE streaming', () => {
  const inst = corpus.instances[0];
  let file: string;
  beforeAll(() => {
    file = path.join(root, 'one.dcm');
    fs.writeFileSync(file, inst.buffer);
  });
  const datasetOf = (buf: Buffer) => buf.subarray(readPart10Header(buf).datasetOffset);

  it('our SCP keeps the object exactly as sent, private tags included', async () => {
    stored.length = 0;
    expect(await store({ aeTitle: 'TRIB_RX', host: '127.0.0.1', port: scp.port }, 'SENDER', [file])).toEqual({ stored: 1, failed: 0 });
    const got = fs.readFileSync(stored[0].path);
    expect(datasetOf(got).equals(datasetOf(inst.buffer))).toBe(true);
    const { stdout } = await run('dcmdump', [stored[0].path]);
    expect(stdout).toMatch(/\(0009,1001\) LO \[PT /);
    expect(stdout).toContain('(0029,0010) LO [SIEMENS CSA HEADER]');
  });

  it("dcmjs-dimse's default path loses the private tags (why we override it)", async () => {
    const { Scp, Server, constants, responses } = dimse;
    const out = path.join(root, 'default-path.dcm');
    let done: () => void = () => undefined;
    const written = new Promise<void>((r) => (done = r));
    class DefaultScp extends Scp {
      override associationRequested(a: Parameters<InstanceType<typeof Scp>['associationRequested']>[0]) {
        for (const { id } of a.getPresentationContexts()) {
          a.getPresentationContext(id).setResult(constants.PresentationContextResult.Accept, constants.TransferSyntax.ExplicitVRLittleEndian);
        }
        this.sendAssociationAccept();
      }
      override associationReleaseRequested() {
        this.sendAssociationReleaseResponse();
      }
      override cStoreRequest(req: Parameters<InstanceType<typeof Scp>['cStoreRequest']>[0], cb: Parameters<InstanceType<typeof Scp>['cStoreRequest']>[1]) {
        // The library's way to persist what it received: its parsed Dataset, written back out.
        req.getDataset()?.toFile(out);
        const rsp = responses.CStoreResponse.fromRequest(req);
        rsp.setStatus(constants.Status.Success);
        cb(rsp);
        done();
      }
    }
    const port = await freePort();
    const server = new Server(DefaultScp);
    server.listen(port);
    await new Promise((r) => setTimeout(r, 100));
    try {
      expect(await store({ aeTitle: 'ANY', host: '127.0.0.1', port }, 'SENDER', [file])).toEqual({ stored: 1, failed: 0 });
      await written;
    } finally {
      server.close();
    }
    const got = fs.readFileSync(out);
    expect(datasetOf(got).equals(datasetOf(inst.buffer))).toBe(false);
    const { stdout } = await run('dcmdump', [out]);
    expect(stdout).toContain('(0010,0020) LO'); // the public part survived...
    expect(stdout).not.toMatch(/\(0009,1001\)/); // ...the private tags did not
    expect(stdout).not.toMatch(/\(0029,1010\)/);
  });
});
