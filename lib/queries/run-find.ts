/**
 * The C-FIND step of a query: every pending row, over as few associations as possible
 * (one association carries a chunk of rows), as the connector's query-pool AE.
 * Idempotent: rows already answered are skipped; results are upserted per (query, study).
 */
import { db } from '../db';
import { audit } from '../audit';
import { DicomNetworkError, findSeries, findStudiesMany, type StudyMatch } from '../dicom/scu';
import { acquireAssociation, type Lane } from '../jobs/leases';
import { inWindow, nextWindowStart } from '../connectors/schedule';
import { logger } from '../logger';

const log = logger('query.find');
const CHUNK = 200;

export type StepOutcome = { status: 'done' } | { status: 'wait'; until: number; reason: 'schedule' | 'capacity' };

export function laneForQuery(source: 'SINGLE' | 'SPREADSHEET'): Lane {
  return source === 'SINGLE' ? 'interactive' : 'batch';
}

export async function runFind(queryId: string, opts: { isFinalAttempt?: boolean } = {}): Promise<StepOutcome> {
  const q = await db.query.findUnique({
    where: { id: queryId },
    include: { connector: { include: { device: true, queryPool: true } } },
  });
  if (!q || q.status === 'CANCELLED') return { status: 'done' };
  const { connector } = q;
  if (!connector.device) throw new Error('connector has no device');
  const lane = laneForQuery(q.source);
  // Batch queries respect the connector's schedule window; a single MRN is light and runs now.
  if (lane === 'batch' && !inWindow(connector.schedule)) {
    return { status: 'wait', until: nextWindowStart(connector.schedule).getTime(), reason: 'schedule' };
  }
  const lease = await acquireAssociation(connector.id, connector.maxAssociations, lane);
  if (!lease) return { status: 'wait', until: Date.now() + 500 + Math.floor(Math.random() * 500), reason: 'capacity' };
  const peer = { aeTitle: connector.device.aeTitle, host: connector.device.host, port: connector.device.port, tls: connector.device.tls };
  try {
    await db.query.update({ where: { id: q.id }, data: { status: 'RUNNING', error: null } });
    for (;;) {
      const items = await db.queryItem.findMany({
        where: { queryId, status: { in: ['PENDING', 'RUNNING'] } },
        orderBy: { rowNumber: 'asc' },
        take: CHUNK,
      });
      if (!items.length) break;
      const fresh = await db.query.findUnique({ where: { id: queryId }, select: { status: true } });
      if (fresh?.status === 'CANCELLED') return { status: 'done' };
      const answers = await findStudiesMany(
        peer,
        connector.queryPool.aeTitle,
        items.map((it) => ({
          patientId: it.patientId,
          accessionNumber: it.accessionNumber ?? undefined,
          modality: it.modality ?? undefined,
          studyDateFrom: it.studyDateFrom ?? undefined,
          studyDateTo: it.studyDateTo ?? undefined,
          studyDescription: it.studyDescription ?? undefined,
        })),
      );
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        const a = answers[i];
        if (a instanceof Error) {
          await db.queryItem.update({ where: { id: it.id }, data: { status: 'FAILED', error: a.message } });
          continue;
        }
        await storeMatches(queryId, it.id, it.patientId, await withCounts(peer, connector.queryPool.aeTitle, a, connector.capabilities));
        await db.queryItem.update({ where: { id: it.id }, data: { status: 'DONE', error: null, resultCount: a.length } });
      }
    }
    await finishQuery(queryId);
    return { status: 'done' };
  } catch (e) {
    const message = e instanceof Error ? e.message : 'C-FIND failed';
    log.warn('find failed', { queryId, reason: e instanceof DicomNetworkError ? e.reason : 'error', final: !!opts.isFinalAttempt });
    await db.query.update({ where: { id: queryId }, data: { error: opts.isFinalAttempt ? message : `${message} (retrying)` } });
    if (opts.isFinalAttempt) {
      await db.queryItem.updateMany({ where: { queryId, status: { in: ['PENDING', 'RUNNING'] } }, data: { status: 'FAILED', error: message } });
      await db.query.update({ where: { id: queryId }, data: { status: 'FAILED' } });
      return { status: 'done' };
    }
    throw e;
  } finally {
    await lease.release();
  }
}

async function storeMatches(queryId: string, itemId: string, requestedPatientId: string, matches: StudyMatch[]) {
  for (const m of matches) {
    // A PACS may answer a PatientID query with other patients' studies when it treats the key
    // loosely; keep only exact PatientID matches so nothing unintended is retrieved.
    if (m.patientId && m.patientId !== requestedPatientId) continue;
    const data = {
      patientId: m.patientId || requestedPatientId,
      patientName: m.patientName ?? '',
      patientBirthDate: m.patientBirthDate ?? '',
      studyDate: m.studyDate ?? '',
      studyTime: m.studyTime ?? '',
      studyDescription: m.studyDescription ?? '',
      accessionNumber: m.accessionNumber ?? '',
      modalities: (m.modalitiesInStudy ?? []).join('\\'),
      numSeries: m.numberOfStudyRelatedSeries ?? null,
      numInstances: m.numberOfStudyRelatedInstances ?? null,
    };
    await db.queryResult.upsert({
      where: { queryId_studyInstanceUid: { queryId, studyInstanceUid: m.studyInstanceUid } },
      create: { queryId, itemId, studyInstanceUid: m.studyInstanceUid, ...data },
      update: data,
    });
  }
}

/**
 * A PACS that leaves NumberOfStudyRelatedInstances empty (seen in the capability check, or just
 * now) gets a series-level C-FIND per such study and the series counts are summed, so progress
 * bars have a total. Skipped when the capability check found no series-level support.
 */
async function withCounts(peer: Parameters<typeof findSeries>[0], callingAe: string, matches: StudyMatch[], capabilities: unknown): Promise<StudyMatch[]> {
  const caps = capabilities as { seriesLevel?: { ok?: boolean; countsInstances?: boolean } } | null;
  if (caps?.seriesLevel && (!caps.seriesLevel.ok || !caps.seriesLevel.countsInstances)) return matches;
  const out: StudyMatch[] = [];
  for (const m of matches) {
    if (m.numberOfStudyRelatedInstances !== undefined) {
      out.push(m);
      continue;
    }
    try {
      const series = await findSeries(peer, callingAe, m.studyInstanceUid);
      const counted = series.filter((s) => s.numberOfSeriesRelatedInstances !== undefined);
      out.push({
        ...m,
        numberOfStudyRelatedSeries: m.numberOfStudyRelatedSeries ?? series.length,
        numberOfStudyRelatedInstances: counted.length === series.length && series.length ? counted.reduce((n, s) => n + (s.numberOfSeriesRelatedInstances ?? 0), 0) : undefined,
        modalitiesInStudy: m.modalitiesInStudy.length ? m.modalitiesInStudy : [...new Set(series.map((s) => s.modality).filter(Boolean))],
      });
    } catch {
      out.push(m);
    }
  }
  return out;
}

async function finishQuery(queryId: string) {
  const failed = await db.queryItem.count({ where: { queryId, status: 'FAILED' } });
  const invalid = await db.queryItem.count({ where: { queryId, status: 'INVALID' } });
  const q = await db.query.update({
    where: { id: queryId },
    data: { status: 'DONE', error: failed ? `${failed} row(s) failed` : invalid ? `${invalid} row(s) invalid` : null },
  });
  if (failed || invalid) {
    await audit({ userId: q.createdById, action: 'query.rows-failed', poolId: q.poolId, targetType: 'query', targetId: q.id, detail: { failed, invalid } });
  }
}
