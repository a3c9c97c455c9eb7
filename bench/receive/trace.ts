/**
 * Where the time of one received instance goes (scratch tool for bench/receive): a private
 * Orthanc C-MOVEs N instances into lib/dicom/scp running IN THIS PROCESS with trivial hooks,
 * while the SCP's steps are timestamped from outside (prototype wrappers, nothing in lib/ is
 * changed): PDU arrivals (command, first/last dataset PDU), file open, each write, 'finish',
 * rename, onStored, the C-STORE-RSP written. Prints per-step medians.
 *
 *   npx tsx bench/receive/trace.ts [--instances 200] [--sync|--async] [--real] [--profile out.cpuprofile]
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { StagingStream, startScp, type ScpHooks } from '../../lib/dicom/scp';
import { PduFramer } from '../../lib/dicom/pdu-framer';
import { move } from '../../lib/dicom/scu';
import { generateCtStudy } from '../../lib/synthetic';
import { startOrthanc } from '../../tests/helpers/orthanc';
import { setupDatabase } from './database';

const argn = (n: string, d: number) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = argn('instances', 200);
if (process.argv.includes('--sync')) StagingStream.writeMode = 'sync';
if (process.argv.includes('--async')) StagingStream.writeMode = 'async';


type Ev = [number, string, number?];
const evs: Ev[] = [];
const now = () => performance.now();
const rec = (what: string, n?: number) => evs.push([now(), what, n]);

// Socket reads.
const push = PduFramer.prototype.push;
PduFramer.prototype.push = function (chunk: Buffer) {
  rec('read', chunk.length);
  return push.call(this, chunk);
};
// PDUs as dcmjs-dimse gets them.
const { dimse } = await import('../../lib/dicom/dimse');
const netProto = Object.getPrototypeOf(dimse.Scp.prototype) as { _processPdu(p: Buffer): Promise<void> };
const processPdu = netProto._processPdu;
netProto._processPdu = function (this: object, pdu: Buffer) {
  if (!(this instanceof dimse.Scp)) return processPdu.call(this, pdu);
  if (pdu[0] === 4) {
    const flags = pdu[11];
    rec(flags & 1 ? (flags & 2 ? 'cmd-last' : 'cmd') : flags & 2 ? 'data-last' : 'data', pdu.length);
  }
  const r = processPdu.call(this, pdu);
  if (pdu[0] === 4 && (pdu[11] & 3) === 2) rec('data-last-processed');
  return r;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const proto = StagingStream.prototype as unknown as Record<string, (this: StagingStream, ...a: any[]) => unknown>;
const construct = proto._construct;
proto._construct = function (this: StagingStream, cb: (e?: Error | null) => void) {
  rec('open-start');
  this.once('finish', () => rec('finish'));
  return construct.call(this, (e?: Error | null) => {
    rec('open-done');
    cb(e);
  });
};
const writev = proto._writev;
proto._writev = function (this: StagingStream, chunks: unknown, cb: (e?: Error | null) => void) {
  rec('write-start', (chunks as unknown[]).length);
  return writev.call(this, chunks, (e?: Error | null) => {
    rec('write-done');
    cb(e);
  });
};
const closeSync = fs.closeSync;
fs.closeSync = function (fd: number) {
  rec('close-start');
  closeSync(fd);
  rec('close-done');
} as typeof fs.closeSync;
const renameSync = fs.renameSync;
fs.renameSync = function (a: fs.PathLike, b: fs.PathLike) {
  rec('rename-start');
  renameSync(a, b);
  rec('rename-done');
} as typeof fs.renameSync;
const sockWrite = net.Socket.prototype.write;
net.Socket.prototype.write = function (this: net.Socket, data: unknown, ...rest: unknown[]) {
  if (Buffer.isBuffer(data) && data[0] === 4 && data.length < 400) rec('rsp');
  return (sockWrite as (...a: unknown[]) => boolean).call(this, data, ...rest);
} as typeof net.Socket.prototype.write;

const REAL = process.argv.includes('--real');
const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-trace-'));
let work = root;
let hooks: ScpHooks = {
  resolveCalledAe: async () => ({ id: 'x', stagingDir: work }),
  isCallingAeAllowed: async () => true,
  onStored: async () => undefined,
};
// --real: the worker's production hooks on a scratch database (bench/receive/database.ts).
const database = REAL ? await setupDatabase(root) : undefined;
if (database) {
  work = database.staging;
  hooks = (await import('../../lib/receive/scp-hooks')).scpHooks;
}
const onStored = hooks.onStored;
hooks = {
  ...hooks,
  onStored: async (info) => {
    rec('stored-start');
    await onStored(info);
    rec('stored');
  },
};
const scp = await startScp({ port: 0, host: '127.0.0.1', hooks });
const orthanc = await startOrthanc({ modalities: { BENCH: ['BENCH', '127.0.0.1', 1], TRIB: ['TRIB_REAL', '127.0.0.1', scp.port] } });
try {
  let studyUid = '';
  const bufs: Buffer[] = [];
  for (const inst of generateCtStudy({ instances: N })) {
    studyUid = inst.studyInstanceUid;
    bufs.push(inst.buffer);
  }
  await Promise.all([0, 1, 2, 3].map((k) => orthanc.uploadFiles(bufs.filter((_, i) => i % 4 === k))));
  const retrievalId = await database?.retrieval(orthanc.aet, studyUid);
  const peer = { aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort };
  // --profile FILE: a CPU profile of this process during the second round only.
  const profileTo = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  for (let round = 0; round < 2; round++) {
    if (profileTo && round === 1) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    if (database && retrievalId) await database.reset(retrievalId);
    for (const e of await fsp.readdir(work).catch(() => [])) if (e !== '.incoming') await fsp.rm(path.join(work, e), { recursive: true, force: true });
    evs.length = 0;
    const t0 = now();
    const r = await move(peer, 'BENCH', 'TRIB_REAL', { studyInstanceUid: studyUid });
    const secs = (now() - t0) / 1000;
    if (profileTo && round === 1) {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(profileTo, JSON.stringify(profile));
    }
    console.log(`round ${round + 1}: ${r.completed} in ${secs.toFixed(2)} s = ${(r.completed / secs).toFixed(0)}/s, load ${os.loadavg()[0].toFixed(1)}`);
  }
  // Per instance: split the event list at each 'cmd-last'.
  const objs: Ev[][] = [];
  for (const e of evs) {
    if (e[1] === 'cmd-last') objs.push([]);
    objs.at(-1)?.push(e);
  }
  const steps: Record<string, number[]> = {};
  const add = (k: string, v: number | undefined) => {
    if (v === undefined || Number.isNaN(v)) return;
    (steps[k] ??= []).push(v);
  };
  const pduSizes: number[] = [];
  const readSizes: number[] = [];
  let prevRsp: number | undefined;
  for (const o of objs) {
    const first = (w: string) => o.find((e) => e[1] === w)?.[0];
    const last = (w: string) => o.findLast((e) => e[1] === w)?.[0];
    const cmd = o[0][0];
    const rsp = first('rsp');
    for (const e of o) if (e[1] === 'data' || e[1] === 'data-last') pduSizes.push(e[2] ?? 0);
    for (const e of o) if (e[1] === 'read') readSizes.push(e[2] ?? 0);
    if (prevRsp !== undefined) add('prev rsp -> cmd', cmd - prevRsp);
    add('cmd -> open done', (first('open-done') ?? NaN) - cmd);
    add('cmd -> first data PDU', (first('data') ?? first('data-last') ?? NaN) - cmd);
    add('cmd -> last data PDU', (first('data-last') ?? NaN) - cmd);
    add('last PDU -> last write start', (last('write-start') ?? NaN) - (first('data-last') ?? NaN));
    add('last PDU -> finish', (first('finish') ?? NaN) - (first('data-last') ?? NaN));
    add('finish -> close start', (first('close-start') ?? NaN) - (first('finish') ?? NaN));
    add('close', (first('close-done') ?? NaN) - (first('close-start') ?? NaN));
    add('close done -> rename start', (first('rename-start') ?? NaN) - (first('close-done') ?? NaN));
    add('rename', (first('rename-done') ?? NaN) - (first('rename-start') ?? NaN));
    add('rename -> onStored', (first('stored-start') ?? NaN) - (first('rename-done') ?? NaN));
    add('onStored', (first('stored') ?? NaN) - (first('stored-start') ?? NaN));
    add('stored -> rsp', (rsp ?? NaN) - (first('stored') ?? NaN));
    add('last PDU -> rsp', (rsp ?? NaN) - (first('data-last') ?? NaN));
    add('cmd -> rsp', (rsp ?? NaN) - cmd);
    add('writes per object', o.filter((e) => e[1] === 'write-start').length);
    add('reads per object', o.filter((e) => e[1] === 'read').length);
    prevRsp = rsp;
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
  console.log(`instances traced (last round): ${objs.length}`);
  for (const [k, v] of Object.entries(steps)) console.log(`${k.padEnd(30)} median ${med(v).toFixed(3)}  p90 ${p90(v).toFixed(3)}  mean ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)}`);
  console.log(`data PDU size median ${med(pduSizes)}, max ${Math.max(...pduSizes)}; socket read median ${med(readSizes)}`);
  if (database && retrievalId) console.log('check', JSON.stringify(await database.check(retrievalId)));
} finally {
  await orthanc.stop();
  await scp.close();
  await database?.close();
  await fsp.rm(root, { recursive: true, force: true });
}
process.exit(0);
