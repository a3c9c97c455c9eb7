/**
 * The DICOM (DIMSE) source: C-ECHO, C-FIND at study/series/image level as the connector's
 * query-pool AE, and the retrieve as its receiving-pool AE — C-MOVE to that same AE (instances
 * arrive at our SCP) or C-GET (instances come back on the same association, into ctx.sink).
 * A thin wrapper over lib/dicom/scu.ts.
 */
import { AppError } from '../../errors';
import { echo, findInstances, findSeries, findStudiesMany, get, move, StudyFindSession, type DicomPeer } from '../../dicom/scu';
import type { FindOptions, FindSession, RetrieveContext, RetrieveMethod, RetrieveResult, RetrieveTarget, SourceConnector, StudyQuery } from '../source';

export interface DicomSourceConfig {
  peer: DicomPeer;
  /** Calling AE for echo and queries (the query pool's AE title). */
  queryAe: string;
  /** Calling AE for retrieves, and the C-MOVE destination (the receiving pool's AE title). */
  receivingAe: string;
  retrieveMethod: Extract<RetrieveMethod, 'CMOVE' | 'CGET'>;
}

/** Default silence allowed during a retrieve: a PACS may fetch from a slow archive between sub-operations. */
const RETRIEVE_TIMEOUT_MS = 30 * 60_000;

export class DicomSource implements SourceConnector {
  readonly kind = 'DICOM' as const;
  readonly retrieveMethod: 'CMOVE' | 'CGET';
  readonly label: string;
  readonly sameConnection: boolean;

  constructor(private readonly cfg: DicomSourceConfig) {
    this.retrieveMethod = cfg.retrieveMethod;
    this.sameConnection = cfg.retrieveMethod === 'CGET';
    this.label = `${cfg.peer.aeTitle} at ${cfg.peer.host}:${cfg.peer.port}`;
  }

  get peer(): DicomPeer {
    return this.cfg.peer;
  }

  async echo(opts: FindOptions = {}) {
    const r = await echo(this.cfg.peer, this.cfg.queryAe, { timeoutMs: opts.timeoutMs, connectTimeoutMs: opts.timeoutMs });
    return { ms: r.ms };
  }

  findStudies(queries: StudyQuery[], opts: FindOptions = {}) {
    return findStudiesMany(this.cfg.peer, this.cfg.queryAe, queries, { timeoutMs: opts.timeoutMs });
  }

  /** One association kept across calls (lib/dicom/scu.ts StudyFindSession). */
  findSession(opts: FindOptions = {}): FindSession {
    const session = new StudyFindSession(this.cfg.peer, this.cfg.queryAe, { timeoutMs: opts.timeoutMs });
    return { findStudies: (queries) => session.find(queries), prepare: () => session.prepare(), close: () => session.close() };
  }

  findSeries(studyInstanceUid: string, opts: FindOptions = {}) {
    return findSeries(this.cfg.peer, this.cfg.queryAe, studyInstanceUid, { timeoutMs: opts.timeoutMs });
  }

  findInstances(studyInstanceUid: string, seriesInstanceUid: string, opts: FindOptions = {}) {
    return findInstances(this.cfg.peer, this.cfg.queryAe, studyInstanceUid, seriesInstanceUid, { timeoutMs: opts.timeoutMs });
  }

  async retrieve(target: RetrieveTarget, ctx: RetrieveContext): Promise<RetrieveResult> {
    const common = { timeoutMs: ctx.timeoutMs ?? RETRIEVE_TIMEOUT_MS, signal: ctx.signal, onProgress: ctx.onProgress };
    if (this.cfg.retrieveMethod === 'CMOVE') {
      const r = await move(this.cfg.peer, this.cfg.receivingAe, this.cfg.receivingAe, target, common);
      return { ...r, statusCode: r.dimseStatus, comment: r.errorComment };
    }
    if (!ctx.sink) throw new AppError('INTERNAL', 'C-GET needs a sink for the instances');
    // The storage SOP classes to propose: given (a partial retry listed them), else asked now.
    const sopClassUids = ctx.sopClassUids?.length ? ctx.sopClassUids : await this.sopClassesOf(target);
    const r = await get(this.cfg.peer, this.cfg.receivingAe, target, { ...common, sink: ctx.sink, sopClassUids });
    return { ...r, statusCode: r.dimseStatus, comment: r.errorComment };
  }

  /**
   * The SOP classes of a study (or series): an image-level C-FIND per series, as the query AE.
   * Empty when the PACS cannot list them (the C-GET then proposes the common storage classes).
   */
  async sopClassesOf(target: RetrieveTarget): Promise<string[]> {
    const classes = new Set<string>();
    try {
      const series = target.seriesInstanceUid ? [{ seriesInstanceUid: target.seriesInstanceUid }] : await this.findSeries(target.studyInstanceUid);
      for (const s of series) {
        for (const i of await this.findInstances(target.studyInstanceUid, s.seriesInstanceUid)) if (i.sopClassUid) classes.add(i.sopClassUid);
      }
    } catch {
      return [];
    }
    return [...classes];
  }
}
