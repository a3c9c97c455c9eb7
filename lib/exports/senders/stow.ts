/**
 * The STOW-RS sender (PS3.18 10.5; seed-systems §3, dcm4chee-arc-light's "stow" exporter).
 *
 * One POST per batch (exporter.instancesPerRequest parts) to the destination's STOW-RS URL:
 * `multipart/related; type="application/dicom"`, one `application/dicom` part per instance (no
 * transfer-syntax parameter: Orthanc's DICOMweb plugin ignores a part that has one and answers
 * 200 with nothing stored; the syntax is in each file's meta header), `Accept: application/dicom+json`. With `chunked` the body goes with
 * Transfer-Encoding: chunked, otherwise with its exact Content-Length (every part's size is
 * known before the first byte). Stored files are streamed from disk; only instances converted to
 * another transfer syntax (lib/exports/transcode.ts) are held in memory. The SHA-256 of every
 * part's bytes is computed as they are written.
 *
 * Authentication and TLS come from the destination's `web*` fields (lib/http/peer.ts, shared
 * with the DICOMweb source connector); an exporter's bearer token or basic-auth replaces the
 * destination's authentication, its allow-any-hostname / disable-trust-manager loosen TLS.
 *
 * Answers, per instance:
 * - 200 / 202 / 409 (and 400 with a DICOM JSON body): FailedSOPSequence item → FAILED with its
 *   FailureReason; ReferencedSOPSequence item with WarningReason → WARNING; ReferencedSOPSequence
 *   item → SENT; an instance the answer does not name → FAILED, whatever the status (never
 *   marked sent without an acknowledgement: Orthanc answers 200 with empty sequences for parts
 *   it could not read). A body that is not DICOM JSON → FAILED.
 * - 413: the batch is split in halves and each half sent again; a single instance → FAILED "too
 *   large for the destination".
 * - 415, 400 without a body: FAILED with the reason.
 * - Transport errors, timeouts, 5xx, 408, 429, 401, 403, 404, certificate refused: the whole
 *   destination is unusable → every instance of the batch answers `retryable` with the reason
 *   (the job retries with backoff, then fails them with that reason).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Destination, Exporter } from '../../generated/prisma/client';
import { AppError } from '../../errors';
import { HttpError, hostOf, httpRequest, isHtml, readBody, type HttpAuth } from '../../http/client';
import { webPeer } from '../../http/peer';
import { decryptSecret } from '../../secrets';
import type { ExportSender, InstanceOutcome, OutgoingInstance } from '../sender';
import { prepareForDestination, type Prepared } from '../transcode';

const READ_CHUNK = 256 * 1024;

/** PS3.4 Annex GG / PS3.18 Annex I failure and warning reasons, for the export page. */
const FAILURE_REASONS: Record<number, string> = {
  0x0110: 'processing failure',
  0x0112: 'no such object instance',
  0x0117: 'invalid object instance',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0x0131: 'duplicate invocation',
  0x0210: 'duplicate SOP instance',
  0x0211: 'unrecognized operation',
  0x0212: 'mistyped argument',
  0xa700: 'out of resources',
  0xa770: 'storage full',
  0xa900: 'data set does not match SOP class',
  0xc000: 'cannot understand',
  0xc122: 'transfer syntax not supported',
};
const WARNING_REASONS: Record<number, string> = {
  0xb000: 'coercion of data elements',
  0xb006: 'elements discarded',
  0xb007: 'data set does not match SOP class',
};

const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;
const failureText = (n: number | undefined) => (n === undefined ? 'no reason given' : `${FAILURE_REASONS[n] ?? 'failure'} (${hex(n)})`);
const warningText = (n: number | undefined) => (n === undefined ? 'warning' : `${WARNING_REASONS[n] ?? 'warning'} (${hex(n)})`);

