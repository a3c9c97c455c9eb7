/**
 * Receive benchmark: how fast, and in how much memory, does Tributary's SCP take what a PACS
 * sends, compared with DCMTK storescp in the same run?
 *
 *   npx tsx bench/receive/run.ts [--instances 500] [--rounds 2]            C-MOVE from Orthanc
 *   npx tsx bench/receive/run.ts --mode big [--mb 1024]                    one 1 GB study, storescu
 *   npx tsx bench/receive/run.ts --mode concurrent [--associations 100] [--per 5] [--size 256]
 *   add --profile to write a CPU profile of the SCP process (node --cpu-prof) per receiver
 *
 * The SCP runs in a child process (bench/receive/scp-child.ts) so its peak RSS and its profile
 * are its own. Two Tributary receivers:
 *   - "trivial": lib/dicom/scp with hooks that record nothing (the SCP alone); in move mode also
 *     "async", the same with its staging writes forced through the libuv thread pool
 *     (StagingStream.writeMode 'async'; by default they are written on the event loop);
 *   - "real": the worker's production hooks (lib/receive/scp-hooks.ts: called AE -> pool from
 *     PostgreSQL, calling device identified by AE title and address, a StagedInstance row and the
 *     retrieval's count written before the C-STORE is answered) on a scratch database
 *     (BENCH_DATABASE_NAME, default bench_receive, dropped at the end).
 * The reference is DCMTK storescp (--accept-all, files written to a temp dir, same max PDU as the
 * SCP offers), sent the same data in the same run.
 *
 * move: a synthetic CT study (512 x 512, 16 bit, ~527 KB per instance) loaded into a private
 *   Orthanc; each round C-MOVEs it (our SCU) into every receiver. Best of the rounds and ratios.
 * big: a study of --mb megabytes (512 x 512 CT instances) written to a temp dir and pushed by
 *   DCMTK storescu on one association into "real" and into storescp; time and the SCP's peak RSS.
 * concurrent: --associations senders at once (our SCU, lib/dicom/scu store(), one association
 *   each, --per instances of --size x --size CT each), every instance a distinct SOP instance of
 *   one study, into "real" and into storescp, while a DCMTK echoscu loop C-ECHOes the receiver.
 *   Checks that every instance is staged exactly once (rows, retrieval count, files); prints
 *   C-STORE latency p50/p99 (request sent -> response), echo latency and every echo's outcome,
 *   the SCP's peak RSS.
 *
 * Never fails on timing; fails when a receiver ends with a wrong count. Orthanc, storescp,
 * storescu and echoscu run with TCP_NODELAY=1.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { move, store } from '../../lib/dicom/scu';
import { generateCtStudy } from '../../lib/synthetic';
import { DCMTK_ENV, startOrthanc, startStorescp, type StorescpHandle } from '../../tests/helpers/orthanc';
import { emptyDir, setupDatabase, type Database } from './database';
import { formatCpu, pidSetSource, processCpu, processCpuSplit, startCpuMeter, type CpuSource } from '../cpu';

const run = promisify(execFile);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
function sarg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? String(process.argv[i + 1]) : def;
}
const PROFILE = process.argv.includes('--profile');
/** The max PDU the senders may use toward storescp: DCMTK's own maximum (ASC_MAXIMUMPDUSIZE). */
const MAX_PDU = 131072;

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MB = (n: number) => `${(n / 1048576).toFixed(0)} MB`;

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.name.startsWith('.')) continue;
    n += e.isDirectory() ? await countFiles(path.join(dir, e.name)) : 1;
  }
  return n;
}


const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** The SCP in its own process. */
interface ScpChild {
  port: number;
  pid: number | undefined;
  staging: string;
  peak(): Promise<{ rss: number; peak: number; hwm: number }>;
  stop(): Promise<void>;
}

