/**
 * The rules preview's memory sink (PACS sample): keeps ONE checked instance in memory, byte for
 * byte, leaves nothing in staging, refuses a second instance, one larger than the limit, another
 * study's and garbage — and writes no database row.
 */
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { memorySink } from '@/lib/receive/sink';
import { stagingDir } from '@/lib/storage';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { allFiles } from '../../helpers/files';
import { makePool } from '../../helpers/fixtures';

let corpus: Corpus;
let poolId: string;
let study: string;

beforeAll(async () => {
  corpus = generateCorpus({ seed: 337, patients: 2, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 2, rows: 16, columns: 16 });
  study = corpus.patients[0].studies[0].studyInstanceUid;
  poolId = (await makePool()).id;
});

const left = async () => allFiles(stagingDir(poolId)).catch(() => [] as string[]);

describe('memory sink', () => {
  it('keeps one instance in memory, refuses a second, leaves no file and no row', async () => {
    const mine = corpus.instances.filter((i) => i.studyInstanceUid === study);
    const sink = await memorySink(poolId, study, 10 * 1024 * 1024);
    expect(sink.bytes).toBeNull();
    const o = await sink.stageStream(Readable.from([mine[0].buffer.subarray(0, 500), mine[0].buffer.subarray(500)]), { part10: true });
    expect(o).toMatchObject({ stored: true, status: 0, sopInstanceUid: mine[0].sopInstanceUid });
    expect(sink.bytes?.equals(mine[0].buffer)).toBe(true);
    const second = await sink.stageStream(Readable.from([mine[1].buffer]), { part10: true });
    expect(second.stored).toBe(false);
    expect(sink.bytes?.equals(mine[0].buffer)).toBe(true);
    expect(sink.stored).toBe(1);
    expect(await left()).toEqual([]);
    expect(await db.stagedInstance.count({ where: { receivingPoolId: poolId } })).toBe(0);
  });

  it('refuses an instance over the limit, another study’s and garbage, keeping nothing', async () => {
    const mine = corpus.instances.filter((i) => i.studyInstanceUid === study);
    const small = await memorySink(poolId, study, mine[0].buffer.length - 1);
    const big = await small.stageStream(Readable.from([mine[0].buffer]), { part10: true });
    expect(big.stored).toBe(false);
    expect(small.tooLarge).toBe(true);
    expect(small.bytes).toBeNull();
    const sink = await memorySink(poolId, study, 10 * 1024 * 1024);
    const other = corpus.instances.find((i) => i.studyInstanceUid !== study)!;
    expect((await sink.stageStream(Readable.from([other.buffer]), { part10: true })).stored).toBe(false);
    expect((await sink.stageStream(Readable.from([Buffer.alloc(4096, 7)]), { part10: true })).stored).toBe(false);
    expect(sink.bytes).toBeNull();
    expect(await left()).toEqual([]);
  });
});
