/**
 * bench/batch — 1,000 MRNs against a private Orthanc, from submitted spreadsheet to all results
 * stored, compared in the same run with DCMTK findscu sending all the queries on one
 * association and with a findscu-per-MRN loop.
 *
 *   npx tsx bench/batch/run.ts [--rows 1000] [--loop 150] [--assoc 3] [--repeat 1]
 *
 * Needs PostgreSQL and Redis like the tests (a scratch database, tributary_bench unless
 * BENCH_DATABASE_NAME says otherwise, and its own Redis prefix, BENCH_REDIS_PREFIX or one per run). Tributary runs with the connector's association cap (--assoc, default 3: the batch
 * lane gets 2) and the whole job path: spreadsheet parse, rows in PostgreSQL, C-FIND job(s) on
 * BullMQ, results upserted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { resetTestDatabase } from '../../tests/helpers/database';
import { DCMTK_ENV, freePort, startOrthanc } from '../../tests/helpers/orthanc';
import { formatCpu, pidSetSource, processCpu, reapedChildrenCpu, selfCpu, startCpuMeter } from '../cpu';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROWS = opt('rows', 1000);
const LOOP = opt('loop', 150);
const ASSOC = opt('assoc', 3);
/** Further rounds of (findscu on one association, Tributary) on the same Orthanc, one line each. */
const REPEAT = opt('repeat', 1);