async function startChild(mode: 'trivial' | 'trivial-async' | 'real', staging: string, env: NodeJS.ProcessEnv, profDir: string): Promise<ScpChild> {
  // Node writes one profile per thread (tsx runs its module loader in a thread of its own), named
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>: the main thread, where the SCP runs, is thread 0.
  // A fixed --cpu-prof-name would make the threads overwrite each other's file (the loader thread,
  // idle, wrote last: the profiles before 2026-12-07 13:00 UTC were of the loader, not the SCP).
  // BENCH_SCP_NODE_FLAGS: extra node flags for the SCP processes (e.g. "--trace-gc" or
  // "--max-semi-space-size=32"), for experiments; node refuses some of them in NODE_OPTIONS.
  const extra = (process.env.BENCH_SCP_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const execArgv = ['--import', 'tsx', ...extra, ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profDir, `scp-${mode}-${Date.now()}`)}`] : [])];
  const child: ChildProcess = fork(path.join(ROOT, 'bench', 'receive', 'scp-child.ts'), [mode, staging], {
    cwd: ROOT,
    execArgv,
    env: { ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`SCP child exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as T);
      });
    });
  const { port } = await next<{ port: number }>();
  child.send({ cmd: 'peak' });
  const idle = await next<{ rss: number }>();
  console.log(`SCP process (${mode} hooks) started: RSS ${MB(idle.rss)} before receiving anything`);
  return {
    port,
    pid: child.pid,
    staging,
    async peak() {
      const p = next<{ rss: number; peak: number; hwm: number }>();
      child.send({ cmd: 'peak' });
      return p;
    },
    async stop() {
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.send({ cmd: 'stop' });
      await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}



async function modeMove(work: string, database: Database, profDir: string) {
  const instances = arg('instances', 500);
  const rounds = arg('rounds', 2);
  const trivialDir = path.join(work, 'trivial');
  const dcmtkDir = path.join(work, 'storescp');
  await fsp.mkdir(trivialDir, { recursive: true });
  const trivial = await startChild('trivial', trivialDir, process.env, profDir);
  const trivialAsync = await startChild('trivial-async', trivialDir, process.env, profDir);
  const real = await startChild('real', database.staging, database.env, profDir);
  const storescp = await startStorescp({ aet: 'STORESCP', dir: dcmtkDir, maxPdu: MAX_PDU });
  const orthanc = await startOrthanc({
    modalities: {
      BENCH: ['BENCH', '127.0.0.1', 1],
      TRIB_RX: ['TRIB_RX', '127.0.0.1', trivial.port],
      TRIB_REAL: ['TRIB_REAL', '127.0.0.1', real.port],
      TRIB_ASYNC: ['TRIB_ASYNC', '127.0.0.1', trivialAsync.port],
      STORESCP: ['STORESCP', '127.0.0.1', storescp.port],
    },
  });
  try {
    let t = performance.now();
    let studyUid = '';
    let bytes = 0;
    let batch: Buffer[] = [];
    const flush = async () => {
      const parts = [0, 1, 2, 3].map((k) => batch.filter((_, i) => i % 4 === k));
      await Promise.all(parts.map((p) => orthanc.uploadFiles(p)));
      batch = [];
    };
    for (const inst of generateCtStudy({ instances })) {
      studyUid = inst.studyInstanceUid;
      bytes += inst.buffer.length;
      batch.push(inst.buffer);
      if (batch.length === 40) await flush();
    }
    await flush();
    const loaded = await orthanc.countInstances();
    console.log(`loaded ${loaded} instances (${MB(bytes)}) into Orthanc in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const retrievalId = await database.retrieval(orthanc.aet, studyUid);

    const peer = { aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort };
    const names = ['trivial', 'async', 'real', 'storescp'] as const;
    const best: Record<(typeof names)[number], number> = { trivial: 0, async: 0, real: 0, storescp: 0 };
    const peaks: Record<string, number> = {};
    // CPU per instance of each receiver, and of the whole transfer (bench/cpu.ts): the sender
    // (Orthanc), the receiver, and for the production hooks the PostgreSQL backends.
    const cpuPer: Record<(typeof names)[number], number[]> = { trivial: [], async: [], real: [], storescp: [] };
    const orthancCpu: CpuSource = { name: 'Orthanc', read: () => processCpu(orthanc.pid) };
    const pg = pidSetSource('PostgreSQL', database.backendPids);
    for (let r = 1; r <= rounds; r++) {
      for (const name of names) {
        const dest = name === 'trivial' ? 'TRIB_RX' : name === 'async' ? 'TRIB_ASYNC' : name === 'real' ? 'TRIB_REAL' : 'STORESCP';
        const dir = name === 'trivial' || name === 'async' ? trivialDir : name === 'real' ? database.staging : dcmtkDir;
        if (name === 'real') await database.reset(retrievalId);
        else await emptyDir(dir);
        const child = name === 'trivial' ? trivial : name === 'async' ? trivialAsync : name === 'real' ? real : null;
        await child?.peak();
        const receiverPid = child ? child.pid : storescp.pid;
        const receiverCpu: CpuSource = { name: name === 'storescp' ? 'storescp' : 'SCP', read: () => processCpu(receiverPid) };
        const split0 = processCpuSplit(receiverPid);
        const meter = await startCpuMeter(name === 'real' ? [orthancCpu, receiverCpu, pg] : [orthancCpu, receiverCpu]);
        t = performance.now();
        const res = await move(peer, 'BENCH', dest, { studyInstanceUid: studyUid });
        const secs = (performance.now() - t) / 1000;
        if (name === 'storescp') await new Promise((r) => setTimeout(r, 200)); // its last file's work
        const cpu = await meter.stop();
        cpuPer[name].push((1000 * (cpu.parts[receiverCpu.name] + (cpu.parts.PostgreSQL ?? 0))) / loaded);
        const files = await countFiles(dir);
        const rate = res.completed / secs;
        best[name] = Math.max(best[name], rate);
        let extra = '';
        if (child) {
          const m = await child.peak();
          peaks[name] = Math.max(peaks[name] ?? 0, m.peak);
          extra = `, SCP peak RSS ${MB(m.peak)}`;
        }
        if (name === 'real') {
          const c = await database.check(retrievalId);
          extra += `, ${c.rows} staged rows (${c.distinct} distinct), received ${c.received}`;
          if (c.rows !== loaded || c.distinct !== loaded || c.received !== loaded) throw new Error(`real hooks: expected ${loaded} rows, got ${JSON.stringify(c)}`);
        }
        console.log(
          `round ${r} ${name.padEnd(8)}: ${res.status}, ${res.completed} completed, ${res.failed} failed, ${files} files, ${secs.toFixed(2)} s, ${rate.toFixed(0)} instances/s${extra}`,
        );
        const split1 = processCpuSplit(receiverPid);
        console.log(`           ${formatCpu(cpu)}; ${receiverCpu.name} user ${(split1.user - split0.user).toFixed(2)} s, system ${(split1.system - split0.system).toFixed(2)} s`);
        if (res.completed !== loaded || files !== loaded) throw new Error(`${name}: expected ${loaded} instances, got ${res.completed} / ${files} files`);
      }
    }
    console.log('');
    console.log(
      `best of ${rounds}: storescp ${best.storescp.toFixed(0)}/s; Tributary trivial hooks ${best.trivial.toFixed(0)}/s (${(best.trivial / best.storescp).toFixed(2)}x), ` +
        `trivial hooks with thread-pool writes ${best.async.toFixed(0)}/s (${(best.async / best.storescp).toFixed(2)}x), ` +
        `production hooks ${best.real.toFixed(0)}/s (${(best.real / best.storescp).toFixed(2)}x); SCP peak RSS trivial ${MB(peaks.trivial)}, real ${MB(peaks.real)}`,
    );
    const ms = (xs: number[]) => `${Math.min(...xs).toFixed(2)} ms`;
    console.log(
      `receiver CPU per instance (least of ${rounds}; production hooks include their PostgreSQL backends): storescp ${ms(cpuPer.storescp)}, ` +
        `trivial ${ms(cpuPer.trivial)}, thread-pool writes ${ms(cpuPer.async)}, production ${ms(cpuPer.real)}`,
    );
  } finally {
    await orthanc.stop();
    await storescp.stop();
    await trivial.stop();
    await trivialAsync.stop();
    await real.stop();
  }
}

/** Writes `count` CT instances (rows x rows) under `dir`; returns their paths and study UID. */
async function writeStudy(dir: string, count: number, rows: number, seed: number) {
  await fsp.mkdir(dir, { recursive: true });
  const files: string[] = [];
  let studyUid = '';
  let bytes = 0;
  for (const inst of generateCtStudy({ instances: count, rows, columns: rows, seed })) {
    const f = path.join(dir, `${files.length}.dcm`);
    await fsp.writeFile(f, inst.buffer);
    files.push(f);
    studyUid = inst.studyInstanceUid;
    bytes += inst.buffer.length;
  }
  return { files, studyUid, bytes };
}

async function modeBig(work: string, database: Database, profDir: string) {
  const mb = arg('mb', 1024);
  const count = Math.ceil((mb * 1048576) / 527_000);
  let t = performance.now();
  const src = path.join(work, 'src');
  const study = await writeStudy(src, count, 512, 77);
  console.log(`wrote ${count} instances (${MB(study.bytes)}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const retrievalId = await database.retrieval('BENCH_SCU', study.studyUid);
  const real = await startChild('real', database.staging, database.env, profDir);
  const storescp = await startStorescp({ aet: 'STORESCP', dir: path.join(work, 'storescp'), maxPdu: MAX_PDU });
  try {
    const push = async (port: number, aet: string) => {
      const t0 = performance.now();
      await run('storescu', ['-aet', 'BENCH_SCU', '-aec', aet, '--max-pdu', String(MAX_PDU), '+sd', '+r', '-nh', '127.0.0.1', String(port), src], {
        env: DCMTK_ENV,
        maxBuffer: 64 * 1024 * 1024,
      });
      return (performance.now() - t0) / 1000;
    };
    const ref = await push(storescp.port, 'STORESCP');
    const refFiles = await countFiles(storescp.dir);
    console.log(`storescp : ${refFiles} files, ${ref.toFixed(1)} s, ${(count / ref).toFixed(0)} instances/s, ${(study.bytes / 1048576 / ref).toFixed(0)} MB/s`);
    await emptyDir(storescp.dir);
    await real.peak();
    t = performance.now();
    const secs = await push(real.port, 'TRIB_REAL');
    const m = await real.peak();
    const c = await database.check(retrievalId);
    console.log(
      `real     : ${c.rows} staged rows (${c.distinct} distinct), received ${c.received}, ${secs.toFixed(1)} s, ${(count / secs).toFixed(0)} instances/s, ` +
        `${(study.bytes / 1048576 / secs).toFixed(0)} MB/s, ratio ${(ref / secs).toFixed(2)}x; SCP peak RSS ${MB(m.peak)} (VmHWM ${MB(m.hwm)})`,
    );
    if (c.rows !== count || c.distinct !== count || c.received !== count) throw new Error(`expected ${count} staged instances, got ${JSON.stringify(c)}`);
  } finally {
    await storescp.stop();
    await real.stop();
  }
}

/** DCMTK echoscu in a loop until stopped: each run's wall time and exit status. */
function echoLoop(port: number, aet: string) {
  const results: { ok: boolean; ms: number }[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        const p = spawn('echoscu', ['-aet', 'BENCH_SCU', '-aec', aet, '-to', '30', '127.0.0.1', String(port)], { env: DCMTK_ENV, stdio: 'ignore' });
        p.on('exit', (code) => resolve(code === 0));
        p.on('error', () => resolve(false));
      });
      results.push({ ok, ms: performance.now() - t0 });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    results,
    async stop() {
      stopped = true;
      await done;
      return results;
    },
  };
}

async function modeConcurrent(work: string, database: Database, profDir: string) {
  const associations = arg('associations', 100);
  const per = arg('per', 5);
  const size = arg('size', 256);
  const total = associations * per;
  const study = await writeStudy(path.join(work, 'src'), total, size, 91);
  console.log(`wrote ${total} instances (${MB(study.bytes)}, ${size}x${size}) for ${associations} associations x ${per}`);
  const retrievalId = await database.retrieval('BENCH_SCU', study.studyUid);
  const real = await startChild('real', database.staging, database.env, profDir);
  const storescp = await startStorescp({ aet: 'STORESCP', dir: path.join(work, 'storescp'), maxPdu: MAX_PDU });
  const slices = Array.from({ length: associations }, (_, a) => study.files.slice(a * per, (a + 1) * per));
  /** All associations at once; per C-STORE latency = request sent (previous answer) -> answer. */
  const push = async (port: number, aet: string) => {
    const latencies: number[] = [];
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      slices.map(async (files) => {
        let last = performance.now();
        const r = await store({ aeTitle: aet, host: '127.0.0.1', port }, 'BENCH_SCU', files, {
          onStored: () => {
            const now = performance.now();
            latencies.push(now - last);
            last = now;
          },
        });
        failed += r.failed;
      }),
    );
    return { secs: (performance.now() - t0) / 1000, latencies, failed };
  };
  const baseline = echoLoop(real.port, 'TRIB_REAL');
  await new Promise((r) => setTimeout(r, 1500));
  const idle = await baseline.stop();
  try {
    const echoRef = echoLoop(storescp.port, 'STORESCP');
    const ref = await push(storescp.port, 'STORESCP');
    await echoRef.stop();
    const refFiles = await countFiles(storescp.dir);
    console.log(
      `storescp : ${refFiles} files, ${ref.failed} failed, ${ref.secs.toFixed(1)} s, ${(total / ref.secs).toFixed(0)} instances/s, ` +
        `C-STORE p50 ${pct(ref.latencies, 50).toFixed(0)} ms p99 ${pct(ref.latencies, 99).toFixed(0)} ms`,
    );
    await real.peak();
    const echoes = echoLoop(real.port, 'TRIB_REAL');
    const res = await push(real.port, 'TRIB_REAL');
    const echoed = await echoes.stop();
    const m = await real.peak();
    const c = await database.check(retrievalId);
    const files = await countFiles(database.staging);
    const echoMs = echoed.map((e) => e.ms);
    console.log(
      `real     : ${c.rows} staged rows (${c.distinct} distinct), received ${c.received}, ${files} files, ${res.failed} failed, ${res.secs.toFixed(1)} s, ` +
        `${(total / res.secs).toFixed(0)} instances/s (ratio ${(ref.secs / res.secs).toFixed(2)}x), C-STORE p50 ${pct(res.latencies, 50).toFixed(0)} ms p99 ${pct(res.latencies, 99).toFixed(0)} ms`,
    );
    console.log(
      `echo during push: ${echoed.filter((e) => e.ok).length}/${echoed.length} succeeded, echoscu wall time p50 ${pct(echoMs, 50).toFixed(0)} ms p99 ${pct(echoMs, 99).toFixed(0)} ms ` +
        `max ${Math.max(...echoMs).toFixed(0)} ms (idle: p50 ${pct(idle.map((e) => e.ms), 50).toFixed(0)} ms, process start included)`,
    );
    console.log(`SCP peak RSS during the push ${MB(m.peak)} (VmHWM ${MB(m.hwm)})`);
    if (c.rows !== total || c.distinct !== total || c.received !== total || files !== total) throw new Error(`expected ${total} staged instances exactly once, got ${JSON.stringify({ ...c, files })}`);
    if (echoed.some((e) => !e.ok)) throw new Error('an echo failed during the push');
  } finally {
    await storescp.stop();
    await real.stop();
  }
}

async function main() {
  const mode = sarg('mode', 'move');
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-receive-'));
  const profDir = path.join(ROOT, 'bench', 'receive', 'profiles');
  if (PROFILE) await fsp.mkdir(profDir, { recursive: true });
  console.log(`${os.cpus().length} x ${os.cpus()[0]?.model}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  const database = await setupDatabase(work);
  try {
    if (mode === 'move') await modeMove(work, database, profDir);
    else if (mode === 'big') await modeBig(work, database, profDir);
    else if (mode === 'concurrent') await modeConcurrent(work, database, profDir);
    else throw new Error(`unknown --mode ${mode}`);
  } finally {
    await database.close();
    await fsp.rm(work, { recursive: true, force: true });
  }
  console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (PROFILE) console.log(`CPU profiles in ${profDir}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
