/**
 * An AE title is only a claim: the worker's SCP (real hooks, PostgreSQL) accepts a caller only
 * when its calling AE title belongs to a registered device AND the connection comes from that
 * device's address (its host, resolved, or the addresses/CIDR ranges the admin listed).
 *
 * The second address is real: a network namespace with its own veth pair, addresses from the
 * benchmarking range 198.18.0.0/15, DCMTK storescu run inside it against the SCP listening on all
 * interfaces. Creating it needs root (CI runs as root); without it this file fails, it does not
 * skip. The namespace and the veth pair are removed in afterAll.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { probeKey } from '@/lib/connectors/capabilities';
import { db } from '@/lib/db';
import { redis } from '@/lib/redis';
import { generateCorpus } from '@/lib/synthetic';
import { makeConnector, makePool, suffix } from '../../helpers/fixtures';
import { DCMTK_ENV, freePort } from '../../helpers/orthanc';

const run = promisify(execFile);

const tag = randomBytes(3).toString('hex');
const NS = `trib-${tag}`;
const HOST_IF = `tA${tag}`;
const NS_IF = `tB${tag}`;
let subnet = '';
let hostSide = '';
let nsSide = '';

let worker: { stop(): Promise<void>; scpPort: number };
let srcDir: string;
const corpus = generateCorpus({ seed: 907, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 3, rows: 16, columns: 16 });
const files: string[] = [];
let logLines: string[] = [];

const ip = (...args: string[]) => run('ip', args);

/** A 198.18.<x>.0/30 no interface on this machine uses yet. */
async function freeSubnet(): Promise<number> {
  const { stdout } = await ip('-4', '-o', 'addr', 'show');
  for (;;) {
    const x = randomInt(1, 255);
    if (!stdout.includes(` 198.18.${x}.`)) return x;
  }
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('peer-address tests need root to create a network namespace (CI runs as root); refusing to skip');
  const x = await freeSubnet();
  subnet = `198.18.${x}.0/30`;
  hostSide = `198.18.${x}.1`;
  nsSide = `198.18.${x}.2`;
  await ip('netns', 'add', NS);
  await ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
  await ip('link', 'set', NS_IF, 'netns', NS);
  await ip('addr', 'add', `${hostSide}/30`, 'dev', HOST_IF);
  await ip('link', 'set', HOST_IF, 'up');
  await ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${nsSide}/30`, 'dev', NS_IF);
  await ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
  await ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');

  srcDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-peer-'));
  for (const [i, inst] of corpus.instances.entries()) {
    const f = path.join(srcDir, `${i}.dcm`);
    await fs.writeFile(f, inst.buffer);
    files.push(f);
  }
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort: await freePort() });
});

afterAll(async () => {
  await worker?.stop();
  if (srcDir) await fs.rm(srcDir, { recursive: true, force: true });
  // Deleting one end of a veth pair deletes both; the namespace goes with whatever is left in it.
  await ip('link', 'del', HOST_IF).catch(() => undefined);
  await ip('netns', 'del', NS).catch(() => undefined);
});

beforeEach(() => {
  logLines = [];
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
    logLines.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stderr.write);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** storescu from 127.0.0.1, or from inside the namespace to the host end of the veth pair. */
async function storescu(from: 'loopback' | 'namespace', callingAe: string, calledAe: string, which = files) {
  const args = ['-v', '-aet', callingAe, '-aec', calledAe, from === 'loopback' ? '127.0.0.1' : hostSide, String(worker.scpPort), ...which];
  try {
    const r = from === 'loopback' ? await run('storescu', args, { env: DCMTK_ENV }) : await run('ip', ['netns', 'exec', NS, 'storescu', ...args], { env: DCMTK_ENV });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

function rejections(callingAe: string) {
  return logLines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'association rejected' && l.callingAe === callingAe);
}

async function pushDevice(host: string, addresses: string[] = []) {
  const s = suffix();
  const device = await db.device.create({ data: { name: `Scanner ${s}`, aeTitle: `SCAN_${s}`, host, port: 104, addresses } });
  const pool = await makePool();
  await db.poolDevice.create({ data: { poolId: pool.id, deviceId: device.id } });
  return { device, pool };
}

const REJECTED_CALLING = /Association Rejected[\s\S]*Calling AE Title Not Recognized/i;

describe('pushing into a research pool from a second address', () => {
  it('refuses a registered AE title calling from an address that is not its device’s, and accepts it once the admin lists that range', async () => {
    const { device, pool } = await pushDevice('127.0.0.1');

    const spoofed = await storescu('namespace', device.aeTitle, pool.aeTitle);
    expect(spoofed.ok, spoofed.out).toBe(false);
    expect(spoofed.out).toMatch(REJECTED_CALLING);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);
    const [logged] = rejections(device.aeTitle);
    expect(logged).toMatchObject({ level: 'warn', scope: 'dicom.scp', calledAe: pool.aeTitle, reason: 'address-mismatch' });
    expect(String(logged.peer)).toMatch(new RegExp(`(^|:)${nsSide.replace(/\./g, '\\.')}$`));
    for (const phi of corpus.phiStrings) expect(JSON.stringify(logged)).not.toContain(phi);

    await db.device.update({ where: { id: device.id }, data: { addresses: [subnet] } });
    const listed = await storescu('namespace', device.aeTitle, pool.aeTitle);
    expect(listed.ok, listed.out).toBe(true);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(files.length);
  });

  it('refuses a device’s AE title from 127.0.0.1 when its host is elsewhere, and takes it from its host', async () => {
    const { device, pool } = await pushDevice(nsSide);
    const fromLoopback = await storescu('loopback', device.aeTitle, pool.aeTitle);
    expect(fromLoopback.ok, fromLoopback.out).toBe(false);
    expect(fromLoopback.out).toMatch(REJECTED_CALLING);
    expect(rejections(device.aeTitle)[0]).toMatchObject({ reason: 'address-mismatch', peer: expect.stringMatching(/127\.0\.0\.1$/) });
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);

    const fromHost = await storescu('namespace', device.aeTitle, pool.aeTitle);
    expect(fromHost.ok, fromHost.out).toBe(true);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(files.length);
  });

  it('resolves a device’s host name: "localhost" is 127.0.0.1, not the namespace', async () => {
    const { device, pool } = await pushDevice('localhost');
    expect((await storescu('namespace', device.aeTitle, pool.aeTitle)).out).toMatch(REJECTED_CALLING);
    const ok = await storescu('loopback', device.aeTitle, pool.aeTitle);
    expect(ok.ok, ok.out).toBe(true);
  });

  it('logs an unknown calling AE with its own reason code', async () => {
    const { pool } = await pushDevice('127.0.0.1');
    const ae = `NOBODY_${suffix()}`;
    expect((await storescu('namespace', ae, pool.aeTitle)).out).toMatch(REJECTED_CALLING);
    expect(rejections(ae)[0]).toMatchObject({ reason: 'calling-ae-unknown', calledAe: pool.aeTitle });
  });
});

describe('C-MOVE sub-operations (C-STOREs into a connector’s receiving AE)', () => {
  /** Connector A (PACS at 127.0.0.1) moving the corpus study; connector B's PACS receives through the same AE. */
  async function movingRetrieval() {
    const a = await makeConnector({ pacsAe: `PACS_A_${suffix()}`, port: 1 });
    const deviceB = await db.device.create({ data: { name: `PACS B ${suffix()}`, aeTitle: `PACS_B_${suffix()}`, host: '127.0.0.1', port: 1 } });
    await db.connector.create({
      data: { name: `Connector B ${suffix()}`, deviceId: deviceB.id, queryPoolId: a.queryPool.id, receivingPoolId: a.receivingPool.id },
    });
    const research = await makePool();
    const study = corpus.patients[0].studies[0];
    const query = await db.query.create({ data: { poolId: research.id, connectorId: a.connector.id } });
    const item = await db.queryItem.create({ data: { queryId: query.id, rowNumber: 1, patientId: corpus.patients[0].patientId } });
    const result = await db.queryResult.create({
      data: { queryId: query.id, itemId: item.id, studyInstanceUid: study.studyInstanceUid, patientId: corpus.patients[0].patientId, selected: true },
    });
    const retrieval = await db.retrieval.create({
      data: { queryId: query.id, resultId: result.id, poolId: research.id, connectorId: a.connector.id, studyInstanceUid: study.studyInstanceUid, state: 'MOVING', expected: files.length },
    });
    return { a, deviceB, retrieval };
  }

  it('does not attach a study sent by another device to the connector’s retrieval; its own PACS is attached', async () => {
    const { a, deviceB, retrieval } = await movingRetrieval();

    // Another real device that receives through the same AE: the association is accepted, every store refused.
    const other = await storescu('loopback', deviceB.aeTitle, a.receivingPool.aeTitle);
    expect(other.out).not.toMatch(/Association Rejected/i);
    expect(other.out).toMatch(/Received Store Response \(.*0x110\)/);
    expect(other.out).not.toMatch(/Store Response \(Success\)/);
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: retrieval.id } })).received).toBe(0);
    expect(await db.stagedInstance.count({ where: { retrievalId: retrieval.id } })).toBe(0);

    // The connector's PACS AE title from the wrong address: not even an association.
    const spoofed = await storescu('namespace', a.device.aeTitle, a.receivingPool.aeTitle);
    expect(spoofed.out).toMatch(REJECTED_CALLING);
    expect(rejections(a.device.aeTitle)[0]).toMatchObject({ reason: 'address-mismatch', calledAe: a.receivingPool.aeTitle });
    expect(await db.stagedInstance.count({ where: { retrievalId: retrieval.id } })).toBe(0);

    // The connector's own PACS from its own address: attached.
    const own = await storescu('loopback', a.device.aeTitle, a.receivingPool.aeTitle);
    expect(own.ok, own.out).toBe(true);
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: retrieval.id } })).received).toBe(files.length);
    const staged = await db.stagedInstance.findMany({ where: { retrievalId: retrieval.id } });
    expect(staged.map((s) => s.callingAeTitle)).toEqual(files.map(() => a.device.aeTitle));
  });

  it('answers the capability check’s move test only from the connector’s own PACS', async () => {
    const { a, deviceB, retrieval } = await movingRetrieval();
    // No retrieval waits for the study any more: only the probe can take it.
    await db.retrieval.update({ where: { id: retrieval.id }, data: { state: 'DONE' } });
    const other = corpus.instances[1];
    const probe = probeKey(a.receivingPool.id, other.sopInstanceUid);
    await redis().set(probe, `waiting:${a.device.id}`, 'EX', 120);
    const fromB = await storescu('loopback', deviceB.aeTitle, a.receivingPool.aeTitle, [files[1]]);
    expect(fromB.out).toMatch(/Received Store Response \(.*0x110\)/);
    expect(await redis().get(probe)).toBe(`waiting:${a.device.id}`);
    const fromA = await storescu('loopback', a.device.aeTitle, a.receivingPool.aeTitle, [files[1]]);
    expect(fromA.ok, fromA.out).toBe(true);
    expect(await redis().get(probe)).toBe('received');
  });
});
