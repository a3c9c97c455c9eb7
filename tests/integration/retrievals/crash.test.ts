/**
 * Crash safety: the worker is SIGKILLed in the middle of a C-MOVE (the transfer is slowed by a
 * throttling proxy between the PACS and our SCP so there is a middle), while instances that
 * already arrived are being de-identified and indexed (the move's pipeline,
 * lib/retrievals/pipeline.ts): once from outside, once by itself at the worst point (an instance
 * committed to the pool, its staged original not yet deleted). After a restart the study
 * completes with exactly the expected instances: none duplicated, none dropped, no staging left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { storageRoot } from '@/lib/storage';
import { reconcileStaging, STAGED_FILE_GRACE_MS } from '@/lib/receive/reconcile-staging';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
let orthanc: OrthancHandle;
let slowLink: TcpProxy;
let corpus: Corpus;
let scpPort: number;
let child: ChildProcess | null = null;

function startWorkerProcess(crashAt = ''): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'index.ts')], {
    cwd: ROOT,
    env: { ...process.env, DICOM_PORT: String(scpPort), LOG_LEVEL: 'warn', TRIBUTARY_CRASH_AT: crashAt },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return p;
}

beforeAll(async () => {
  scpPort = await freePort();
  corpus = generateCorpus({ seed: 31, patients: 1, studiesPerPatient: 1, seriesPerStudy: 2, instancesPerSeries: 40, rows: 128, columns: 128 });
  // The PACS sends to our SCP through a slow link (~120 kB/s), so the move lasts ~20 s.
  slowLink = await startTcpProxy({ targetPort: scpPort, bytesPerSecond: 120_000 });
  orthanc = await startOrthanc({
    aet: 'CRASH_PACS',
    modalities: {
      Q: ['CRASH_Q', '127.0.0.1', scpPort],
      R: ['CRASH_R', '127.0.0.1', slowLink.port],
      Q2: ['CRASH_Q2', '127.0.0.1', scpPort],
      R2: ['CRASH_R2', '127.0.0.1', slowLink.port],
    },
  });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await slowLink?.close();
  await orthanc?.stop();
});

/** After the restart: the study DONE with exactly its instances, once each, and nothing staged. */
async function expectExactlyOnce(retrievalId: string, poolId: string, receivingPoolId: string, expected: number, opts: { reconcile?: boolean } = {}) {
  const done = await waitFor(async () => {
    const x = await db.retrieval.findUniqueOrThrow({ where: { id: retrievalId } });
    return ['DONE', 'PARTIAL', 'FAILED'].includes(x.state) ? x : null;
  }, { what: 'the study to complete after the restart', timeoutMs: 150_000, intervalMs: 500 });
  expect(done.state, done.lastError ?? '').toBe('DONE');
  expect(done.stored).toBe(expected);

  const instances = await db.instance.findMany({ where: { poolId }, select: { sopInstanceUid: true, path: true } });
  expect(instances).toHaveLength(expected);
  expect(new Set(instances.map((i) => i.sopInstanceUid)).size).toBe(expected);
  expect(await db.retrievalInstance.count({ where: { retrievalId: done.id } })).toBe(expected);
  const study = await db.study.findFirstOrThrow({ where: { poolId } });
  expect(study.numInstances).toBe(expected);
  // The de-identification report counts each stored instance once, crash or not.
  const summaries = await db.deidInstanceSummary.findMany({ where: { poolId }, select: { sopInstanceUid: true, outcome: true } });
  expect(summaries.map((x) => x.sopInstanceUid).sort()).toEqual(instances.map((i) => i.sopInstanceUid).sort());
  expect(summaries.every((x) => x.outcome === 'stored')).toBe(true);
  for (const i of instances) await fs.access(path.join(storageRoot(), i.path));
  const poolFiles = await fs.readdir(path.join(storageRoot(), 'pools', poolId), { recursive: true });
  expect(poolFiles.filter((f) => String(f).endsWith('.dcm'))).toHaveLength(expected);
  expect(await db.stagedInstance.count({ where: { receivingPoolId } })).toBe(0);
  // Originals committed but not yet unlinked when the worker died are the staging
  // reconciliation's: a pass after its grace period, as the timer does.
  if (opts.reconcile) await reconcileStaging({ now: new Date(Date.now() + STAGED_FILE_GRACE_MS + 1000) });
  const staged = await fs.readdir(path.join(storageRoot(), 'staging', receivingPoolId), { recursive: true }).catch(() => []);
  expect(staged.filter((f) => String(f).endsWith('.dcm'))).toEqual([]);
}

describe('crash mid-move', () => {
  it('resumes after SIGKILL with exact counts, no duplicates and no staging left', async () => {
    const { connector, receivingPool: r } = await makeConnector({ pacsAe: 'CRASH_PACS', port: orthanc.dicomPort, maxAssociations: 2, queryAe: 'CRASH_Q', receiveAe: 'CRASH_R' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const expected = corpus.instances.length;

    child = startWorkerProcess();
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, items: [{ patientId: corpus.patients[0].patientId }] });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'query' });
    await requestRetrieval(actorOf(coordinator), query.id, [found.results[0].studyInstanceUid]);

    const mid = await waitFor(async () => {
      const x = await db.retrieval.findFirst({ where: { queryId: query.id } });
      return x && x.state === 'MOVING' && x.received >= 10 && x.stored >= 1 ? x : null;
    }, { what: 'the move to be under way, arrived instances in the pool already', intervalMs: 50 });
    expect(mid.received).toBeLessThan(expected);
    child.kill('SIGKILL');
    await new Promise((res) => child!.once('exit', res));
    const atKill = await db.retrieval.findUniqueOrThrow({ where: { id: mid.id } });
    expect(atKill.state).toBe('MOVING');

    child = startWorkerProcess();
    await expectExactlyOnce(mid.id, pool.id, r.id, expected);
  }, 240_000);

  it('a worker killed by itself between an instance commit and the removal of its staged original, mid-move, ends exact too', async () => {
    const { connector, receivingPool: r } = await makeConnector({ pacsAe: 'CRASH_PACS', port: orthanc.dicomPort, maxAssociations: 2, queryAe: 'CRASH_Q2', receiveAe: 'CRASH_R2' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const expected = corpus.instances.length;

    // The worker of the first case still holds the DICOM port.
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((res) => child!.once('exit', res));
      child.kill('SIGKILL');
      await gone;
    }
    // The 6th instance de-identified during the move kills the worker right after its commit.
    child = startWorkerProcess('deid.after-commit@6');
    const exited = new Promise((res) => child!.once('exit', res));
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, items: [{ patientId: corpus.patients[0].patientId }] });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'query' });
    await requestRetrieval(actorOf(coordinator), query.id, [found.results[0].studyInstanceUid]);
    await exited;
    const atKill = await db.retrieval.findFirstOrThrow({ where: { queryId: query.id } });
    // It died during the move, with instances in the pool and others still to come.
    expect(atKill.state).toBe('MOVING');
    expect(await db.retrievalInstance.count({ where: { retrievalId: atKill.id } })).toBeGreaterThanOrEqual(6);
    expect(atKill.received).toBeLessThan(expected);

    child = startWorkerProcess();
    await expectExactlyOnce(atKill.id, pool.id, r.id, expected, { reconcile: true });
  }, 240_000);
});
