/**
 * C-MOVE with failed sub-operations, made real: some instances' files are taken out of Orthanc's
 * storage (as when a PACS's archive tier is offline), so Orthanc cannot send them and reports
 * them as failed sub-operations while sending the rest. The move is retried automatically with
 * backoff, asking only for what is missing:
 *  - study A: the files come back after the first attempt; the study completes exactly, and
 *    only the missing instances were sent again (bytes counted through a proxy);
 *  - study B: one file never comes back; after the bounded automatic retries the study ends
 *    PARTIAL with what arrived. (Orthanc cannot list B's instances either while a file is
 *    missing, so B's retries ask for the whole study: duplicates are dropped on arrival.)
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { SUBOPERATION_RETRIES } from '@/lib/retrievals/run-move';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

let orthanc: OrthancHandle;
let toScp: TcpProxy;
let corpus: Corpus;
let worker: { stop(): Promise<void> };

beforeAll(async () => {
  const scpPort = await freePort();
  corpus = generateCorpus({ seed: 83, patients: 2, studiesPerPatient: 1, seriesPerStudy: 2, instancesPerSeries: 3, rows: 128, columns: 128 });
  // Orthanc sends to our SCP through a proxy that counts the bytes: what crossed the network.
  toScp = await startTcpProxy({ targetPort: scpPort });
  orthanc = await startOrthanc({
    aet: 'SUB_PACS',
    modalities: { Q: ['SUB_Q', '127.0.0.1', scpPort], R: ['SUB_R', '127.0.0.1', toScp.port] },
    // No read cache: a file taken out of storage cannot be served from memory.
    config: { MaximumStorageCacheSize: 0 },
  });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
});

afterAll(async () => {
  await worker?.stop();
  await toScp?.close();
  await orthanc?.stop();
});

/** Moves an instance's file out of Orthanc's storage; returns a function putting it back. */
async function takeOffline(instance: { buffer: Buffer }): Promise<() => Promise<void>> {
  // Orthanc stores each received file as it is (no compression configured): find it by content.
  const root = path.join(orthanc.dir, 'storage');
  for (const a of await fs.readdir(root)) {
    for (const b of await fs.readdir(path.join(root, a)).catch(() => [])) {
      for (const f of await fs.readdir(path.join(root, a, b)).catch(() => [])) {
        const file = path.join(root, a, b, f);
        const st = await fs.stat(file);
        if (st.size !== instance.buffer.length || !(await fs.readFile(file)).equals(instance.buffer)) continue;
        await fs.rename(file, `${file}.offline`);
        return () => fs.rename(`${file}.offline`, file);
      }
    }
  }
  throw new Error('instance file not found in Orthanc storage');
}

describe('C-MOVE with failed sub-operations', () => {
  it('retries automatically for what is missing, then completes, or ends PARTIAL after the bounded retries', async () => {
    const { connector } = await makeConnector({ pacsAe: 'SUB_PACS', port: orthanc.dicomPort, maxAssociations: 4, queryAe: 'SUB_Q', receiveAe: 'SUB_R' });
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const actor = actorOf(coordinator);
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval } = await import('@/lib/retrievals/request');

    const [studyA, studyB] = corpus.patients.map((p) => p.studies[0].studyInstanceUid);
    const instancesOf = (uid: string) => corpus.instances.filter((i) => i.studyInstanceUid === uid);
    const missingA = instancesOf(studyA).slice(1, 3);
    const missingB = instancesOf(studyB).slice(0, 1);
    const query = await createQuery(actor, { poolId: pool.id, connectorId: connector.id, items: corpus.patients.map((p) => ({ patientId: p.patientId })) });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'query' });
    expect(found.results).toHaveLength(2);
    // After the query (Orthanc's C-FIND may read a file for keys it does not index).
    const restoreA = await Promise.all(missingA.map((i) => takeOffline(i)));
    await takeOffline(missingB[0]);
    const retrievalOf = async (uid: string) => db.retrieval.findFirstOrThrow({ where: { queryId: query.id, studyInstanceUid: uid } });
    const finished = (uid: string, timeoutMs: number) =>
      waitFor(async () => {
        const x = await retrievalOf(uid);
        return ['DONE', 'PARTIAL', 'FAILED'].includes(x.state) ? x : null;
      }, { what: 'the study to finish', timeoutMs, intervalMs: 250 });

    // Study A. The first attempt: the PACS could not send everything (Orthanc stops at the first
    // file it cannot read and answers 0xC000); the study waits to retry, and the files come back.
    const bytesBefore = toScp.bytesFromClients;
    await requestRetrieval(actor, query.id, [studyA]);
    const waitingA = await waitFor(async () => {
      const x = await retrievalOf(studyA);
      return x.lastError?.endsWith('(retrying)') ? x : null;
    }, { what: 'study A to retry', intervalMs: 50 });
    expect(waitingA.lastError).toMatch(/could not send [1-6] instance\(s\)/);
    expect(['QUEUED', 'MOVING']).toContain(waitingA.state);
    await Promise.all(restoreA.map((f) => f()));
    const doneA = await finished(studyA, 90_000);
    expect(doneA.state).toBe('DONE');
    expect(doneA.stored).toBe(6);
    expect(doneA.failed).toBe(0);
    expect(doneA.attempts, 'no user retry was involved').toBe(0);
    expect(await db.retrievalInstance.count({ where: { retrievalId: doneA.id, outcome: 'stored' } })).toBe(6);
    // The retry asked only for what was missing: what crossed the network is each instance
    // once (a retry of the whole study would send the ones that had arrived again).
    const size = (list: { buffer: Buffer }[]) => list.reduce((n, i) => n + i.buffer.length, 0);
    const sentA = toScp.bytesFromClients - bytesBefore;
    expect(sentA).toBeGreaterThanOrEqual(size(instancesOf(studyA)));
    // (Association and command overhead is a few KB; one instance here is ~32 KB.)
    expect(sentA).toBeLessThan(size(instancesOf(studyA)) + 1.5 * size(instancesOf(studyA).slice(0, 1)));

    // Study B: one file never comes back. Bounded automatic retries, then PARTIAL.
    await requestRetrieval(actor, query.id, [studyB]);
    const doneB = await finished(studyB, 120_000);
    expect(doneB.state).toBe('PARTIAL');
    expect(doneB.stored).toBe(5);
    expect(doneB.failed).toBe(1);
    expect(doneB.lastError).toMatch(/missing or failed/);
    const { queue } = await import('@/lib/jobs/queues');
    const jobB = await queue('move').getJob(`move-${doneB.id}-0`);
    // The first attempt, the bounded retries, and no more (BullMQ counts the completing run too).
    expect(jobB?.attemptsMade, 'the move was retried the bounded number of times').toBe(1 + SUBOPERATION_RETRIES);
    expect(await jobB?.getState()).toBe('completed');

    // Exactly the studies' instances in the pool, none twice.
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(11);
  }, 200_000);
});
