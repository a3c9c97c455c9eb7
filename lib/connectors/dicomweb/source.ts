/**
 * The DICOMweb source (lib/connectors/source.ts): QIDO-RS for the queries, WADO-RS for the
 * retrieve, lib/http for the connection (authentication, TLS, timeouts). Instances come back on
 * our own connection (`sameConnection`): each multipart part is streamed into the retrieval's
 * sink (lib/receive/sink.ts) as it arrives — staged, checked and recorded like the SCP's — so a
 * study is never held in memory and a part cut short is never kept.
 *
 * Errors are HttpError (lib/http/client.ts) with a `transient` flag: the find step waits on
 * transient ones (isTransientFindError), the retrieve step retries them and reports the others
 * (credentials, certificate, HTML page) on the study and the connector at once.
 */
import { HttpError, httpRequest, isHtml } from '../../http/client';
import { readMultipart, type PartWriter } from '../../dicomweb/multipart';
import type { InstanceSink, StageOutcome } from '../../receive/sink';
import type { FindOptions, RetrieveContext, RetrieveResult, RetrieveTarget, SourceConnector, StudyMatch, StudyQuery } from '../source';
import { dicomwebSource, type DicomwebSource, type WebConnector } from './peer';
import { qidoInstances, qidoSeries, qidoStudies } from './qido';
import { boundaryOf, wadoAccept, wadoPaths } from './wado';

export class DicomwebSourceConnector implements SourceConnector {
  readonly kind = 'DICOMWEB' as const;
  readonly retrieveMethod = 'WADORS' as const;
  readonly sameConnection = true;
  readonly label: string;
  readonly src: DicomwebSource;
  /** Transfer syntaxes named on the parts received (Content-Type parameter), for the capability check. */
  readonly transferSyntaxesSeen = new Set<string>();

  constructor(connector: WebConnector) {
    this.src = dicomwebSource(connector);
    this.label = `the DICOMweb server at ${new URL(this.src.qidoRoot).host}`;
  }

  /** A cheap QIDO-RS request (one study, no matching key): the server is there and lets us in. */
  async echo(): Promise<{ ms: number }> {
    const started = Date.now();
    const res = await httpRequest(new URL('studies?limit=1', this.src.qidoRoot), this.src.http, { headers: { accept: 'application/dicom+json, application/json' } });
    res.discard();
    if (isHtml(res.headers)) throw new HttpError('html', `${new URL(this.src.qidoRoot).host} answered QIDO-RS with an HTML page: check the QIDO-RS root and the authentication (a login page?)`, false);
    return { ms: Date.now() - started };
  }

  /**
   * One row after the other on the job's lease (the lease is the connector's throttle). A row's
   * invalid keys or a definite refusal yield an Error in its slot; a transient failure (the
   * server went away) ends the chunk: the rest of its rows get that error and wait for the retry.
   */
  async findStudies(queries: StudyQuery[]): Promise<Array<StudyMatch[] | Error>> {
    const out: Array<StudyMatch[] | Error> = [];
    let stop: Error | null = null;
    for (const q of queries) {
      if (stop) {
        out.push(stop);
        continue;
      }
      try {
        out.push((await qidoStudies(this.src, q)).matches);
      } catch (e) {
        out.push(e as Error);
        if (e instanceof HttpError && e.transient) stop = e;
      }
    }
    return out;
  }

  findSeries(studyInstanceUid: string, _opts?: FindOptions) {
    return qidoSeries(this.src, studyInstanceUid);
  }

  findInstances(studyInstanceUid: string, seriesInstanceUid: string, _opts?: FindOptions) {
    return qidoInstances(this.src, studyInstanceUid, seriesInstanceUid);
  }