async function main() {
  const dbUrl = await resetTestDatabase(process.env.BENCH_DATABASE_NAME ?? 'tributary_bench');
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-batch-'));
  Object.assign(process.env, {
    TRIBUTARY_MODE: 'test',
    DATABASE_URL: dbUrl,
    REDIS_PREFIX: process.env.BENCH_REDIS_PREFIX ?? `tributary-bench-${process.pid}`,
    STORAGE_ROOT: path.join(tmp, 'storage'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    TRIBUTARY_SECRET: 'bench-secret-bench-secret-bench-secret-1',
  });
  const { generateCorpus } = await import('../../lib/synthetic');
  const corpus = generateCorpus({ seed: 5, patients: ROWS, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1, rows: 8, columns: 8 });
  const scpPort = await freePort();
  const orthanc = await startOrthanc({ aet: 'BENCH_PACS', modalities: { Q: ['BENCH_Q', '127.0.0.1', scpPort], F: ['FINDSCU', '127.0.0.1', 1] } });
  const { db } = await import('../../lib/db');
  const { startWorker } = await import('../../workers/index');
  const worker = await startWorker({ scpPort });
  try {
    process.stdout.write(`loading ${ROWS} patients into Orthanc…\n`);
    await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
    const mrns = corpus.patients.map((p) => p.patientId);

    // --- DCMTK findscu, all queries on one association ---
    const qdir = path.join(tmp, 'queries');
    await fs.mkdir(qdir);
    const files: string[] = [];
    for (let i = 0; i < mrns.length; i++) {
      const dump = path.join(qdir, `${i}.txt`);
      await fs.writeFile(dump, `(0008,0052) CS [STUDY]\n(0010,0020) LO [${mrns[i]}]\n(0020,000d) UI\n(0008,0020) DA\n(0008,1030) LO\n(0008,0061) CS\n(0020,1208) IS\n(0010,0010) PN\n`);
      const out = path.join(qdir, `${i}.dcm`);
      execFileSync('dump2dcm', ['--write-xfer-little', dump, out], { stdio: 'ignore' });
      files.push(out);
    }
    const findArgs = ['-S', '-aet', 'FINDSCU', '-aec', 'BENCH_PACS', '127.0.0.1', String(orthanc.dicomPort)];
    // CPU of every party (bench/cpu.ts): Orthanc answering, and findscu or Tributary (this process,
    // the worker in it) with its PostgreSQL backends. Orthanc's share against the wall time says
    // how close either side is to what the PACS can answer.
    const orthancCpu = { name: 'Orthanc', read: () => processCpu(orthanc.pid) };
    const pgBackends = pidSetSource('PostgreSQL', async () =>
      (await db.$queryRaw<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`).map((r) => r.pid));
    let findscuCpu = '';
    const findscuOne = async () => {
      const meter = await startCpuMeter([orthancCpu, { name: 'findscu', read: reapedChildrenCpu }]);
      const t0 = process.hrtime.bigint();
      const one = spawnSync('findscu', [...findArgs, ...files], { env: DCMTK_ENV, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const oneSec = Number(process.hrtime.bigint() - t0) / 1e9;
      if (one.status !== 0) throw new Error(`findscu failed: ${one.stderr.slice(0, 300)}`);
      findscuCpu = `${formatCpu(await meter.stop())}, wall ${oneSec.toFixed(2)} s`;
      return mrns.length / oneSec;
    };
    const oneRate = await findscuOne();
    let t: bigint;

    // --- findscu per MRN (a sample of the rows; the rate is what matters) ---
    t = process.hrtime.bigint();
    for (let i = 0; i < Math.min(LOOP, mrns.length); i++) {
      const r = spawnSync('findscu', [...findArgs, files[i]], { env: DCMTK_ENV });
      if (r.status !== 0) throw new Error('findscu (loop) failed');
    }
    const loopRate = Math.min(LOOP, mrns.length) / (Number(process.hrtime.bigint() - t) / 1e9);

    // --- Tributary: spreadsheet in, results stored ---
    const { hashPassword } = await import('../../lib/auth/password');
    const { randomBytes } = await import('node:crypto');
    const { DEFAULT_RULES } = await import('../../lib/anonymize/rules');
    const user = await db.user.create({ data: { email: 'bench@bench.local', name: 'Bench', role: 'COORDINATOR', passwordHash: await hashPassword('bench-password') } });
    const mkPool = (name: string, aeTitle: string, kind: 'RESEARCH' | 'INFRASTRUCTURE') =>
      db.pool.create({ data: { name, aeTitle, kind, secret: randomBytes(32).toString('hex'), rules: DEFAULT_RULES as object, members: { create: [{ userId: user.id, role: 'COORDINATOR' }] } } });
    const qp = await mkPool('bench query', 'BENCH_Q', 'INFRASTRUCTURE');
    const rp = await mkPool('bench recv', 'BENCH_R', 'INFRASTRUCTURE');
    const pool = await mkPool('bench pool', 'BENCH_POOL', 'RESEARCH');
    const device = await db.device.create({ data: { name: 'bench pacs', aeTitle: 'BENCH_PACS', host: '127.0.0.1', port: orthanc.dicomPort } });
    const connector = await db.connector.create({ data: { name: 'bench', deviceId: device.id, queryPoolId: qp.id, receivingPoolId: rp.id, maxAssociations: ASSOC } });
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Query');
    ws.getColumn(1).numFmt = '@';
    ws.addRow(['PatientID']);
    for (const m of mrns) ws.addRow([m]);
    const xlsx = Buffer.from(await wb.xlsx.writeBuffer());
    const { submitSpreadsheet } = await import('../../lib/queries/spreadsheet');
    const actor = { userId: user.id, email: user.email, name: user.name, role: user.role, tokenPoolId: null, via: 'session' as const };
    // BENCH_CPU_PROFILE=<file>: a CPU profile of this process (bench, worker, DIMSE) over the
    // Tributary phase only, for chrome://inspect or a profile viewer.
    const profile = process.env.BENCH_CPU_PROFILE ? await startProfile() : null;
    let profiled = false;
    const tributary = async () => {
      t = process.hrtime.bigint();
      // CPU of this process (sheet, jobs, worker, DIMSE client; not Orthanc's or PostgreSQL's):
      // a figure the load moves less than the wall time.
      const cpu0 = process.cpuUsage();
      const meter = await startCpuMeter([orthancCpu, { name: 'Tributary process', read: selfCpu }, pgBackends]);
      const tSubmit = process.hrtime.bigint();
      const { queryId } = await submitSpreadsheet(actor, { poolId: pool.id, connectorId: connector.id, file: new File([new Uint8Array(xlsx)], 'bench.xlsx'), dryRun: false });
      const submitSec = Number(process.hrtime.bigint() - tSubmit) / 1e9;
      // Poll with a raw query: the bench shares its process (and the two cores) with the worker,
      // and a Prisma model query every 20 ms would cost it CPU the measurement should not include.
      for (;;) {
        const [q] = await db.$queryRaw<{ status: string }[]>`SELECT "status"::text FROM "Query" WHERE "id" = ${queryId!}`;
        if (q.status === 'DONE' || q.status === 'FAILED') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const tribSec = Number(process.hrtime.bigint() - t) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const parties = `${formatCpu(await meter.stop())}, wall ${tribSec.toFixed(2)} s`;
      if (profile && !profiled) {
        profiled = true;
        await fs.writeFile(process.env.BENCH_CPU_PROFILE!, JSON.stringify(await profile.stop()));
      }
      const results = await db.queryResult.count({ where: { queryId: queryId! } });
      if (results !== mrns.length) throw new Error(`Tributary stored ${results} results for ${mrns.length} MRNs`);
      return { tribRate: mrns.length / tribSec, tribSec, submitSec, cpu, parties };
    };
    const { tribRate, tribSec, submitSec, cpu, parties } = await tributary();

    const f = (n: number) => n.toFixed(0).padStart(6);
    process.stdout.write(`\n${ROWS} MRNs, one study each, Orthanc ${orthanc.aet}\n`);
    process.stdout.write(`  findscu, one association        ${f(oneRate)} rows/s\n`);
    process.stdout.write(`  findscu per MRN (${Math.min(LOOP, ROWS)} rows)      ${f(loopRate)} rows/s\n`);
    process.stdout.write(`  Tributary (sheet -> stored, cap ${ASSOC}) ${f(tribRate)} rows/s\n`);
    process.stdout.write(`    of which parsing the sheet and storing the rows: ${submitSec.toFixed(2)} s of ${tribSec.toFixed(2)} s\n`);
    process.stdout.write(`    CPU of the bench process (worker included): ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, ${((cpu.user + cpu.system) / 1000 / mrns.length).toFixed(2)} ms per row\n`);
    process.stdout.write(`    findscu run:   ${findscuCpu}\n`);
    process.stdout.write(`    Tributary run: ${parties}\n`);
    process.stdout.write(`  Tributary / findscu one association: ${(tribRate / oneRate).toFixed(2)}\n`);
    process.stdout.write(`  Tributary / findscu per MRN:         ${(tribRate / loopRate).toFixed(2)}\n`);
    for (let round = 2; round <= REPEAT; round++) {
      const o = await findscuOne();
      const r = await tributary();
      process.stdout.write(
        `  round ${round}: findscu ${f(o)} rows/s, Tributary ${f(r.tribRate)} rows/s, ratio ${(r.tribRate / o).toFixed(2)}, sheet ${r.submitSec.toFixed(2)} s of ${r.tribSec.toFixed(2)} s, CPU ${((r.cpu.user + r.cpu.system) / 1000 / mrns.length).toFixed(2)} ms/row, load ${os.loadavg()[0].toFixed(1)}\n` +
          `    findscu run:   ${findscuCpu}\n    Tributary run: ${r.parties}\n`,
      );
    }
  } finally {
    await worker.stop();
    await orthanc.stop();
    await db.$disconnect();
    await fs.rm(tmp, { recursive: true, force: true });
    const { redis, key } = await import('../../lib/redis');
    const keys = await redis().keys(key('*'));
    if (keys.length) await redis().del(...keys);
    redis().disconnect();
  }
}

async function startProfile() {
  const inspector = await import('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = <T>(method: string) => new Promise<T>((resolve, reject) => session.post(method, (e, r) => (e ? reject(e) : resolve(r as T))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return { stop: async () => (await post<{ profile: unknown }>('Profiler.stop')).profile };
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