/** The exporter's own credentials (seed bearer-token / basic-auth) replace the destination's. */
export function exporterAuth(exporter: Pick<Exporter, 'bearerToken' | 'basicAuth'>): HttpAuth | undefined {
  if (exporter.bearerToken) return { kind: 'bearer', token: decryptSecret(exporter.bearerToken) };
  if (exporter.basicAuth) {
    const v = decryptSecret(exporter.basicAuth);
    const i = v.indexOf(':');
    return { kind: 'basic', username: i < 0 ? v : v.slice(0, i), password: i < 0 ? '' : v.slice(i + 1) };
  }
  return undefined;
}

interface Part {
  inst: OutgoingInstance;
  prepared: Extract<Prepared, { kind: 'as-stored' | 'converted' }>;
  head: Buffer;
  hash: ReturnType<typeof createHash>;
}

export interface StowAnswer {
  failed: Map<string, number | undefined>;
  referenced: Map<string, number | undefined>;
}

/** FailedSOPSequence / ReferencedSOPSequence of a STOW-RS DICOM JSON answer; null when it is not one. */
export function parseStowAnswer(body: Buffer): StowAnswer | null {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const ds = (Array.isArray(json) ? json[0] : json) as Record<string, { Value?: unknown[] }> | undefined;
  if (!ds || typeof ds !== 'object') return null;
  const items = (tag: string) => (Array.isArray(ds[tag]?.Value) ? (ds[tag].Value as Record<string, { Value?: unknown[] }>[]) : []);
  const first = (item: Record<string, { Value?: unknown[] }>, tag: string) => item?.[tag]?.Value?.[0];
  const out: StowAnswer = { failed: new Map(), referenced: new Map() };
  for (const it of items('00081198')) {
    const uid = first(it, '00081155');
    if (typeof uid === 'string') out.failed.set(uid, typeof first(it, '00081197') === 'number' ? (first(it, '00081197') as number) : undefined);
  }
  for (const it of items('00081199')) {
    const uid = first(it, '00081155');
    if (typeof uid === 'string') out.referenced.set(uid, typeof first(it, '00081196') === 'number' ? (first(it, '00081196') as number) : undefined);
  }
  return out;
}

