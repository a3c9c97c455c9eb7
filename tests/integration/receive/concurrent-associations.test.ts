/**
 * 100 associations pushing into the SCP at once, with the worker's production hooks
 * (lib/receive/scp-hooks.ts: pool by called AE, device by AE title and address, staged rows
 * written in group commits before each C-STORE is answered), while DCMTK echoscu C-ECHOes it:
 * - every instance is staged exactly once (rows, files, the retrieval's count);
 * - the same instance sent by many associations at once is still one row, counted once;
 * - an instance no retrieval asked for, arriving in the middle of the others, is refused and
 *   leaves nothing, without failing its neighbours;
 * - every echo succeeds during the push.
 * Functional only: no timing assertions (bench/receive --mode concurrent measures).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { startScp, type RunningScp } from '@/lib/dicom/scp';
import { store } from '@/lib/dicom/scu';
import { scpHooks } from '@/lib/receive/scp-hooks';
import { stagingDir } from '@/lib/storage';
import { generateCtStudy } from '@/lib/synthetic';
import { allFiles } from '../../helpers/files';
import { makeConnector, makePool, suffix } from '../../helpers/fixtures';
import { DCMTK_ENV } from '../../helpers/orthanc';

const ASSOCIATIONS = 100;
const PER = 3;

let scp: RunningScp;
let src: string;
let files: string[] = [];
let foreign: string[] = [];
let receivingPool: { id: string; aeTitle: string };
let retrievalId: string;
let pacsAe: string;

async function writeStudy(dir: string, count: number, seed: number) {
  await fs.mkdir(dir, { recursive: true });
  const out: string[] = [];
  let studyUid = '';
  for (const inst of generateCtStudy({ instances: count, rows: 16, columns: 16, seed })) {
    const f = path.join(dir, `${out.length}.dcm`);
    await fs.writeFile(f, inst.buffer);
    out.push(f);
    studyUid = inst.studyInstanceUid;
  }
  return { files: out, studyUid };
}

beforeAll(async () => {
  src = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-concurrent-'));
  const study = await writeStudy(path.join(src, 'wanted'), ASSOCIATIONS * PER, 5101);
  files = study.files;
  foreign = (await writeStudy(path.join(src, 'foreign'), 5, 5102)).files;
  pacsAe = `CONC_${suffix()}`;
  const c = await makeConnector({ pacsAe, port: 104 });
  receivingPool = c.receivingPool;
  const pool = await makePool();
  const query = await db.query.create({
    data: { poolId: pool.id, connectorId: c.connector.id, status: 'DONE', items: { create: { rowNumber: 1, patientId: 'P', status: 'DONE', resultCount: 1 } } },
    include: { items: true },
  });
  const result = await db.queryResult.create({ data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid: study.studyUid, patientId: 'P' } });
  retrievalId = (
    await db.retrieval.create({ data: { queryId: query.id, resultId: result.id, poolId: pool.id, connectorId: c.connector.id, studyInstanceUid: study.studyUid, state: 'MOVING' } })
  ).id;
  scp = await startScp({ port: 0, host: '127.0.0.1', hooks: scpHooks });
});

afterAll(async () => {
  await scp?.close();
  await fs.rm(src, { recursive: true, force: true });
});

/** DCMTK echoscu in a loop until stopped; every run's exit status. */
function echoLoop() {
  const outcomes: boolean[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      outcomes.push(
        await new Promise<boolean>((resolve) => {
          const p = spawn('echoscu', ['-aet', pacsAe, '-aec', receivingPool.aeTitle, '-to', '60', '127.0.0.1', String(scp.port)], { env: DCMTK_ENV, stdio: 'ignore' });
          p.on('exit', (code) => resolve(code === 0));
          p.on('error', () => resolve(false));
        }),
      );
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      // At least two echoes overlap the push, whatever the machine's speed.
      while (outcomes.length < 2) await new Promise((r) => setTimeout(r, 20));
      stopped = true;
      await done;
      return outcomes;
    },
  };
}

const peer = () => ({ aeTitle: receivingPool.aeTitle, host: '127.0.0.1', port: scp.port });

describe(`${ASSOCIATIONS} associations at once`, () => {
  it('stages every instance exactly once, refuses the unsolicited one alone, and answers every echo', async () => {
    const echoes = echoLoop();
    const slices = Array.from({ length: ASSOCIATIONS }, (_, a) => files.slice(a * PER, (a + 1) * PER));
    // Five associations also carry an instance of a study nobody asked for, between two wanted ones.
    slices.slice(0, foreign.length).forEach((s, i) => s.splice(1, 0, foreign[i]));
    const results = await Promise.all(slices.map((s) => store(peer(), pacsAe, s)));
    const outcomes = await echoes.stop();

    expect(results.reduce((n, r) => n + r.stored, 0)).toBe(files.length);
    expect(results.reduce((n, r) => n + r.failed, 0)).toBe(foreign.length);
    expect(outcomes.length).toBeGreaterThanOrEqual(2);
    expect(outcomes.every(Boolean), `echo outcomes: ${outcomes.join(',')}`).toBe(true);

    const rows = await db.stagedInstance.findMany({ where: { receivingPoolId: receivingPool.id }, select: { sopInstanceUid: true, retrievalId: true, path: true } });
    expect(rows).toHaveLength(files.length);
    expect(new Set(rows.map((r) => r.sopInstanceUid)).size).toBe(files.length);
    expect(rows.every((r) => r.retrievalId === retrievalId)).toBe(true);
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: retrievalId } })).received).toBe(files.length);
    const onDisk = (await allFiles(stagingDir(receivingPool.id))).filter((f) => !f.includes(`${path.sep}.incoming${path.sep}`));
    expect(onDisk.sort()).toEqual(rows.map((r) => r.path).sort());
    expect(await fs.readdir(path.join(stagingDir(receivingPool.id), '.incoming'))).toEqual([]);
  });

  it('keeps one row, counted once, when many associations send the same instances at once', async () => {
    const again = files.slice(0, 2);
    const results = await Promise.all(Array.from({ length: 40 }, () => store(peer(), pacsAe, again)));
    expect(results.reduce((n, r) => n + r.stored, 0)).toBe(80);
    expect(await db.stagedInstance.count({ where: { receivingPoolId: receivingPool.id } })).toBe(files.length);
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: retrievalId } })).received).toBe(files.length);
  });
});
