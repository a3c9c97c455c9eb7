/**
 * The PACS capability check against a real Orthanc (echo, return keys, series/instance level,
 * a probe move to our SCP), and a partial retrieval's retry asking the PACS only for what is
 * missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { freePort, startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

let orthanc: OrthancHandle;
let corpus: Corpus;
let worker: { stop(): Promise<void> };
let connectorId: string;

beforeAll(async () => {
  const scpPort = await freePort();
  corpus = generateCorpus({ seed: 51, patients: 2, studiesPerPatient: 1, seriesPerStudy: 2, instancesPerSeries: 4, rows: 32, columns: 32 });
  orthanc = await startOrthanc({ aet: 'CAP_PACS', modalities: { Q: ['CAP_Q', '127.0.0.1', scpPort], R: ['CAP_R', '127.0.0.1', scpPort] } });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort });
  connectorId = (await makeConnector({ pacsAe: 'CAP_PACS', port: orthanc.dicomPort, maxAssociations: 2, queryAe: 'CAP_Q', receiveAe: 'CAP_R' })).connector.id;
});

afterAll(async () => {
  await worker?.stop();
  await orthanc?.stop();
});

describe('capability check', () => {
  it('reports echo, filled keys, series and instance level, and a move that reaches our SCP', async () => {
    const admin = await makeUser('ADMIN');
    const { checkConnector } = await import('@/lib/connectors/capabilities');
    const caps = await checkConnector(actorOf(admin), connectorId, { patientId: corpus.patients[0].patientId, moveTest: true });
    expect(caps.echo.ok).toBe(true);
    expect(caps.find?.ok).toBe(true);
    expect(caps.find?.studies).toBe(1);
    expect(caps.find?.filled.NumberOfStudyRelatedInstances).toBe(true);
    expect(caps.find?.filled.ModalitiesInStudy).toBe(true);
    expect(caps.seriesLevel).toMatchObject({ ok: true, series: 2 });
    expect(caps.instanceLevel).toMatchObject({ ok: true, instances: 4 });
    expect(caps.move, caps.move?.message).toMatchObject({ ok: true, completed: 1 });
    const stored = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
    expect((stored.capabilities as { move: { ok: boolean } }).move.ok).toBe(true);
    // The probe instance was not kept anywhere (this connector's receiving pool: other test files share the database).
    expect(await db.stagedInstance.count({ where: { receivingPoolId: stored.receivingPoolId } })).toBe(0);
    expect(JSON.stringify(stored.capabilities)).not.toContain(corpus.patients[0].patientId);
  });

  it('says clearly when the MRN finds nothing', async () => {
    const admin = await makeUser('ADMIN');
    const { checkConnector } = await import('@/lib/connectors/capabilities');
    const caps = await checkConnector(actorOf(admin), connectorId, { patientId: 'NO-SUCH-MRN', moveTest: true });
    expect(caps.echo.ok).toBe(true);
    expect(caps.find?.ok).toBe(false);
    expect(caps.find?.message).toMatch(/No study found/);
    expect(caps.move).toBeNull();
  });
});

describe('partial retrieval', () => {
  it('retries by asking the PACS only for the missing instances', async () => {
    const coordinator = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: coordinator.id, role: 'COORDINATOR' }] });
    const { createQuery } = await import('@/lib/queries/queries');
    const { requestRetrieval, retryRetrieval } = await import('@/lib/retrievals/request');
    const patient = corpus.patients[1];
    const query = await createQuery(actorOf(coordinator), { poolId: pool.id, connectorId, items: [{ patientId: patient.patientId }] });
    const found = await waitFor(async () => {
      const x = await db.query.findUniqueOrThrow({ where: { id: query.id }, include: { results: true } });
      return x.status === 'DONE' ? x : null;
    }, { what: 'query' });
    await requestRetrieval(actorOf(coordinator), query.id, [found.results[0].studyInstanceUid]);
    const first = await waitFor(async () => {
      const x = await db.retrieval.findFirst({ where: { queryId: query.id } });
      return x?.state === 'DONE' ? x : null;
    }, { what: 'first retrieval' });
    expect(first.received).toBe(8);

    // Make it partial: two instances of one series never made it (as if their sub-operations failed).
    const lost = await db.retrievalInstance.findMany({ where: { retrievalId: first.id }, take: 2, orderBy: { sourceSopUid: 'asc' } });
    await db.retrievalInstance.deleteMany({ where: { id: { in: lost.map((l) => l.id) } } });
    await db.retrieval.update({ where: { id: first.id }, data: { state: 'PARTIAL', stored: 6, received: 6, failed: 2 } });

    await retryRetrieval(actorOf(coordinator), first.id);
    const again = await waitFor(async () => {
      const x = await db.retrieval.findUniqueOrThrow({ where: { id: first.id } });
      return x.state === 'DONE' || x.state === 'PARTIAL' || x.state === 'FAILED' ? x : null;
    }, { what: 'retry' });
    expect(again.state).toBe('DONE');
    expect(again.stored).toBe(8);
    // Only the two missing instances crossed the network again.
    expect(again.received).toBe(8);
    expect(await db.retrievalInstance.count({ where: { retrievalId: first.id } })).toBe(8);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(8);
  });
});
