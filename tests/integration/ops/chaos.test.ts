/**
 * The chaos test (issue 10): a 20-study spreadsheet retrieval runs against a private Orthanc
 * while, in turn, every part Tributary depends on is killed and brought back:
 *   1. the worker process: SIGKILL in the middle of the C-MOVEs, started again (same DICOM port,
 *      so the PACS reaches it at the address it knows);
 *   2. the web process: `next start` is SIGKILLed and started again, and must answer
 *      /api/v1/health again. Only when a production build exists (.next/BUILD_ID): building one
 *      here would take minutes, and vitest orders files by size and past duration, not by name,
 *      so the README production test (which builds it through `npm start`) may run before or after
 *      this one. The web process holds no state of the flow (PostgreSQL and Redis do), so the API
 *      operations a coordinator's browser triggers (create the query from the sheet's rows, request
 *      retrieval of every study found) run in this test process through the same lib/ operations
 *      the route handlers call; without a build the web step is skipped and logged as such;
 *   3. Orthanc: killed, down for 15 s, started again on the same ports with the same storage
 *      (15 s rather than 30 s: the move's backoff is 5 s, 10 s, 20 s..., so 15 s already spans two
 *      failed attempts, and the suite's time budget is a few minutes);
 *   4. Redis: a private redis-server without persistence, killed and started again EMPTY: the
 *      worker notices the missing marker key and rebuilds the queues from PostgreSQL
 *      (lib/jobs/recover.ts);
 *   5. PostgreSQL: every connection to the test database cut with pg_terminate_backend;
 *   6. the worker again (SIGKILL), this time while a study is being de-identified.
 * The PACS sends through a throttling proxy, so the retrieval lasts long enough for all five.
 * At the end: every study DONE with exactly its instances (Retrieval.stored, and the counts on
 * Study and Series equal their Instance rows), the source SOP Instance UIDs retrieved equal the
 * corpus's, no duplicate instance in the pool (rows or files), staging empty (no file, no row),
 * no PHI string of the corpus in the worker's or the web's log (and nothing in the worker's log
 * written around the PHI-safe logger, nor one error repeated in a flood), the worker healthy
 * again, and no retrieval left QUEUED/MOVING/ANONYMIZING nor a job of theirs waiting, running or
 * delayed in the queues. What was killed and when is printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { TEST_DATABASE } from '../../helpers/database';
import { allFiles } from '../../helpers/files';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { phiStrings, scanForPhi } from '../../helpers/phi';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

let corpus: Corpus;
let orthanc: OrthancHandle;
let slowLink: TcpProxy;
let scpPort: number;
let redisPort: number;
let redisProc: ChildProcess | null = null;
let worker: ChildProcess | null = null;
let web: ChildProcess | null = null;
let webPort = 0;
const workerLog: string[] = [];
const webLog: string[] = [];
const t0 = Date.now();
const events: string[] = [];

function note(what: string) {
  const line = `[chaos] +${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`;
  events.push(line);
  console.log(line);
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

async function kill(p: ChildProcess | null) {
  if (!p) return;
  p.kill('SIGKILL');
  await exited(p);
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, DICOM_PORT: String(scpPort), LOG_LEVEL: 'info', ...extra };
}

function startWorker(): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'index.ts')], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout!.on('data', (c: Buffer) => workerLog.push(c.toString('utf8')));
  p.stderr!.on('data', (c: Buffer) => workerLog.push(c.toString('utf8')));
  return p;
}

async function startRedis() {
  const p = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
  const { Redis } = await import('ioredis');
  await waitFor(async () => {
    if (p.exitCode !== null) throw new Error('redis-server exited');
    const r = new Redis(redisPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  }, { what: 'redis-server', timeoutMs: 10_000, intervalMs: 100 });
  redisProc = p;
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
  });
}

async function startWeb(): Promise<ChildProcess> {
  const next = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
  const p = spawn(process.execPath, ['-r', path.join(ROOT, 'scripts', 'peer-address.cjs'), next, 'start', '-p', String(webPort), '-H', '127.0.0.1'], {
    cwd: ROOT,
    env: childEnv({ NEXTAUTH_URL: `http://127.0.0.1:${webPort}`, PUBLIC_URL: `http://127.0.0.1:${webPort}` }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stdout!.on('data', (c: Buffer) => webLog.push(c.toString('utf8')));
  p.stderr!.on('data', (c: Buffer) => webLog.push(c.toString('utf8')));
  await waitFor(async () => {
    if (p.exitCode !== null) throw new Error(`next start exited (${p.exitCode}): ${webLog.join('').slice(-2000)}`);
    return (await httpGet(`http://127.0.0.1:${webPort}/api/v1/health`).catch(() => ({ status: 0 }))).status > 0;
  }, { what: 'next start', timeoutMs: 90_000, intervalMs: 250 });
  return p;
}

/** A read that tolerates the moments when a dependency is being killed. */
async function tolerant<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch {
    return null;
  }
}

