/**
 * De-identification integration helpers: instances with PHI written by the tests' own DICOM writer
 * (tests/unit/anonymize/helpers.ts, independent of the engine), and retrievals set up in the
 * database exactly as the SCP leaves them (staged files + rows), ready for runAnonymize.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { readElementsForPreview } from '@/lib/anonymize/engine';
import { db } from '@/lib/db';
import { stagingDir } from '@/lib/storage';
import { type TElem, buildPart10, ctInstance } from '../../unit/anonymize/helpers';
import { makeConnector, suffix } from '../../helpers/fixtures';

export { ctInstance, buildPart10, type TElem };

let connector: Awaited<ReturnType<typeof makeConnector>> | null = null;
async function sharedConnector() {
  connector ??= await makeConnector({ pacsAe: `DEID_${suffix()}`, port: 1 });
  return connector;
}

export const US_IMAGE = '1.2.840.10008.5.1.4.1.1.6.1';

export interface SourceInstance {
  bytes: Buffer;
  study: string;
  series: string;
  sop: string;
}

/** A CT instance of one patient with PHI; `extra` elements are added or replace by tag. */
export function sourceInstance(opts: { mrn: string; name?: string; study: string; series: string; sop: string; date?: string; extra?: TElem[] }): SourceInstance {
  const els = ctInstance(
    [
      { tag: 0x00100020, vr: 'LO', value: opts.mrn },
      { tag: 0x00100010, vr: 'PN', value: opts.name ?? 'Doe^John' },
      { tag: 0x00080020, vr: 'DA', value: opts.date ?? '20200115' },
      ...(opts.extra ?? []),
    ],
    { uids: { study: opts.study, series: opts.series, sop: opts.sop } },
  );
  return { bytes: buildPart10(els), study: opts.study, series: opts.series, sop: opts.sop };
}

/** The same instance made an ultrasound image (quarantined by the default rules). */
export function ultrasound(opts: Parameters<typeof sourceInstance>[0]): SourceInstance {
  return sourceInstance({
    ...opts,
    extra: [{ tag: 0x00080060, vr: 'CS', value: 'US' }, { tag: 0x00080016, vr: 'UI', value: US_IMAGE }, ...(opts.extra ?? [])],
  });
}

/**
 * One retrieval of one study into `poolId`, with its instances staged as the SCP would leave them:
 * files under staging/<receiving pool>/<study>/<sop>.dcm and StagedInstance rows.
 */
export async function stagedRetrieval(
  poolId: string,
  opts: { mrn: string; researchId?: string; researchName?: string; instances: SourceInstance[] },
) {
  const { connector: c, receivingPool } = await sharedConnector();
  const study = opts.instances[0].study;
  const query = await db.query.create({
    data: {
      poolId,
      connectorId: c.id,
      status: 'DONE',
      items: { create: { rowNumber: 1, patientId: opts.mrn, researchId: opts.researchId ?? null, researchName: opts.researchName ?? null, status: 'DONE', resultCount: 1 } },
    },
    include: { items: true },
  });
  const result = await db.queryResult.create({ data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid: study, patientId: opts.mrn, selected: true } });
  const retrieval = await db.retrieval.create({
    data: { queryId: query.id, resultId: result.id, poolId, connectorId: c.id, studyInstanceUid: study, state: 'ANONYMIZING', expected: opts.instances.length, received: opts.instances.length },
  });
  const dir = path.join(stagingDir(receivingPool.id), study);
  await fs.mkdir(dir, { recursive: true });
  const staged = [];
  for (const i of opts.instances) {
    const file = path.join(dir, `${i.sop}.dcm`);
    await fs.writeFile(file, i.bytes);
    staged.push(
      await db.stagedInstance.create({
        data: { receivingPoolId: receivingPool.id, retrievalId: retrieval.id, callingAeTitle: 'PACS', studyInstanceUid: study, sopInstanceUid: i.sop, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1', path: file, size: i.bytes.length },
      }),
    );
  }
  return { retrieval, staged, query };
}

/**
 * Removes staged instances a test left unconsumed (files and rows), as the staging purge would:
 * other test files assert that staging is empty after their retrievals.
 */
export async function discardStaged(staged: { id: string; path: string }[]): Promise<void> {
  await Promise.all(staged.map((s) => fs.rm(s.path, { force: true })));
  await db.stagedInstance.deleteMany({ where: { id: { in: staged.map((s) => s.id) } } });
}

/** keyword (or path/keyword inside sequences) -> value, from a stored file. */
export async function readOutput(absPath: string): Promise<Map<string, string>> {
  const els = readElementsForPreview(await fs.readFile(absPath));
  return new Map(els.map((e) => [`${e.path ? `${e.path}/` : ''}${e.keyword ?? e.tag}`, e.value]));
}

/** Days between two DICOM dates. */
export function daysBetween(a: string, b: string): number {
  const d = (s: string) => Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8)));
  return Math.round((d(b) - d(a)) / 86_400_000);
}
