/**
 * The sink for same-connection retrieves (C-GET, WADO-RS): what it keeps and what it refuses.
 * An instance of the retrieval's study is staged and counted once (also when sent again); an
 * instance of another study, a truncated or malformed one, or anything arriving once the
 * retrieval is cancelled is refused and nothing of it stays in staging.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { retrievalSink } from '@/lib/receive/sink';
import { stagingDir } from '@/lib/storage';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { allFiles } from '../../helpers/files';
import { makeConnector, makePool } from '../../helpers/fixtures';

let corpus: Corpus;
let receivingPoolId: string;
let retrievalId: string;
let study: string;

beforeAll(async () => {
  corpus = generateCorpus({ seed: 331, patients: 2, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 3, rows: 16, columns: 16 });
  study = corpus.patients[0].studies[0].studyInstanceUid;
  const pool = await makePool();
  const { connector, receivingPool } = await makeConnector({ pacsAe: 'SINK_PACS', port: 104, queryAe: 'SINK_Q', receiveAe: 'SINK_R' });
  receivingPoolId = receivingPool.id;
  const query = await db.query.create({
    data: { poolId: pool.id, connectorId: connector.id, status: 'DONE', items: { create: { rowNumber: 1, patientId: corpus.patients[0].patientId, status: 'DONE', resultCount: 1 } } },
    include: { items: true },
  });
  const result = await db.queryResult.create({ data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid: study, patientId: corpus.patients[0].patientId } });
  retrievalId = (await db.retrieval.create({ data: { queryId: query.id, resultId: result.id, poolId: pool.id, connectorId: connector.id, studyInstanceUid: study, state: 'MOVING' } })).id;
});

const files = async () => (await allFiles(stagingDir(receivingPoolId)).catch(() => [])).map((f) => path.relative(stagingDir(receivingPoolId), f)).sort();

describe('retrieval sink', () => {
  it('stages an instance of its study (Part-10, as WADO-RS delivers it) and counts a repeat once', async () => {
    const sink = await retrievalSink(retrievalId);
    const mine = corpus.instances.filter((i) => i.studyInstanceUid === study);
    const o = await sink.stageStream(Readable.from([mine[0].buffer.subarray(0, 1000), mine[0].buffer.subarray(1000)]), { part10: true });
    expect(o).toMatchObject({ stored: true, status: 0, sopInstanceUid: mine[0].sopInstanceUid });
    const again = await sink.stageStream(Readable.from([mine[0].buffer]), { part10: true });
    expect(again.stored).toBe(true);
    expect(await files()).toEqual([path.join(study, `${mine[0].sopInstanceUid}.dcm`)]);
    const staged = await fs.readFile(path.join(stagingDir(receivingPoolId), study, `${mine[0].sopInstanceUid}.dcm`));
    expect(staged.equals(mine[0].buffer)).toBe(true);
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: retrievalId } })).received).toBe(1);
    expect(await db.stagedInstance.count({ where: { retrievalId } })).toBe(1);
  });

  it('refuses an instance of another study, a truncated one and garbage, keeping nothing of them', async () => {
    const sink = await retrievalSink(retrievalId);
    const other = corpus.instances.find((i) => i.studyInstanceUid !== study)!;
    const foreign = await sink.stageStream(Readable.from([other.buffer]), { part10: true });
    expect(foreign.stored).toBe(false);
    expect(foreign.comment).toMatch(/requested study/);
    const mine = corpus.instances.filter((i) => i.studyInstanceUid === study);
    const truncated = await sink.stageStream(Readable.from([mine[1].buffer.subarray(0, mine[1].buffer.length - 300)]), { part10: true });
    expect(truncated.stored).toBe(false);
    const garbage = await sink.stageStream(Readable.from([Buffer.alloc(4096, 7)]), { part10: true });
    expect(garbage.stored).toBe(false);
    expect(await files()).toEqual([path.join(study, `${mine[0].sopInstanceUid}.dcm`)]);
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: retrievalId } })).received).toBe(1);
  });

  it('refuses what arrives after the retrieval was cancelled', async () => {
    const sink = await retrievalSink(retrievalId);
    await db.retrieval.update({ where: { id: retrievalId }, data: { state: 'CANCELLED' } });
    const mine = corpus.instances.filter((i) => i.studyInstanceUid === study);
    const late = await sink.stageStream(Readable.from([mine[2].buffer]), { part10: true });
    expect(late.stored).toBe(false);
    expect(await files()).toEqual([path.join(study, `${mine[0].sopInstanceUid}.dcm`)]);
    expect(await db.stagedInstance.count({ where: { retrievalId } })).toBe(1);
  });
});
