/**
 * Automatic export through the real retrieval step: a study retrieved into a pool (runAnonymize,
 * through the retrieval.anonymize processor) settles DONE and gets exactly one whole-study export
 * per auto-export exporter — its research study, never the source UIDs — also when the processor
 * runs again after a crash.
 */
import type { Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { closeDeidPool } from '@/lib/receive/ingest';
import { retrievalAnonymize } from '@/workers/processors/retrieval-anonymize';
import { makePool, suffix } from '../../helpers/fixtures';
import { sourceInstance, stagedRetrieval } from '../deid/helpers';
import { makeExporter, makeWebDestination } from './helpers';

afterAll(async () => {
  await closeDeidPool();
});

const uid = (n: string) => `1.2.826.0.1.3680043.9.7778.${Date.now() % 1e9}.${n}`;

describe('auto-export of a retrieved study', () => {
  it('creates one export of the research study when the retrieval is DONE, once', async () => {
    const pool = await makePool();
    const dest = await makeWebDestination('http://127.0.0.1:9/studies');
    const auto = await makeExporter(pool.id, dest.id, { autoExport: true });
    const manual = await makeExporter(pool.id, dest.id);
    const u = { study: uid('1'), series: uid('2'), sop: uid('3') };
    const r = await stagedRetrieval(pool.id, { mrn: `MRN-AUTO-${suffix()}`, instances: [sourceInstance({ mrn: 'x', study: u.study, series: u.series, sop: u.sop })] });
    const job = { data: { retrievalId: r.retrieval.id, generation: 0 } } as unknown as Job;
    await retrievalAnonymize(job);
    expect((await db.retrieval.findUniqueOrThrow({ where: { id: r.retrieval.id } })).state).toBe('DONE');
    const study = await db.study.findFirstOrThrow({ where: { poolId: pool.id } });
    expect(study.studyInstanceUid).not.toBe(u.study);
    const exports = await db.export.findMany({ where: { poolId: pool.id }, include: { instances: true } });
    expect(exports).toHaveLength(1);
    expect(exports[0].exporterId).toBe(auto.id);
    expect(exports[0].scope).toMatchObject({ kind: 'auto', studyIds: [study.id] });
    expect(exports[0].instances.map((i) => i.studyInstanceUid)).toEqual([study.studyInstanceUid]);
    // The processor again (a crash after the study settled): no second export.
    await retrievalAnonymize(job);
    expect(await db.export.count({ where: { poolId: pool.id } })).toBe(1);
    expect(await db.export.count({ where: { exporterId: manual.id } })).toBe(0);
  });
});
