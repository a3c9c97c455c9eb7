/**
 * bench/retrieve — from Retrieve pressed to the study browsable in the pool, through the real
 * worker (production SCP hooks, staging rows, de-identification with the default rules in the
 * worker-thread pool, index, purge of the staged originals), against DCMTK movescu moving the
 * same studies from the same Orthanc into storescp (the bare transfer, no de-identification).
 *
 *   npx tsx bench/retrieve/run.ts [--instances 500] [--studies 20] [--per-study 50] [--rounds 1]
 *   (or BENCH_RETRIEVE_INSTANCES, BENCH_RETRIEVE_STUDIES, BENCH_RETRIEVE_PER_STUDY, BENCH_RETRIEVE_ROUNDS)
 *
 * (a) one CT study of --instances 512² instances; (b) --studies studies of --per-study instances
 * of one patient, all selected at once. Each round runs, per scenario, movescu → storescp
 * (reference; for (b) one patient-level C-MOVE) then Tributary (a fresh research pool, a query
 * for the patient, Retrieve of the scenario's studies: timed from the request to every retrieval
 * DONE). Prints both times, the ratio, and the time to the first instance browsable in the pool
 * (its Instance row committed), and when the moves ended (no retrieval QUEUED or MOVING any
 * more). A 4-instance study is retrieved first, untimed (the worker's one-time start). Never
 * fails on timing; fails when an instance is missing or left staged.
 *
 * Needs PostgreSQL and Redis like the tests: a scratch database (BENCH_DATABASE_NAME, default
 * tributary_bench_retrieve, recreated) and its own Redis prefix (emptied afterwards).
 * RETRIEVE_PIPELINE=0 measures the sequential path (de-identification after the move).
 * --profile: a CPU profile of the process's main thread (the worker runs in it) over each timed
 * Tributary retrieval, written to bench/retrieve/profiles/ (git-ignored) and summarised by
 * bench/retrieve/profile-summary.ts (self time by function and by package).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { resetTestDatabase } from '../../tests/helpers/database';
import { DCMTK_ENV, freePort, startOrthanc, startStorescp } from '../../tests/helpers/orthanc';
import { formatCpu, pidSetSource, processCpu, reapedChildrenCpu, selfCpu, startCpuMeter, type CpuReport } from '../cpu';

const run = promisify(execFile);
const args = process.argv.slice(2);
const opt = (name: string, envName: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : Number(process.env[envName] ?? def);
};
const INSTANCES = opt('instances', 'BENCH_RETRIEVE_INSTANCES', 500);
const STUDIES = opt('studies', 'BENCH_RETRIEVE_STUDIES', 20);
const PER_STUDY = opt('per-study', 'BENCH_RETRIEVE_PER_STUDY', 50);
const ROUNDS = opt('rounds', 'BENCH_RETRIEVE_ROUNDS', 1);
const PROFILE = args.includes('--profile');
/** --queries: count the SQL statements sent to PostgreSQL during each timed retrieval, by kind. */
const COUNT_QUERIES = args.includes('--queries');
const queryCounts = new Map<string, number>();
async function countQueries() {
  const pg = (await import('pg')).default;
  const orig = pg.Client.prototype.query as (...a: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: unknown, ...a: unknown[]) {
    const q = a[0] as string | { text?: string };
    const text = (typeof q === 'string' ? q : q?.text ?? '').replace(/\s+/g, ' ').replace(/"public"\./g, '').trim();
    const k = text.slice(0, 90);
    queryCounts.set(k, (queryCounts.get(k) ?? 0) + 1);
    return orig.apply(this, a);
  } as typeof pg.Client.prototype.query;
}
function printQueries(label: string) {
  const all = [...queryCounts].sort((a, b) => b[1] - a[1]);
  console.log(`  SQL statements during ${label}: ${all.reduce((n, [, c]) => n + c, 0)}`);
  for (const [k, c] of all.slice(0, 25)) console.log(`    ${String(c).padStart(6)}  ${k}`);
  queryCounts.clear();
}
const PROFILE_DIR = path.join(import.meta.dirname, 'profiles');
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.name.startsWith('.')) continue;
    n += e.isDirectory() ? await countFiles(path.join(dir, e.name)) : 1;
  }
  return n;
}