export function stowSender(destination: Destination, exporter: Exporter): ExportSender {
  if (destination.type !== 'DICOMWEB' || !destination.webStowUrl) throw new AppError('VALIDATION', 'This destination has no STOW-RS URL');
  const url = new URL(destination.webStowUrl);
  const host = hostOf(url);
  const peer = webPeer(destination, {
    what: 'destination',
    auth: exporterAuth(exporter),
    allowAnyHostname: exporter.allowAnyHostname,
    disableTrustManager: exporter.disableTrustManager,
  });
  const accepted = exporter.transferSyntaxes ?? [];

  async function post(parts: Part[], signal: AbortSignal): Promise<InstanceOutcome[]> {
    const boundary = `tributary-${randomBytes(12).toString('hex')}`;
    const tail = Buffer.from(`--${boundary}--\r\n`, 'latin1');
    for (const p of parts) {
      p.hash = createHash('sha256');
      p.head = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\nContent-Length: ${p.prepared.size}\r\n\r\n`, 'latin1');
    }
    const contentLength = parts.reduce((n, p) => n + p.head.length + p.prepared.size + 2, tail.length);
    const crlf = Buffer.from('\r\n', 'latin1');
    async function* body(): AsyncGenerator<Uint8Array> {
      for (const p of parts) {
        p.hash = createHash('sha256');
        yield p.head;
        if (p.prepared.kind === 'converted') {
          p.hash.update(p.prepared.bytes);
          yield p.prepared.bytes;
        } else {
          let n = 0;
          for await (const c of createReadStream(p.prepared.file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
            n += c.length;
            if (n > p.prepared.size) throw new HttpError('protocol', 'a stored file grew while being sent', false);
            p.hash.update(c);
            yield c;
          }
          if (n !== p.prepared.size) throw new HttpError('protocol', 'a stored file changed while being sent', false);
        }
        yield crlf;
      }
      yield tail;
    }
    const failAll = (reason: string, retryable = false): InstanceOutcome[] => parts.map((p) => ({ id: p.inst.id, state: 'FAILED', reason, retryable }));
    let res;
    try {
      res = await httpRequest(url, peer, {
        method: 'POST',
        headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' },
        body,
        contentLength: exporter.chunked ? undefined : contentLength,
        signal,
        accept: (s) => s === 400 || s === 409 || s === 413 || s === 415,
      });
    } catch (e) {
      if (signal.aborted) throw e;
      if (e instanceof HttpError) {
        // A certificate, credentials, a wrong URL, a server that is down or failing: the whole
        // destination is unusable just now; the job retries, then fails them with this reason.
        if (e.kind === 'protocol') return failAll(e.message);
        return failAll(e.message, true);
      }
      throw e;
    }
    if (res.status === 413) {
      res.discard();
      if (parts.length === 1) return failAll(`too large for the destination: ${host} refused a ${parts[0].prepared.size}-byte instance (HTTP 413)`);
      const half = Math.ceil(parts.length / 2);
      return [...(await post(parts.slice(0, half), signal)), ...(await post(parts.slice(half), signal))];
    }
    if (res.status === 415) {
      res.discard();
      const syntaxes = [...new Set(parts.map((p) => p.prepared.transferSyntaxUid))].join(', ');
      return failAll(`${host} refused the media type or transfer syntax ${syntaxes} (HTTP 415); list what it accepts in the exporter's transfer syntaxes`);
    }
    const html = isHtml(res.headers);
    let raw: Buffer;
    try {
      raw = await readBody(res, 16 * 1024 * 1024);
    } catch (e) {
      if (signal.aborted) throw e;
      return failAll(e instanceof HttpError ? e.message : `${host} broke off its answer`, e instanceof HttpError && e.transient);
    }
    const answer = html ? null : parseStowAnswer(raw);
    if (!answer) {
      if (res.status === 400) return failAll(`${host} refused the request as malformed (HTTP 400)`);
      return failAll(`${host} answered HTTP ${res.status} ${html ? 'with an HTML page' : 'without a valid DICOM JSON body'}: the instance may or may not be stored`);
    }
    return parts.map((p): InstanceOutcome => {
      const sop = p.inst.sopInstanceUid;
      const base = { id: p.inst.id, transferSyntaxSent: p.prepared.transferSyntaxUid, sha256: p.hash.digest('hex') };
      if (answer.failed.has(sop)) return { id: p.inst.id, state: 'FAILED', reason: `${host} refused it: ${failureText(answer.failed.get(sop))} (HTTP ${res.status})` };
      if (answer.referenced.has(sop)) {
        const w = answer.referenced.get(sop);
        return w === undefined ? { ...base, state: 'SENT' } : { ...base, state: 'WARNING', reason: `${host} stored it with a warning: ${warningText(w)}` };
      }
      // Not named in the answer: not acknowledged, so not sent (a server that could not read a
      // part answers 200 with both sequences empty — Orthanc does).
      return { id: p.inst.id, state: 'FAILED', reason: `${host} did not acknowledge this instance (HTTP ${res.status})` };
    });
  }

  return {
    async send(batch, signal) {
      const out: InstanceOutcome[] = [];
      const parts: Part[] = [];
      for (const inst of batch) {
        let prepared: Prepared;
        try {
          prepared = await prepareForDestination(inst.file, inst.transferSyntaxUid, accepted);
        } catch (e) {
          prepared = { kind: 'refused', reason: (e as { code?: string }).code === 'ENOENT' ? 'the stored file is missing' : 'the stored file could not be read' };
        }
        if (prepared.kind === 'refused') out.push({ id: inst.id, state: 'FAILED', reason: prepared.reason });
        else parts.push({ inst, prepared, head: Buffer.alloc(0), hash: createHash('sha256') });
      }
      if (parts.length) out.push(...(await post(parts, signal)));
      return out;
    },
    async close() {
      /* connections are kept by lib/http's agent per peer */
    },
  };
}
