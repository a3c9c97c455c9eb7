/**
 * End-to-end environment, private to this run: a fresh database (tributary_e2e), a private
 * Orthanc loaded with synthetic patients, the web app (next start) and the worker (with its
 * SCP) on their own ports, and users/pools/connector made for the tests. State for the specs
 * is written to test-results/e2e-state.json; global-teardown stops everything.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resetTestDatabase } from '../helpers/database';
import { freePort, orthancUpload, startOrthancProcess } from '../../scripts/lib/orthanc';
import { needsBuild } from '../../scripts/lib/run';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const STATE_FILE = path.join(ROOT, 'test-results', 'e2e-state.json');

async function waitHttp(url: string, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export default async function globalSetup() {
  mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  const webPort = Number(process.env.E2E_PORT ?? 3211);
  const scpPort = await freePort();
  const dbUrl = await resetTestDatabase(process.env.E2E_DATABASE_NAME ?? 'tributary_e2e');
  const storageRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-e2e-storage-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TRIBUTARY_MODE: 'test',
    DATABASE_URL: dbUrl,
    REDIS_PREFIX: `tributary-e2e-${process.pid}`,
    TRIBUTARY_SECRET: 'e2e-secret-e2e-secret-e2e-secret-e2e-secret',
    PUBLIC_URL: `http://127.0.0.1:${webPort}`,
    NEXTAUTH_URL: `http://127.0.0.1:${webPort}`,
    STORAGE_ROOT: storageRoot,
    DICOM_PORT: String(scpPort),
    LOG_LEVEL: 'warn',
  };
  Object.assign(process.env, env);

  const { makeE2eWorld } = await import('./world');
  const orthancDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-e2e-orthanc-'));
  const pacs = await startOrthancProcess({
    dir: orthancDir,
    aet: 'E2E_PACS',
    // Its DICOMweb plugin too: the DICOMweb connector's spec (dicomweb.spec.ts) uses it.
    dicomWeb: true,
    dicomPort: await freePort(),
    httpPort: await freePort(),
    modalities: { E2E_QUERY: ['E2E_QUERY', '127.0.0.1', scpPort], E2E_RECEIVE: ['E2E_RECEIVE', '127.0.0.1', scpPort] },
  });
  const { generateCorpus } = await import('../../lib/synthetic');
  const corpus = generateCorpus({ seed: 77, patients: 50, rows: 64, columns: 64, instancesPerSeries: 3 });
  await orthancUpload(pacs.httpUrl, corpus.instances.map((i) => i.buffer));
  const world = await makeE2eWorld({ pacsPort: pacs.dicomPort, corpus });

  // The OHIF viewer's files (served under /viewer); `npm test` has already fetched them.
  // @ts-ignore -- plain ESM script without type declarations.
  const { fetchOhif } = (await import('../../scripts/fetch-ohif.mjs')) as { fetchOhif(): string };
  fetchOhif();
  if (needsBuild()) {
    const r = await new Promise<number>((resolve) => {
      const b = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], { cwd: ROOT, env, stdio: 'inherit' });
      b.on('exit', (c) => resolve(c ?? 1));
    });
    if (r !== 0) throw new Error('next build failed');
  }
  const logDir = path.join(ROOT, 'test-results');
  const webLog = openSync(path.join(logDir, 'e2e-web.log'), 'w');
  const workerLog = openSync(path.join(logDir, 'e2e-worker.log'), 'w');
  const web = spawn(process.execPath, ['-r', path.join(ROOT, 'scripts', 'peer-address.cjs'), path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', '-p', String(webPort), '-H', '127.0.0.1'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', webLog, webLog],
    detached: true,
  });
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'index.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', workerLog, workerLog],
    detached: true,
  });
  await waitHttp(`http://127.0.0.1:${webPort}/api/v1/health`, 60_000);
  writeFileSync(
    STATE_FILE,
    JSON.stringify({ ...world, pacsWebUrl: `${pacs.httpUrl}/dicom-web`, pids: [web.pid, worker.pid, pacs.child.pid], dirs: [storageRoot, orthancDir], env: { REDIS_PREFIX: env.REDIS_PREFIX, STORAGE_ROOT: storageRoot } }, null, 2),
  );
  web.unref();
  worker.unref();
  pacs.child.unref();
}