async function main() {
  const dbUrl = await resetTestDatabase(process.env.BENCH_DATABASE_NAME ?? 'tributary_bench_retrieve');
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-retrieve-'));
  Object.assign(process.env, {
    TRIBUTARY_MODE: 'test',
    DATABASE_URL: dbUrl,
    REDIS_PREFIX: process.env.BENCH_REDIS_PREFIX ?? `tributary-bench-retrieve-${process.pid}`,
    STORAGE_ROOT: path.join(tmp, 'storage'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    TRIBUTARY_SECRET: 'bench-secret-bench-secret-bench-secret-1',
  });
  if (COUNT_QUERIES) await countQueries();
  const { generateCtStudy } = await import('../../lib/synthetic');
  const { db } = await import('../../lib/db');
  const { env } = await import('../../lib/env');
  const { actorOf, makeConnector, makePool, makeUser, waitFor } = await import('../../tests/helpers/fixtures');
  const { startWorker } = await import('../../workers/index');
  // --write-mode sync|async|auto: how the SCP writes staging files (StagingStream.writeMode), to compare.
  const wm = args.indexOf('--write-mode');
  if (wm >= 0) {
    const mode = args[wm + 1];
    if (mode !== 'sync' && mode !== 'async' && mode !== 'auto') throw new Error('--write-mode takes sync, async or auto');
    (await import('../../lib/dicom/scp')).StagingStream.writeMode = mode;
  }
  const { createQuery } = await import('../../lib/queries/queries');
  const { requestRetrieval } = await import('../../lib/retrievals/request');

  const scpPort = await freePort();
  const storescpDir = path.join(tmp, 'storescp');
  const storescp = await startStorescp({ aet: 'STORESCP', dir: storescpDir });
  const orthanc = await startOrthanc({
    aet: 'BENCH_PACS',
    modalities: { Q: ['BENCH_Q', '127.0.0.1', scpPort], R: ['BENCH_R', '127.0.0.1', scpPort], STORESCP: ['STORESCP', '127.0.0.1', storescp.port], M: ['MOVESCU', '127.0.0.1', 1] },
  });
  const worker = await startWorker({ scpPort });
  const inspector = PROFILE ? new Session() : null;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 500 });
    await fs.mkdir(PROFILE_DIR, { recursive: true });
  }
  try {
    // --- the studies: (a) one large CT study, (b) many small ones of one patient ---
    let t = performance.now();
    const upload = async (gen: Iterable<{ buffer: Buffer; studyInstanceUid: string }>) => {
      const uids = new Set<string>();
      let batch: Buffer[] = [];
      const flush = async () => {
        await Promise.all([0, 1, 2, 3].map((k) => orthanc.uploadFiles(batch.filter((_, i) => i % 4 === k))));
        batch = [];
      };
      for (const inst of gen) {
        uids.add(inst.studyInstanceUid);
        batch.push(inst.buffer);
        if (batch.length === 40) await flush();
      }
      await flush();
      return [...uids];
    };
    const scenarios: { name: string; patientId: string; studies: string[]; instances: number }[] = [];
    // Untimed first: a small study, so the worker's one-time start (de-identification threads
    // loading their code, first queries) is not counted in the first scenario.
    const warmup = { name: 'warm-up', patientId: 'BENCHW', studies: await upload(generateCtStudy({ instances: 4, seed: 999, patientId: 'BENCHW' })), instances: 4 };
    if (INSTANCES > 0) scenarios.push({ name: `(a) 1 study x ${INSTANCES}`, patientId: 'BENCHA', studies: await upload(generateCtStudy({ instances: INSTANCES, seed: 1, patientId: 'BENCHA' })), instances: INSTANCES });
    if (STUDIES > 0 && PER_STUDY > 0) {
      const uids: string[] = [];
      for (let s = 0; s < STUDIES; s++) uids.push(...(await upload(generateCtStudy({ instances: PER_STUDY, seed: 100 + s, patientId: 'BENCHB' }))));
      scenarios.push({ name: `(b) ${STUDIES} studies x ${PER_STUDY}`, patientId: 'BENCHB', studies: uids, instances: STUDIES * PER_STUDY });
    }
    console.log(`loaded ${await orthanc.countInstances()} instances into Orthanc in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load average ${load()}, ${new Date().toISOString()}, pipeline ${env().RETRIEVE_PIPELINE ? 'on' : 'off'}`);

    const { connector } = await makeConnector({ pacsAe: 'BENCH_PACS', port: orthanc.dicomPort, maxAssociations: 4, queryAe: 'BENCH_Q', receiveAe: 'BENCH_R' });
    const coordinator = await makeUser('COORDINATOR');
    const actor = actorOf(coordinator);
    const results: { name: string; round: number; bare: number; trib: number; first: number; moved: number; cpu: number; busy: number; refCpu: CpuReport; tribCpu: CpuReport }[] = [];
    // CPU of every party (bench/cpu.ts): the bare move is Orthanc + movescu + storescp; Tributary
    // is Orthanc + this process (the worker runs in it) + the PostgreSQL backends of the scratch
    // database. Their sum over the cores is the shortest wall time each run's work allows here.
    const orthancCpu = { name: 'Orthanc', read: () => processCpu(orthanc.pid) };
    const refSources = [orthancCpu, { name: 'movescu', read: reapedChildrenCpu }, { name: 'storescp', read: () => processCpu(storescp.pid) }];
    const pgBackends = pidSetSource('PostgreSQL', async () =>
      (await db.$queryRaw<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`).map((r) => r.pid));
    const tribSources = [orthancCpu, { name: 'worker', read: selfCpu }, pgBackends];

    for (let round = 0; round <= ROUNDS; round++) {
      for (const sc of round === 0 ? [warmup] : scenarios) {
        // --- reference: movescu -> storescp, no de-identification ---
        await fs.rm(storescpDir, { recursive: true, force: true });
        await fs.mkdir(storescpDir, { recursive: true });
        const keys = sc.studies.length === 1
          ? ['-S', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${sc.studies[0]}`]
          : ['-P', '-k', 'QueryRetrieveLevel=PATIENT', '-k', `PatientID=${sc.patientId}`];
        const refMeter = await startCpuMeter(refSources);
        t = performance.now();
        await run('movescu', [...keys, '-aet', 'MOVESCU', '-aec', 'BENCH_PACS', '-aem', 'STORESCP', '127.0.0.1', String(orthanc.dicomPort)], { env: DCMTK_ENV, maxBuffer: 64 << 20 });
        const bare = (performance.now() - t) / 1000;
        // storescp answers the last C-STORE before its file work ends: let it finish.
        await new Promise((r) => setTimeout(r, 200));
        const refCpu = await refMeter.stop();
        const got = await countFiles(storescpDir);
        if (got !== sc.instances) throw new Error(`movescu: ${got} files of ${sc.instances}`);

        // --- Tributary: a fresh pool, a query for the patient (not timed), then Retrieve ---
        const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
        const query = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: [{ patientId: sc.patientId }] });
        await waitFor(async () => (await db.query.findUniqueOrThrow({ where: { id: query.id } })).status === 'DONE', { what: 'the query', timeoutMs: 120_000, intervalMs: 100 });
        if (inspector && round > 0) await inspector.post('Profiler.start');
        queryCounts.clear();
        const started = new Date();
        const tribMeter = await startCpuMeter(tribSources);
        const cpu0 = process.cpuUsage();
        const elu0 = performance.eventLoopUtilization();
        t = performance.now();
        await requestRetrieval(actor, query.id, sc.studies);
        // Polled with a raw query (cheap: the bench shares the two cores with the worker). The
        // moves have ended when no retrieval is QUEUED or MOVING any more.
        let moved = 0;
        await waitFor(async () => {
          const [x] = await db.$queryRaw<{ open: bigint; moving: bigint }[]>`SELECT
              count(*) FILTER (WHERE "state" NOT IN ('DONE', 'PARTIAL', 'FAILED', 'CANCELLED')) AS open,
              count(*) FILTER (WHERE "state" IN ('QUEUED', 'SCHEDULED', 'MOVING')) AS moving
            FROM "Retrieval" WHERE "queryId" = ${query.id}`;
          if (!moved && Number(x.moving) === 0) moved = (performance.now() - t) / 1000;
          return Number(x.open) === 0;
        }, { what: 'the retrieval', timeoutMs: 30 * 60_000, intervalMs: 25 });
        const trib = (performance.now() - t) / 1000;
        // Less sensitive to the machine's load than the wall time: the CPU the whole process used
        // (main thread, de-identification threads, libuv's pool) and how busy its event loop was.
        const cpuUsed = process.cpuUsage(cpu0);
        const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
        const elu = performance.eventLoopUtilization(elu0);
        const tribCpu = await tribMeter.stop();
        if (COUNT_QUERIES && round > 0) printQueries(sc.name);
        if (inspector && round > 0) {
          const { profile } = await inspector.post('Profiler.stop');
          const file = path.join(PROFILE_DIR, `retrieve-${sc.name.slice(1, 2)}-r${round}-${Date.now()}.cpuprofile`);
          await fs.writeFile(file, JSON.stringify(profile));
          console.log(`  CPU profile: ${path.relative(process.cwd(), file)}`);
        }
        const rs = await db.retrieval.findMany({ where: { queryId: query.id }, select: { state: true, stored: true, lastError: true } });
        const stored = await db.instance.count({ where: { poolId: pool.id } });
        const staged = await db.stagedInstance.count();
        if (stored !== sc.instances || rs.some((r) => r.state !== 'DONE') || staged)
          throw new Error(`Tributary: ${stored} of ${sc.instances} instances in the pool, states ${rs.map((r) => r.state).join(',')}, ${staged} left staged`);
        const [firstRow] = await db.$queryRaw<{ first: Date }[]>`SELECT min("createdAt") AS first FROM "Instance" WHERE "poolId" = ${pool.id}`;
        const first = (firstRow.first.getTime() - started.getTime()) / 1000;
        if (round === 0) continue;
        results.push({ name: sc.name, round, bare, trib, first, moved, cpu, busy: elu.active / 1000, refCpu, tribCpu });
        console.log(`round ${round} ${sc.name.padEnd(24)} movescu->storescp ${bare.toFixed(2)} s, Tributary ${trib.toFixed(2)} s (moves ended after ${moved.toFixed(2)} s, first instance browsable after ${first.toFixed(2)} s), ratio ${(trib / bare).toFixed(2)}; worker process CPU ${cpu.toFixed(2)} s, main thread busy ${(elu.active / 1000).toFixed(2)} s (${(100 * elu.utilization).toFixed(0)} %), load ${load()}`);
        console.log(`    bare move: ${formatCpu(refCpu)}`);
        console.log(`    Tributary: ${formatCpu(tribCpu)} = ${(tribCpu.floor / bare).toFixed(2)} x the bare move's wall time`);
      }
    }
    console.log('\nbest of rounds (seconds; ratio Tributary / bare move, goal <= 1.25):');
    for (const sc of scenarios) {
      const rows = results.filter((r) => r.name === sc.name);
      const bare = Math.min(...rows.map((r) => r.bare));
      const trib = Math.min(...rows.map((r) => r.trib));
      const first = Math.min(...rows.map((r) => r.first));
      const cpu = Math.min(...rows.map((r) => r.cpu));
      const busy = Math.min(...rows.map((r) => r.busy));
      const floor = Math.min(...rows.map((r) => r.tribCpu.total));
      const refTotal = Math.min(...rows.map((r) => r.refCpu.total));
      console.log(`  ${sc.name.padEnd(24)} movescu ${bare.toFixed(2)}  Tributary ${trib.toFixed(2)}  ratio ${(trib / bare).toFixed(2)}  first browsable ${first.toFixed(2)}  CPU ${cpu.toFixed(2)} s  main thread busy ${busy.toFixed(2)} s`);
      console.log(`  ${''.padEnd(24)} CPU of all parties: bare move ${refTotal.toFixed(2)} s, Tributary ${floor.toFixed(2)} s; Tributary's CPU floor on ${os.cpus().length} cores ${(floor / os.cpus().length).toFixed(2)} s = ${(floor / os.cpus().length / bare).toFixed(2)} x the best bare move`);
    }
    console.log(`load average after: ${load()}`);
  } finally {
    await worker.stop();
    await orthanc.stop();
    await storescp.stop();
    await db.$disconnect();
    await fs.rm(tmp, { recursive: true, force: true });
    const { redis, key } = await import('../../lib/redis');
    const keys = await redis().keys(key('*'));
    if (keys.length) await redis().del(...keys);
    redis().disconnect();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
