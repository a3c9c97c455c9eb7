/**
 * A PACS that goes down mid-batch: the studies not yet moved wait (retrying with backoff, the
 * reason shown), and finish once the PACS is back. Nothing is lost or duplicated.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { freePort, orthancUpload, startOrthancProcess, type OrthancProcess, type OrthancOptions } from '../../../scripts/lib/orthanc';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';

let pacs: OrthancProcess | null = null;
let pacsOpts: OrthancOptions;
let corpus: Corpus;
let worker: { stop(): Promise<void> };

beforeAll(async () => {
  const scpPort = await freePort();
  // Studies large enough that the rest of the batch cannot all move during the PACS's shutdown
  // (a move waiting for a slot starts as soon as the previous one gives it back).
  corpus = generateCorpus({ seed: 41, patients: 1, studiesPerPatient: 6, seriesPerStudy: 1, instancesPerSeries: 120, rows: 64, columns: 64 });
  pacsOpts = {
    dir: await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-outage-')),
    aet: 'OUT_PACS',
    dicomPort: await freePort(),
    httpPort: await freePort(),
    modalities: { OUT_Q: ['OUT_Q', '127.0.0.1', scpPort], OUT_R: ['OUT_R', '127.0.0.1', scpPort] },
  };
  pacs = await startOrthancProcess(pacsOpts);
  await orthancUpload(pacs.httpUrl, corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await pacs?.stop();
  await fs.rm(pacsOpts.dir, { recursive: true, force: true });
});

describe('PACS outage mid-batch', () => {
  it('holds the remaining studies while the PACS is down and completes them when it is back', async () => {
    // Cap 2: the batch lane moves one study at a time, so there is a "rest of the batch".
    const { connector } = await makeConnector({ pacsAe: 'OUT_PACS', port: pacsOpts.dicomPort, maxAssociations: 2, queryAe: 'OUT_Q', receiveAe: 'OUT_R' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');
    const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId: connector.id, source: 'SPREADSHEET', fileName: 'cohort.xlsx', items: [{ patientId: corpus.patients[0].patientId }] });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'query' });
    expect(found.results).toHaveLength(6);
    await requestRetrieval(actorOf(coordinator), query.id, found.results.map((x) => x.studyInstanceUid));

    // The PACS goes down while the first study is moving (its instances are de-identified while
    // they arrive, so waiting for a whole study to finish could let the small batch end before
    // the PACS has stopped).
    await waitFor(async () => (await db.retrieval.count({ where: { queryId: query.id, received: { gt: 0 } } })) >= 1 || null, { what: 'a first study moving', intervalMs: 50 });
    await pacs!.stop();
    pacs = null;
    const waiting = await waitFor(async () => {
      const rs = await db.retrieval.findMany({ where: { queryId: query.id, state: { not: 'DONE' } } });
      return rs.some((x) => x.lastError?.includes('(retrying)')) ? rs : null;
    }, { what: 'a retry to be recorded', timeoutMs: 30_000 });
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.every((x) => ['QUEUED', 'MOVING', 'ANONYMIZING'].includes(x.state))).toBe(true);

    pacs = await startOrthancProcess(pacsOpts);
    const done = await waitFor(async () => {
      const rs = await db.retrieval.findMany({ where: { queryId: query.id } });
      return rs.every((x) => x.state === 'DONE') ? rs : null;
    }, { what: 'every study after the PACS came back', timeoutMs: 120_000, intervalMs: 500 });
    expect(done.reduce((n, x) => n + x.stored, 0)).toBe(corpus.instances.length);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(corpus.instances.length);
  }, 180_000);
});
