/**
 * Crash safety of an export: a worker child process is SIGKILLed after the destination
 * acknowledged a batch but before it was recorded (crash point export.before-record, third
 * batch). A new worker picks the job up (its lock lapses) and finishes: every instance SENT once
 * in our records, the counters exact, and Orthanc holds exactly the study's instances.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { createExport } from '@/lib/exports/request';
import { actorOf, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { makeExporter, makeWebDestination, seedStudies } from './helpers';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const auth = { username: 'exporter', password: 'stow-pass-2' };
let orthanc: OrthancHandle;
let child: ChildProcess | null = null;

async function startWorkerProcess(crashAt?: string): Promise<ChildProcess> {
  return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'index.ts')], {
    cwd: ROOT,
    env: { ...process.env, DICOM_PORT: String(await freePort()), LOG_LEVEL: 'warn', ...(crashAt ? { TRIBUTARY_CRASH_AT: crashAt } : {}) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

beforeAll(async () => {
  // Exports other test files left queued (they ran their jobs in-process) must not reach the
  // worker child: its crash point counts batches of every job it runs.
  await db.export.updateMany({ where: { state: { in: ['QUEUED', 'SCHEDULED', 'RUNNING'] } }, data: { state: 'CANCELED' } });
  const { queue } = await import('@/lib/jobs/queues');
  await queue('export').obliterate({ force: true });
  orthanc = await startOrthanc({ aet: 'STOW_CRASH', dicomWeb: true, basicAuth: auth });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await orthanc?.stop();
});

describe('SIGKILL mid-export', () => {
  it('a new worker finishes with every instance sent once and none dropped', async () => {
    const researcher = await makeUser('RESEARCHER');
    const pool = await makePool({ members: [{ userId: researcher.id, role: 'RESEARCHER' }] });
    const seeded = await seedStudies(pool.id, 4242, { instancesPerSeries: 6, seriesPerStudy: 2 });
    const dest = await makeWebDestination(`${orthanc.httpUrl}/dicom-web/studies`, auth);
    const exporter = await makeExporter(pool.id, dest.id, { instancesPerRequest: 2, concurrency: 1 });
    const ex = await createExport(actorOf(researcher), pool.id, { exporterId: exporter.id, studyIds: seeded.studyIds, wholePool: false, resend: false });
    expect(ex.total).toBe(12);

    child = await startWorkerProcess('export.before-record@3');
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child!.once('exit', (code, signal) => ok({ code, signal })));
    const died = await exited;
    expect(died.signal).toBe('SIGKILL');
    const mid = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
    expect(mid.state).toBe('RUNNING');
    expect(mid.sent).toBe(4);
    // The third batch reached Orthanc but was not recorded: it stays PENDING.
    expect(await orthanc.countInstances()).toBe(6);
    expect(await db.exportInstance.count({ where: { exportId: ex.id, state: 'PENDING' } })).toBe(8);

    child = await startWorkerProcess();
    const done = await waitFor(
      async () => {
        const x = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
        return x.state === 'RUNNING' || x.state === 'QUEUED' ? null : x;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'export to finish after the restart' },
    );
    expect(done).toMatchObject({ state: 'COMPLETED', sent: 12, failed: 0, skipped: 0, total: 12 });
    const rows = await db.exportInstance.findMany({ where: { exportId: ex.id } });
    expect(rows.every((r) => r.state === 'SENT' && /^[0-9a-f]{64}$/.test(r.sha256 ?? ''))).toBe(true);
    expect(new Set(rows.map((r) => r.sopInstanceUid)).size).toBe(12);
    expect(await db.exportDelivery.count({ where: { exportId: ex.id } })).toBe(12);
    expect(await orthanc.countInstances()).toBe(12);
    const finishes = await db.auditEvent.count({ where: { action: 'export.finish', targetId: ex.id } });
    expect(finishes).toBe(1);
  }, 150_000);
});