beforeAll(async () => {
  // A private Redis: it is killed below. lib/env reads the environment once, on first use, so
  // this is set before anything in this process touches lib/redis or lib/jobs.
  redisPort = await freePort();
  process.env.REDIS_URL = `redis://127.0.0.1:${redisPort}`;
  await startRedis();
  const { env } = await import('@/lib/env');
  expect(env().REDIS_URL).toBe(`redis://127.0.0.1:${redisPort}`);

  scpPort = await freePort();
  // 10 patients × 2 studies × 2 series × 4 instances of 64×64 pixels: 20 studies, 160 instances.
  corpus = generateCorpus({ seed: 1010, patients: 10, studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 4, rows: 64, columns: 64 });
  // ~30 kB/s from the PACS to our SCP: the 1.5 MB last about a minute without any chaos.
  slowLink = await startTcpProxy({ targetPort: scpPort, bytesPerSecond: 30_000 });
  orthanc = await startOrthanc({ aet: 'CHAOS_PACS', modalities: { Q: ['CHAOS_Q', '127.0.0.1', scpPort], R: ['CHAOS_R', '127.0.0.1', slowLink.port] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  if (existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) webPort = await freePort();
});

afterAll(async () => {
  await kill(worker);
  await kill(web);
  await slowLink?.close();
  await orthanc?.stop();
  const { closeQueues } = await import('@/lib/jobs/queues');
  await closeQueues().catch(() => undefined);
  const { redis } = await import('@/lib/redis');
  redis().disconnect();
  await kill(redisProc);
});

describe('chaos', () => {
  it('finishes a 20-study retrieval exactly while worker, web, PACS, Redis and PostgreSQL are killed in turn', { timeout: 600_000 }, async () => {
    const { db } = await import('@/lib/db');
    const { connector, receivingPool } = await makeConnector({ pacsAe: 'CHAOS_PACS', port: orthanc.dicomPort, maxAssociations: 2, queryAe: 'CHAOS_Q', receiveAe: 'CHAOS_R' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const studies = corpus.patients.flatMap((p) => p.studies);
    expect(studies).toHaveLength(20);
    const total = corpus.instances.length;

    worker = startWorker();
    if (webPort) web = await startWeb();
    note(`worker started${webPort ? `, web (next start) on :${webPort}` : ', web step skipped: no .next/BUILD_ID (no production build in this checkout)'}`);

    // The coordinator's sheet: one row per patient (MRN), as the spreadsheet upload turns them into.
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const query = await createQuery(actorOf(coordinator), {
      poolId: pool.id,
      connectorId: connector.id,
      source: 'SPREADSHEET',
      fileName: 'chaos.xlsx',
      items: corpus.patients.map((p, i) => ({ rowNumber: i + 2, patientId: p.patientId })),
    });
    const found = await waitFor(async () => {
      const q = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return q.status === 'DONE' || q.status === 'FAILED' ? q : null;
    }, { what: 'the query', timeoutMs: 120_000, intervalMs: 250 });
    expect(found.status, found.error ?? '').toBe('DONE');
    expect(found.results.map((r) => r.studyInstanceUid).sort()).toEqual(studies.map((s) => s.studyInstanceUid).sort());
    await requestRetrieval(actorOf(coordinator), query.id, found.results.map((r) => r.studyInstanceUid));
    note('query done (20 studies found); retrieval of all 20 requested');

    const progress = async () =>
      (await tolerant(async () => {
        const rs = await db.retrieval.findMany({ where: { queryId: query.id }, select: { state: true, received: true, stored: true } });
        return {
          received: rs.reduce((n, r) => n + r.received, 0),
          stored: rs.reduce((n, r) => n + r.stored, 0),
          open: rs.filter((r) => !['DONE', 'PARTIAL', 'FAILED', 'CANCELLED'].includes(r.state)).length,
        };
      })) ?? { received: -1, stored: -1, open: -1 };
    const describeProgress = async () => {
      const p = await progress();
      return `(received ${p.received}, stored ${p.stored} of ${total}; ${p.open} studies open)`;
    };
    /** Waits for `more` instances to arrive (or `ms` to pass), so each kill hits work under way. */
    const advance = async (more: number, ms: number) => {
      const start = (await progress()).received;
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const p = await progress();
        if (p.received >= start + more || p.open === 0) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const open = async () => (await progress()).open;

    // 1. The worker, in the middle of the moves.
    await advance(20, 60_000);
    note(`SIGKILL worker ${await describeProgress()}`);
    await kill(worker);
    await new Promise((r) => setTimeout(r, 1_000));
    worker = startWorker();
    note('worker started again');

    // 2. The web process.
    await advance(10, 20_000);
    if (web) {
      note(`SIGKILL web ${await describeProgress()}`);
      await kill(web);
      web = await startWeb();
      note('web started again and answers /api/v1/health');
    } else note('web: skipped (no production build; the flow ran through lib/ in this process)');

    // 3. The PACS, down for 15 s.
    await advance(10, 20_000);
    note(`kill Orthanc ${await describeProgress()}`);
    await orthanc.kill();
    await new Promise((r) => setTimeout(r, 15_000));
    await orthanc.restart();
    note(`Orthanc started again (same ports and storage) ${await describeProgress()}`);

    // 4. Redis, back empty.
    await advance(10, 30_000);
    note(`kill Redis ${await describeProgress()}`);
    await kill(redisProc);
    await new Promise((r) => setTimeout(r, 2_000));
    await startRedis();
    note('Redis started again, empty');

    // 5. PostgreSQL connections.
    await advance(10, 30_000);
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    const atCut = await describeProgress();
    const cut = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [TEST_DATABASE]);
    await admin.end();
    note(`pg_terminate_backend: ${cut.rowCount} connections to ${TEST_DATABASE} cut ${atCut}`);

    // 6. The worker once more, this time while a study is being de-identified.
    const anonymizing = await waitFor(async () => {
      const n = await tolerant(() => db.retrieval.count({ where: { queryId: query.id, state: 'ANONYMIZING' } }));
      return n ? n : (await open()) === 0 ? -1 : null;
    }, { what: 'a study being de-identified', timeoutMs: 60_000, intervalMs: 50 }).catch(() => 0);
    const openAtLastKill = await open();
    note(`SIGKILL worker (${anonymizing > 0 ? `${anonymizing} studies de-identifying` : 'no study seen de-identifying'}) ${await describeProgress()}`);
    await kill(worker);
    await new Promise((r) => setTimeout(r, 1_000));
    worker = startWorker();
    note('worker started again');

    const final = await waitFor(async () => {
      const rs = await tolerant(() => db.retrieval.findMany({ where: { queryId: query.id } }));
      return rs && rs.length === 20 && rs.every((r) => ['DONE', 'PARTIAL', 'FAILED', 'CANCELLED'].includes(r.state)) ? rs : null;
    }, { what: 'every retrieval to finish', timeoutMs: 300_000, intervalMs: 500 }).catch(async (err: Error) => {
      const rs = await db.retrieval.findMany({ where: { queryId: query.id }, select: { state: true, received: true, stored: true, expected: true, lastError: true } });
      console.log(rs, workerLog.join('').slice(-4000));
      throw err;
    });
    note(`all 20 retrievals finished ${await describeProgress()}`);
    console.log(`[chaos] timeline:\n${events.join('\n')}`);
    // The chaos hit work under way, not a finished run.
    expect(openAtLastKill).toBeGreaterThan(0);

    // Every study DONE with exactly its instances.
    const byStudy = new Map(studies.map((s) => [s.studyInstanceUid, s]));
    for (const r of final) {
      expect(r.state, r.lastError ?? '').toBe('DONE');
      const expected = byStudy.get(r.studyInstanceUid)!.numInstances;
      expect(r.stored).toBe(expected);
      const got = await db.retrievalInstance.findMany({ where: { retrievalId: r.id, outcome: 'stored' }, select: { sourceSopUid: true } });
      const want = corpus.instances.filter((i) => i.studyInstanceUid === r.studyInstanceUid).map((i) => i.sopInstanceUid);
      expect(got.map((g) => g.sourceSopUid).sort()).toEqual(want.sort());
    }

    // Nothing stuck in the queues either: no job of these retrievals waits, runs or is delayed.
    const { queue } = await import('@/lib/jobs/queues');
    const { QUEUES } = await import('@/lib/jobs/catalogue');
    const ids = final.map((r) => r.id);
    const pending = await waitFor(async () => {
      const left: string[] = [];
      for (const q of [QUEUES.move, QUEUES.anonymize]) {
        const jobs = await queue(q).getJobs(['waiting', 'active', 'delayed', 'prioritized']);
        left.push(...jobs.map((j) => j?.id ?? '').filter((id) => ids.some((r) => id.includes(r))));
      }
      return left.length === 0 ? left : null;
    }, { what: 'the queues to hold no job of these retrievals', timeoutMs: 30_000, intervalMs: 500 });
    expect(pending).toEqual([]);

    // The pool: each instance once, and the counts on study and series are those of their rows.
    const instances = await db.instance.findMany({ where: { poolId: pool.id }, select: { sopInstanceUid: true, path: true } });
    expect(instances).toHaveLength(total);
    expect(new Set(instances.map((i) => i.sopInstanceUid)).size).toBe(total);
    const { storageRoot } = await import('@/lib/storage');
    const poolFiles = (await allFiles(path.join(storageRoot(), 'pools', pool.id))).filter((f) => f.endsWith('.dcm'));
    expect(poolFiles.map((f) => path.resolve(f)).sort()).toEqual(instances.map((i) => path.resolve(storageRoot(), i.path)).sort());
    const poolStudies = await db.study.findMany({ where: { poolId: pool.id }, include: { series: { include: { _count: { select: { instances: true } } } } } });
    expect(poolStudies).toHaveLength(20);
    for (const s of poolStudies) {
      expect(s.numSeries).toBe(s.series.length);
      expect(s.numInstances).toBe(s.series.reduce((n, x) => n + x._count.instances, 0));
      for (const x of s.series) expect(x.numInstances).toBe(x._count.instances);
    }
    expect(poolStudies.reduce((n, s) => n + s.numInstances, 0)).toBe(total);

    // Staging: no original left, no row left. The worker's reconciliation removes a crash's
    // leftovers once their grace has passed; run it here with the clock past that grace so the
    // test does not wait two minutes (files and rows of a finished retrieval are all fair game).
    const { reconcileStaging, STAGED_FILE_GRACE_MS } = await import('@/lib/receive/reconcile-staging');
    const leftovers = await reconcileStaging({ now: new Date(Date.now() + STAGED_FILE_GRACE_MS + 1_000) });
    note(`staging reconciliation at the end: ${JSON.stringify(leftovers)}`);
    // This receiving pool's staging only: in a full `npm test` run the storage root and database
    // are shared with other test files.
    expect(await db.stagedInstance.count({ where: { receivingPoolId: receivingPool.id } })).toBe(0);
    expect(await allFiles(path.join(storageRoot(), 'staging', receivingPool.id))).toEqual([]);

    // The worker is up and healthy again (its heartbeat survived the Redis restart).
    const { getHealth } = await import('@/lib/health/get-health');
    const health = await waitFor(async () => {
      const h = await tolerant(() => getHealth());
      return h && h.worker === 'ok' && h.redis === 'ok' && h.postgres === 'ok' ? h : null;
    }, { what: 'a healthy worker', timeoutMs: 30_000 });
    expect(health.worker).toBe('ok');
    if (web) {
      // And the restarted web process says so to a load balancer.
      const res = await httpGet(`http://127.0.0.1:${webPort}/api/v1/health`);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ status: 'ok', postgres: 'ok', redis: 'ok', worker: 'ok', scp: 'ok' });
    }

    // No PHI in any log. The worker writes only through the PHI-safe logger (JSON lines): nothing
    // a library prints on its own (a driver's error with the value it choked on) reaches the log.
    const logFile = path.join(os.tmpdir(), `tributary-chaos-worker-${process.pid}.log`);
    await fs.writeFile(logFile, workerLog.join(''));
    note(`worker log (${workerLog.join('').split('\n').length} lines) in ${logFile}`);
    const lines = workerLog.join('').split('\n').filter((l) => l.trim());
    const unstructured = lines.filter((l) => {
      try {
        const o = JSON.parse(l) as { level?: string; scope?: string };
        return !o.level || !o.scope;
      } catch {
        return true;
      }
    });
    expect(unstructured.slice(0, 10)).toEqual([]);
    // An outage is logged, not flooded: the same error of the same queue at most once a minute.
    const parsed = lines.map((l) => JSON.parse(l) as { t: string; msg: string; queue?: string; err?: { code?: string } });
    const lastSeen = new Map<string, number>();
    const floods: string[] = [];
    for (const o of parsed.filter((x) => x.msg === 'worker error')) {
      const k = `${o.queue} ${o.err?.code}`;
      const at = Date.parse(o.t);
      if (lastSeen.has(k) && at - lastSeen.get(k)! < 60_000) floods.push(`${k} at ${o.t}`);
      lastSeen.set(k, at);
    }
    expect(floods).toEqual([]);
    const phi = phiStrings(corpus);
    expect(lines.length).toBeGreaterThan(0);
    expect(scanForPhi('worker log', workerLog.join('').split('\n'), phi)).toEqual([]);
    expect(scanForPhi('web log', webLog.join('').split('\n'), phi)).toEqual([]);
  });
});
