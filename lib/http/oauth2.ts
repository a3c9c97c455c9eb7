/**
 * OAuth2 client credentials (RFC 6749 4.4) for DICOMweb peers behind an authorization server
 * (Keycloak, Azure AD, Google, a hospital gateway). The client authenticates with HTTP Basic
 * (client_secret_basic, what every server accepts); the access token is cached in this process
 * only (never in Redis, job data or the database) and renewed a minute before it expires, or
 * at once when the resource server answers 401 (lib/http/client.ts retries that request once).
 */
import { createHash } from 'node:crypto';
import type { HttpResponse, RequestOptions } from './client';
import { HttpError, hostOf, isHtml, readBody } from './client';

export interface OAuth2Client {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string | null;
  /** Sent as the `audience`/`resource` parameter some servers want (Auth0, Azure). */
  audience?: string | null;
}

interface Cached {
  token: string;
  renewAt: number;
}

const cache = new Map<string, Cached>();
const inflight = new Map<string, Promise<string>>();

function cacheKey(c: OAuth2Client): string {
  return createHash('sha256').update(JSON.stringify([c.tokenUrl, c.clientId, c.clientSecret, c.scope ?? '', c.audience ?? ''])).digest('hex');
}

export function forgetToken(c: OAuth2Client) {
  cache.delete(cacheKey(c));
}

type Send = (url: URL, opts: RequestOptions) => Promise<HttpResponse>;

/** A valid access token for this client: the cached one, or a new one from the token endpoint. */
export async function bearerFor(c: OAuth2Client, send: Send, now = Date.now): Promise<string> {
  const k = cacheKey(c);
  const hit = cache.get(k);
  if (hit && hit.renewAt > now()) return hit.token;
  const pending = inflight.get(k);
  if (pending) return pending;
  const p = fetchToken(c, send, now)
    .then((t) => {
      cache.set(k, t);
      return t.token;
    })
    .finally(() => inflight.delete(k));
  inflight.set(k, p);
  return p;
}

async function fetchToken(c: OAuth2Client, send: Send, now: () => number): Promise<Cached> {
  const url = new URL(c.tokenUrl);
  const host = hostOf(url);
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (c.scope) form.set('scope', c.scope);
  if (c.audience) {
    form.set('audience', c.audience);
    form.set('resource', c.audience);
  }
  // RFC 6749 2.3.1: client id and secret are form-urlencoded before the Basic encoding.
  const basic = Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64');
  const started = now();
  const res = await send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
    body: form.toString(),
  });
  const body = await readBody(res, 1024 * 1024);
  let json: { access_token?: unknown; expires_in?: unknown; token_type?: unknown; error?: unknown } = {};
  try {
    json = JSON.parse(body.toString('utf8')) as typeof json;
  } catch {
    /* handled below */
  }
  if (res.status === 400 || res.status === 401) {
    const err = typeof json.error === 'string' ? json.error.replace(/[^a-z_]/gi, '').slice(0, 40) : '';
    throw new HttpError(
      'auth',
      err === 'invalid_scope'
        ? `The token endpoint at ${host} refused the scope (invalid_scope)`
        : `The token endpoint at ${host} refused the client id or secret (HTTP ${res.status}${err ? ` ${err}` : ''})`,
      false,
      res.status,
    );
  }
  if (res.status < 200 || res.status >= 300)
    throw new HttpError('status', `The token endpoint at ${host} answered HTTP ${res.status}${isHtml(res.headers) ? ' with an HTML page' : ''}`, res.status === 429 || res.status >= 500, res.status);
  if (typeof json.access_token !== 'string' || !json.access_token)
    throw new HttpError('protocol', `The token endpoint at ${host} answered without an access_token${isHtml(res.headers) ? ' (an HTML page: check the token URL)' : ''}`, false);
  if (typeof json.token_type === 'string' && json.token_type.toLowerCase() !== 'bearer')
    throw new HttpError('protocol', `The token endpoint at ${host} issued a ${json.token_type.slice(0, 20)} token; only Bearer tokens are supported`, false);
  const lifetime = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in * 1000 : 300_000;
  // Renew a minute early (or at 90% of a short lifetime) so no request leaves with a dying token.
  const margin = Math.min(60_000, lifetime / 10);
  return { token: json.access_token, renewAt: started + lifetime - margin };
}
