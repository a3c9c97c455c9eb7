/**
 * The HTTP client for DICOMweb peers: a source's QIDO-RS/WADO-RS roots today, STOW-RS
 * destinations tomorrow. It knows nothing of DICOM: it sends a request with the peer's
 * authentication, TLS settings, extra headers and timeouts, and hands back the response as a
 * stream (a WADO-RS study is read part by part, never held in memory).
 *
 * Node's own http/https (no dependency): an https.Agent carries the CA bundle and the hostname /
 * trust switches per peer, which fetch() cannot take without undici's Agent.
 *
 * Failures become one HttpError with a `kind` and a `transient` flag: the job decides to retry a
 * transient one (connection refused, reset, timeout, 429, 5xx) and reports the others at once
 * (wrong credentials, a certificate we do not trust, an HTML page where DICOM was expected).
 * Messages name the peer's host and the HTTP status, never a URL's query (it may carry a
 * PatientID) and never a credential.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { logger } from '../logger';
import { bearerFor, forgetToken, type OAuth2Client } from './oauth2';

const log = logger('http');

export type HttpAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: string }
  | ({ kind: 'oauth2' } & OAuth2Client);

export interface HttpTls {
  /** PEM bundle of the hospital's CA(s), trusted besides the public roots. */
  caPem?: string | null;
  /** Accept a certificate issued for another host name (still signed by a trusted CA). */
  allowAnyHostname?: boolean;
  /** Accept any certificate at all: encrypted but not authenticated. Logged as a warning on every client. */
  disableTrustManager?: boolean;
}

export interface HttpPeer {
  auth: HttpAuth;
  tls?: HttpTls;
  /** Sent on every request (e.g. an API gateway's key). Never logged. */
  headers?: Record<string, string>;
  /** Time to get a TCP (and TLS) connection. */
  connectTimeoutMs?: number;
  /** Longest silence from the peer once connected, while waiting for or reading the answer. */
  readTimeoutMs?: number;
  /** Sockets kept per peer: the connector's concurrency cap (its leases decide who may ask). */
  maxSockets?: number;
}

export type HttpErrorKind = 'network' | 'timeout' | 'tls' | 'auth' | 'forbidden' | 'not-found' | 'status' | 'html' | 'protocol';

export class HttpError extends AppError {
  constructor(
    public readonly kind: HttpErrorKind,
    message: string,
    public readonly transient: boolean,
    public readonly httpStatus?: number,
  ) {
    super(kind === 'not-found' ? 'NOT_FOUND' : 'DICOM_NETWORK', message);
    this.name = 'HttpError';
  }
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as a stream; read it or call `discard()`. */
  body: http.IncomingMessage;
  discard(): void;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  /**
   * A small body, or a streamed one: a function that yields the body's chunks (called again when
   * the request is repeated, e.g. after an OAuth2 token renewal). A streamed body is sent with
   * `contentLength` when given, else with Transfer-Encoding: chunked.
   */
  body?: Buffer | string | (() => AsyncIterable<Uint8Array>);
  contentLength?: number;
  signal?: AbortSignal;
  /** Statuses handed back to the caller instead of thrown (e.g. 204 for an empty QIDO answer). */
  accept?: (status: number) => boolean;
}

const TLS_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is not signed by a trusted CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'chains to a CA we do not trust (self-signed)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed and not in the CA bundle',
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'was issued for another host name',
  CERT_SIGNATURE_FAILURE: 'has an invalid signature',
};

const NETWORK_TEXT: Record<string, string> = {
  ECONNREFUSED: 'refused the connection',
  ECONNRESET: 'reset the connection',
  ENOTFOUND: 'has a host name that does not resolve',
  EAI_AGAIN: 'has a host name that does not resolve (DNS unavailable)',
  EHOSTUNREACH: 'is unreachable',
  ENETUNREACH: 'is unreachable',
  EPIPE: 'closed the connection',
};

/** Host and port of a URL, the only part of it our messages quote. */
export function hostOf(url: string | URL): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the server';
  }
}

