/**
 * PACS capability check, from the connector's page or the API: what this PACS actually does for
 * us, so queries can adapt and an administrator sees problems before a coordinator does.
 *  1. C-ECHO as the query AE.
 *  2. A study-level C-FIND for a known MRN: which of the return keys we ask for the PACS fills.
 *  3. Series- and instance-level C-FIND on the first study found.
 *  4. A retrieve of ONE instance: C-MOVE to the receiving AE proves the PACS can reach our SCP
 *     under that AE title (our SCP accepts it as a probe and discards it); C-GET (and other
 *     same-connection methods) proves the PACS accepts the method and sends the instance back.
 * Steps 1-3 and the C-GET go through the connector's source (lib/connectors/source.ts).
 * The result is stored on the connector (never PHI: key names, counts, booleans, messages).
 */
import { createHash } from 'node:crypto';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, type Prisma } from '../db';
import { move, type StudyMatch } from '../dicom/scu';
import { probeSink } from '../receive/sink';
import { sourceFor, sourceInclude } from './sources';
import { DicomwebSourceConnector } from './dicomweb/source';
import { qidoStudies } from './dicomweb/qido';
import { env } from '../env';
import { AppError, publicMessage } from '../errors';
import { acquireAssociation } from '../jobs/leases';
import { key, redis } from '../redis';

export const STUDY_RETURN_KEYS = [
  'PatientName',
  'PatientBirthDate',
  'StudyDate',
  'StudyTime',
  'StudyDescription',
  'AccessionNumber',
  'ModalitiesInStudy',
  'NumberOfStudyRelatedSeries',
  'NumberOfStudyRelatedInstances',
] as const;

export interface StepResult {
  ok: boolean;
  message: string;
}

export interface Capabilities {
  checkedAt: string;
  /** The retrieve method the retrieve test used. */
  retrieveMethod: 'CMOVE' | 'CGET' | 'WADORS';
  echo: StepResult & { ms?: number };
  find: (StepResult & { studies: number; filled: Partial<Record<(typeof STUDY_RETURN_KEYS)[number], boolean>> }) | null;
  seriesLevel: (StepResult & { series: number; countsInstances: boolean }) | null;
  instanceLevel: (StepResult & { instances: number }) | null;
  move: (StepResult & { completed: number }) | null;
  /** DICOMweb sources: whether QIDO-RS honours includefield, and the transfer syntaxes WADO-RS sent. */
  dicomweb?: { includeField: StepResult | null; transferSyntaxes: string[]; warnings: string[] };
}