  async retrieve(target: RetrieveTarget, ctx: RetrieveContext): Promise<RetrieveResult> {
    if (!ctx.sink) throw new HttpError('protocol', 'WADO-RS needs a sink for the instances', false);
    const counts = { completed: 0, failed: 0, warnings: 0, remaining: 0 };
    try {
      for (const p of wadoPaths(target)) {
        if (ctx.signal?.aborted) return { ...counts, status: 'cancelled' };
        const r = await this.retrievePath(p, ctx.sink, ctx.signal, (o) => {
          if (o.stored) counts.completed++;
          else counts.failed++;
          ctx.onProgress?.(counts);
        });
        if (r === 'not-found') return { ...counts, status: counts.completed ? 'warning' : 'failure', statusCode: 404 };
      }
    } catch (e) {
      if (ctx.signal?.aborted) return { ...counts, status: 'cancelled' };
      throw e;
    }
    return { ...counts, status: counts.failed ? 'warning' : 'success', statusCode: 200 };
  }

  private async retrievePath(p: string, sink: InstanceSink, signal: AbortSignal | undefined, onOutcome: (o: StageOutcome) => void): Promise<'ok' | 'not-found'> {
    for (const uid of p.split('/').filter((_, i) => i % 2 === 1)) {
      if (!/^[0-9.]{1,64}$/.test(uid)) throw new HttpError('protocol', 'Refusing a WADO-RS path with an invalid UID', false);
    }
    const url = new URL(p, this.src.wadoRoot);
    const host = url.host;
    let res;
    try {
      res = await httpRequest(url, this.src.http, { headers: { accept: wadoAccept(this.src.transferSyntax) }, signal });
    } catch (e) {
      // Gone since the query (or never there): the caller asks QIDO-RS whether the study still exists.
      if (e instanceof HttpError && e.kind === 'not-found') return 'not-found';
      throw e;
    }
    const type = String(res.headers['content-type'] ?? '');
    if (isHtml(res.headers)) {
      res.discard();
      throw new HttpError('html', `${host} answered WADO-RS with an HTML page, not DICOM: check the WADO-RS root and the authentication (a login page?)`, false, res.status);
    }
    const boundary = /^\s*multipart\/related/i.test(type) ? boundaryOf(type) : null;
    if (!boundary) {
      res.discard();
      throw new HttpError('protocol', `${host} answered WADO-RS with ${type.split(';')[0] || 'no content type'} instead of multipart/related: does it support WADO-RS at this root, and transfer syntax ${this.src.transferSyntax}?`, false, res.status);
    }
    await readMultipart(res.body, boundary, '', {
      malformed: (m) => new HttpError('protocol', `The WADO-RS answer of ${host} was cut short or malformed (${m.replace(/\.$/, '')}); what arrived complete is kept and the rest is asked again`, true),
      openPart: (headers) => {
        const ts = /transfer-syntax\s*=\s*"?([0-9.]+)/i.exec(headers['content-type'] ?? '')?.[1];
        if (ts) this.transferSyntaxesSeen.add(ts);
        return sinkPart(sink, onOutcome);
      },
    }).catch((e: unknown) => {
      if (e instanceof HttpError) throw e;
      if (signal?.aborted) throw e;
      const code = (e as { code?: string }).code;
      throw new HttpError('network', `The WADO-RS answer of ${host} broke off${code ? ` (${code})` : ''}; what arrived complete is kept and the rest is asked again`, true);
    });
    return 'ok';
  }
}

/** A multipart part streamed into the sink, with the sink's back-pressure. */
function sinkPart(sink: InstanceSink, onOutcome: (o: StageOutcome) => void): PartWriter {
  let pause: { p: Promise<void>; resume: () => void } | null = null;
  const h = sink.open({
    part10: true,
    onPressure: (high) => {
      if (high && !pause) {
        let resume!: () => void;
        const p = new Promise<void>((r) => (resume = r));
        pause = { p, resume };
      } else if (!high && pause) {
        pause.resume();
        pause = null;
      }
    },
  });
  let ended = false;
  return {
    async write(chunk) {
      h.stream.write(chunk);
      if (pause) await pause.p;
    },
    async end() {
      ended = true;
      h.stream.end();
      onOutcome(await h.done());
    },
    abandon() {
      if (!ended) h.abandon();
    },
  };
}