/** Maps a socket-level error to an HttpError. */
export function networkError(e: unknown, host: string): HttpError {
  if (e instanceof HttpError) return e;
  const code = (e as { code?: string }).code ?? '';
  if (TLS_CODES[code]) return new HttpError('tls', `The TLS certificate of ${host} ${TLS_CODES[code]} (${code}); set the connector's CA bundle or fix the server's certificate`, false);
  if (/^ERR_SSL|^ERR_TLS|EPROTO/.test(code)) return new HttpError('tls', `The TLS handshake with ${host} failed (${code}): is it an https server, and does it speak TLS 1.2 or later?`, false);
  if (code === 'ABORT_ERR') return new HttpError('network', `The request to ${host} was cancelled`, false);
  if (NETWORK_TEXT[code]) return new HttpError('network', `${host} ${NETWORK_TEXT[code]} (${code})`, true);
  return new HttpError('network', `The connection to ${host} failed${code ? ` (${code})` : ''}`, true);
}

// One agent per distinct TLS/socket setting: connections are reused across the requests of a peer.
const agents = new Map<string, http.Agent>();
const warned = new Set<string>();

function agentFor(url: URL, peer: HttpPeer): http.Agent {
  const tls = peer.tls ?? {};
  const isHttps = url.protocol === 'https:';
  const id = createHash('sha256')
    .update(JSON.stringify([isHttps, tls.caPem ?? '', !!tls.allowAnyHostname, !!tls.disableTrustManager, peer.maxSockets ?? 0]))
    .digest('hex');
  let a = agents.get(id);
  if (a) return a;
  const common = { keepAlive: true, maxSockets: Math.max(1, peer.maxSockets ?? 4), keepAliveMsecs: 1000 };
  if (isHttps) {
    if (tls.disableTrustManager && !warned.has(url.host)) {
      warned.add(url.host);
      log.warn('TLS certificate checks are disabled for a DICOMweb peer: the connection is encrypted but the server is not authenticated', { host: url.host });
    }
    a = new https.Agent({
      ...common,
      minVersion: 'TLSv1.2',
      // The bundle adds to the public roots, as a CA added to the system store would.
      ...(tls.caPem ? { ca: [...rootCertificates, tls.caPem] } : {}),
      rejectUnauthorized: !tls.disableTrustManager,
      // Only when asked: an explicit `checkServerIdentity: undefined` breaks Node's own check.
      ...(tls.allowAnyHostname || tls.disableTrustManager ? { checkServerIdentity: () => undefined } : {}),
    });
  } else {
    a = new http.Agent(common);
  }
  agents.set(id, a);
  return a;
}

async function authHeader(peer: HttpPeer, refresh: boolean): Promise<string | null> {
  const a = peer.auth;
  switch (a.kind) {
    case 'none':
      return null;
    case 'basic':
      return `Basic ${Buffer.from(`${a.username}:${a.password}`, 'utf8').toString('base64')}`;
    case 'bearer':
      return `Bearer ${a.token}`;
    case 'oauth2':
      if (refresh) forgetToken(a);
      return `Bearer ${await bearerFor(a, (url, opts) => send(url, { auth: { kind: 'none' }, tls: peer.tls, connectTimeoutMs: peer.connectTimeoutMs, readTimeoutMs: peer.readTimeoutMs }, opts, null))}`;
  }
}