/** The attributes a DICOMweb source returns only when it honours includefield. */
const INCLUDED_KEYS = ['PatientName', 'ModalitiesInStudy', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances'] as const;

function filledKeys(matches: StudyMatch[]) {
  const has = (f: (m: StudyMatch) => unknown) => matches.some((m) => {
    const v = f(m);
    return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null && v !== '';
  });
  return {
    PatientName: has((m) => m.patientName),
    PatientBirthDate: has((m) => m.patientBirthDate),
    StudyDate: has((m) => m.studyDate),
    StudyTime: has((m) => m.studyTime),
    StudyDescription: has((m) => m.studyDescription),
    AccessionNumber: has((m) => m.accessionNumber),
    ModalitiesInStudy: has((m) => m.modalitiesInStudy),
    NumberOfStudyRelatedSeries: has((m) => m.numberOfStudyRelatedSeries),
    NumberOfStudyRelatedInstances: has((m) => m.numberOfStudyRelatedInstances),
  };
}

const errText = (e: unknown) => publicMessage(e, 'Check failed');

/**
 * The SCP accepts (and discards) an instance announced here, for the move test only. The value
 * is `waiting:<device id>`: only the connector's own PACS device (AE title and address) answers it.
 */
export function probeKey(receivingPoolId: string, sopInstanceUid: string) {
  return key('probe', receivingPoolId, createHash('sha256').update(sopInstanceUid).digest('hex').slice(0, 32));
}

export async function checkConnector(actor: Actor, connectorId: string, input: { patientId: string; moveTest: boolean }): Promise<Capabilities> {
  const c = await db.connector.findUnique({ where: { id: connectorId }, include: sourceInclude });
  if (!c) throw new AppError('NOT_FOUND', 'Connector not found');
  if (c.type === 'DICOM' && !c.device) throw new AppError('VALIDATION', 'This connector has no PACS device');
  const source = sourceFor(c);
  const lease = await acquireAssociation(c.id, c.maxAssociations, 'interactive');
  if (!lease) throw new AppError('CONFLICT', 'The connector is using all its associations right now; try again in a moment');
  const caps: Capabilities = { checkedAt: new Date().toISOString(), retrieveMethod: c.retrieveMethod, echo: { ok: false, message: '' }, find: null, seriesLevel: null, instanceLevel: null, move: null };
  try {
    try {
      const r = await source.echo({ timeoutMs: 10_000 });
      caps.echo = { ok: true, ms: r.ms, message: `${source.kind === 'DICOMWEB' ? 'QIDO-RS' : 'C-ECHO'} answered in ${r.ms} ms` };
    } catch (e) {
      caps.echo = { ok: false, message: errText(e) };
      return caps;
    }
    let studies: StudyMatch[] = [];
    try {
      const [answer] = await source.findStudies([{ patientId: input.patientId }]);
      if (answer instanceof Error) throw answer;
      studies = answer;
      const filled = filledKeys(studies);
      const missing = STUDY_RETURN_KEYS.filter((k) => !filled[k]);
      caps.find = {
        ok: studies.length > 0,
        studies: studies.length,
        filled,
        message: studies.length === 0 ? 'No study found for this MRN: give the MRN of a patient the PACS holds' : missing.length ? `The PACS leaves empty: ${missing.join(', ')}` : 'The PACS fills every requested key',
      };
      if (source instanceof DicomwebSourceConnector && studies.length) {
        const notBack = INCLUDED_KEYS.filter((k) => !filled[k]);
        caps.dicomweb = {
          transferSyntaxes: [],
          warnings: [],
          includeField: source.src.includeField
            ? {
                ok: notBack.length === 0,
                message: notBack.length ? `QIDO-RS does not return ${notBack.join(', ')} although includefield asks for them (missing counts then come from series-level queries)` : 'QIDO-RS returns the included attributes',
              }
            : { ok: true, message: 'includefield support is switched off on this connector: the server’s default attributes are used' },
        };
        // The server's Warning header (e.g. fuzzy matching not supported): its own words, shown to admins.
        caps.dicomweb.warnings = (await qidoStudies(source.src, { patientId: input.patientId }).catch(() => ({ warnings: [] as string[] }))).warnings;
      }
    } catch (e) {
      caps.find = { ok: false, studies: 0, filled: {}, message: errText(e) };
    }
    const study = studies[0];
    if (!study) return caps;
    let firstSeries: string | null = null;
    try {
      const series = await source.findSeries(study.studyInstanceUid);
      firstSeries = series[0]?.seriesInstanceUid ?? null;
      caps.seriesLevel = {
        ok: series.length > 0,
        series: series.length,
        countsInstances: series.some((s) => s.numberOfSeriesRelatedInstances !== undefined),
        message: series.length ? `${series.length} series listed` : 'The PACS answered no series for a study it listed',
      };
    } catch (e) {
      caps.seriesLevel = { ok: false, series: 0, countsInstances: false, message: errText(e) };
    }
    if (!firstSeries) return caps;
    let sop: string | null = null;
    let sopClass: string | null = null;
    try {
      const instances = await source.findInstances(study.studyInstanceUid, firstSeries);
      sopClass = instances[0]?.sopClassUid ?? null;
      sop = instances[0]?.sopInstanceUid ?? null;
      caps.instanceLevel = { ok: instances.length > 0, instances: instances.length, message: instances.length ? `${instances.length} instances listed in the first series` : 'No instance listed' };
    } catch (e) {
      caps.instanceLevel = { ok: false, instances: 0, message: errText(e) };
    }
    if (!input.moveTest || !sop) return caps;
    const one = { studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: firstSeries, sopInstanceUids: [sop] };
    if (source.sameConnection) {
      // C-GET (WADO-RS): retrieve ONE instance on our own connection into a sink that checks it
      // and keeps nothing. Proves the PACS accepts the method and sends the study's class back.
      try {
        const sink = await probeSink(c.receivingPoolId, study.studyInstanceUid, { sourceAe: c.device?.aeTitle });
        const r = await source.retrieve(one, { retrievalId: null, sink, timeoutMs: 60_000, sopClassUids: sopClass ? [sopClass] : undefined });
        const arrived = sink.stored > 0;
        if (source instanceof DicomwebSourceConnector && caps.dicomweb) caps.dicomweb.transferSyntaxes = [...source.transferSyntaxesSeen];
        caps.move = {
          ok: arrived,
          completed: r.completed,
          message: arrived
            ? source.kind === 'DICOMWEB'
              ? `WADO-RS sent the instance${source instanceof DicomwebSourceConnector && source.transferSyntaxesSeen.size ? ` (transfer syntax ${[...source.transferSyntaxesSeen].join(', ')})` : ''}`
              : `The PACS answered ${source.retrieveMethod === 'CGET' ? 'C-GET' : 'the retrieve'} and sent the instance back on the same connection`
            : `The PACS did not send the instance back (status ${r.status}${r.comment ? `: ${r.comment}` : ''})`,
        };
      } catch (e) {
        caps.move = { ok: false, completed: 0, message: errText(e) };
      }
      return caps;
    }
    if (!c.device) return caps;
    const peer = { aeTitle: c.device.aeTitle, host: c.device.host, port: c.device.port, tls: c.device.tls };
    const probe = probeKey(c.receivingPoolId, sop);
    await redis().set(probe, `waiting:${c.device.id}`, 'EX', 120);
    try {
      const r = await move(peer, c.receivingPool.aeTitle, c.receivingPool.aeTitle, one, { timeoutMs: 60_000 });
      const arrived = (await redis().get(probe)) === 'received';
      caps.move = {
        ok: r.status === 'success' && arrived,
        completed: r.completed,
        message: arrived
          ? `The PACS delivered to ${c.receivingPool.aeTitle} at ${env().DICOM_ADVERTISED_HOST}:${env().DICOM_PORT}`
          : `The PACS could not deliver to ${c.receivingPool.aeTitle} (status ${r.status}${r.errorComment ? `: ${r.errorComment}` : ''}); check that the PACS knows this AE at ${env().DICOM_ADVERTISED_HOST}:${env().DICOM_PORT}, that it sends from ${c.device.host} or an address listed on the device, and that the worker is running`,
      };
    } catch (e) {
      caps.move = { ok: false, completed: 0, message: errText(e) };
    } finally {
      await redis().del(probe);
    }
    return caps;
  } finally {
    await lease.release();
    await db.connector.update({ where: { id: c.id }, data: { capabilities: caps as unknown as Prisma.InputJsonValue } });
    await audit({ userId: actor.userId, action: 'connector.echo', targetType: 'connector', targetId: c.id, detail: { capabilityCheck: true, echo: caps.echo.ok, move: caps.move?.ok ?? null } });
  }
}
