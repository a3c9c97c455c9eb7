/**
 * Puts DICOM buffers into a pool the way ingest does after de-identification: the file at its
 * pool path under the storage root, indexed with lib/receive/ingest's indexDeidentified, counts
 * refreshed. (The buffers are synthetic; browsing does not care whether they were de-identified.)
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { readIndexFields } from '@/lib/anonymize/index-fields';
import { db } from '@/lib/db';
import { readInstanceIds } from '@/lib/dicom/part10';
import { indexDeidentified, refreshStudyCounts } from '@/lib/receive/ingest';
import { absolute, poolInstanceRelPath } from '@/lib/storage';

export interface Seeded {
  studyIds: string[];
  /** Stored path (relative to the storage root) by SOP instance UID. */
  paths: Map<string, string>;
}

export async function seedPool(poolId: string, buffers: Iterable<Buffer>, opts: { researchId?: (sourcePatientId: string) => string } = {}): Promise<Seeded> {
  const studyIds = new Set<string>();
  const paths = new Map<string, string>();
  for (const buf of buffers) {
    const ids = readInstanceIds(buf);
    const index = readIndexFields(buf);
    const rel = poolInstanceRelPath(poolId, ids.studyInstanceUid!, ids.seriesInstanceUid!, ids.sopInstanceUid!);
    await fs.mkdir(path.dirname(absolute(rel)), { recursive: true });
    await fs.writeFile(absolute(rel), buf);
    const researchId = opts.researchId ? opts.researchId(index.patientId ?? '') : `TRB-${(index.patientId ?? 'X').slice(-4)}`;
    const { studyId } = await indexDeidentified({
      poolId,
      path: rel,
      size: buf.length,
      sopClassUid: ids.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.7',
      transferSyntaxUid: ids.transferSyntaxUid,
      targetUids: { study: ids.studyInstanceUid!, series: ids.seriesInstanceUid!, sop: ids.sopInstanceUid! },
      index: { ...index, patientId: researchId, patientName: `${researchId}^RESEARCH` },
      identity: { researchId, researchName: `${researchId}^RESEARCH` },
      ruleVersion: 1,
    });
    studyIds.add(studyId);
    paths.set(ids.sopInstanceUid!, rel);
  }
  await refreshStudyCounts([...studyIds]);
  return { studyIds: [...studyIds], paths };
}

export async function studySeries(studyId: string) {
  return db.series.findMany({ where: { studyId }, orderBy: { seriesNumber: 'asc' }, include: { instances: { orderBy: { instanceNumber: 'asc' } } } });
}