function send(url: URL, peer: HttpPeer, opts: RequestOptions, authorization: string | null): Promise<HttpResponse> {
  const host = url.host;
  const connectTimeout = peer.connectTimeoutMs ?? 10_000;
  const readTimeout = peer.readTimeoutMs ?? 60_000;
  const headers: Record<string, string> = { ...(peer.headers ?? {}), ...(opts.headers ?? {}) };
  if (authorization) headers.authorization = authorization;
  const streamed = typeof opts.body === 'function' ? opts.body : null;
  if (streamed) {
    if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
    else headers['transfer-encoding'] = 'chunked';
  } else if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body as Buffer | string));
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    let bodyDone = !streamed;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      reject(networkError(e, host));
    };
    const req = lib.request(url, { method: opts.method ?? 'GET', headers, agent: agentFor(url, peer), signal: opts.signal }, (res) => {
      clearTimeout(connectTimer);
      settled = true;
      // The read timeout goes on covering the body as the caller reads it.
      res.socket?.setTimeout(readTimeout, () => res.destroy(new HttpError('timeout', `${host} stopped sending for ${Math.round(readTimeout / 1000)} s`, true)));
      res.once('end', () => {
        res.socket?.setTimeout(0);
        // A streamed body the peer answered before reading to the end: this socket is not reusable.
        if (streamed && !bodyDone) req.destroy();
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, discard: () => res.resume() });
    });
    const connectTimer = setTimeout(() => {
      req.destroy(new HttpError('timeout', `${host} did not answer the connection within ${Math.round(connectTimeout / 1000)} s`, true));
    }, connectTimeout);
    req.on('socket', (s) => {
      const connected = () => {
        // Connected (or a kept-alive socket reused): now the read timeout covers the wait for the answer.
        clearTimeout(connectTimer);
        req.setTimeout(readTimeout, () => req.destroy(new HttpError('timeout', `${host} did not answer within ${Math.round(readTimeout / 1000)} s`, true)));
      };
      if ((s as { connecting?: boolean }).connecting) s.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
      else connected();
    });
    req.on('error', (e) => {
      clearTimeout(connectTimer);
      fail(e);
    });
    if (!streamed) {
      req.end(opts.body as Buffer | string | undefined);
      return;
    }
    // Streamed: each chunk written as the socket takes it (backpressure), so a batch of files
    // is never held in memory. A peer that answers before reading everything (413) ends the pump.
    void (async () => {
      try {
        for await (const chunk of streamed()) {
          if (settled || req.destroyed) return;
          if (!req.write(chunk)) await new Promise<void>((ok) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              ok();
            };
            req.once('drain', done);
            req.once('close', done);
          });
        }
        bodyDone = true;
        if (!req.destroyed) req.end();
      } catch (e) {
        req.destroy(e as Error);
      }
    })();
  });
}

/** Reads a (small) body fully, e.g. an error page or a JSON answer. Capped. */
export async function readBody(res: HttpResponse, max = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.body.destroy();
      throw new HttpError('protocol', `An answer is larger than ${max} bytes`, false);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export function isHtml(headers: http.IncomingHttpHeaders): boolean {
  return /^\s*text\/html/i.test(String(headers['content-type'] ?? ''));
}

/**
 * One request to a peer. A 401 with OAuth2 gets one new token and one more try; a second 401
 * (or a 401 with a static credential) is an 'auth' error. Other statuses outside 2xx (and
 * `opts.accept`) throw: 403 forbidden, 404 not-found, 408/429/5xx transient.
 */
export async function httpRequest(target: string | URL, peer: HttpPeer, opts: RequestOptions = {}): Promise<HttpResponse> {
  const url = typeof target === 'string' ? new URL(target) : target;
  const host = url.host;
  let res = await send(url, peer, opts, await authHeader(peer, false));
  if (res.status === 401 && peer.auth.kind === 'oauth2') {
    res.discard();
    log.info('401 with a cached OAuth2 token: renewing once', { host });
    res = await send(url, peer, opts, await authHeader(peer, true));
  }
  if ((res.status >= 200 && res.status < 300) || opts.accept?.(res.status)) return res;
  res.discard();
  throw statusError(res.status, host, peer.auth.kind, isHtml(res.headers));
}

export function statusError(status: number, host: string, auth: HttpAuth['kind'], html: boolean): HttpError {
  if (status === 401) {
    const what =
      auth === 'none'
        ? 'asks for authentication: set the connector\'s credentials'
        : auth === 'oauth2'
          ? 'refused a freshly issued OAuth2 token: check the client\'s scope and the server\'s token audience'
          : auth === 'bearer'
            ? 'refused the bearer token (expired or wrong): enter a new token'
            : 'refused the user name or password';
    return new HttpError('auth', `${host} ${what} (HTTP 401)`, false, status);
  }
  if (status === 403) return new HttpError('forbidden', `${host} refused access to this resource (HTTP 403): the account lacks the permission`, false, status);
  if (status === 404) return new HttpError('not-found', `${host} has no such resource (HTTP 404): check the connector's roots`, false, status);
  const transient = status === 408 || status === 429 || status >= 500;
  return new HttpError('status', `${host} answered HTTP ${status}${html ? ' with an HTML page' : ''}`, transient, status);
}
