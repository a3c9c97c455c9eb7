/**
 * A real OAuth2 authorization server for tests (npm `oidc-provider`, a certified OpenID Provider)
 * issuing JWT access tokens with the client credentials grant, and a verifying gate for a
 * resource server: the checks an API gateway in front of a hospital's DICOMweb makes (signature
 * with the server's key, issuer, audience, expiry, scope). Keys are made per run.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import { freePort } from './orthanc';

export interface AuthServer {
  issuer: string;
  tokenUrl: string;
  /** Token requests answered so far (any outcome). */
  tokenRequests: number;
  /** Checks a request's bearer token: null when valid, else why not. */
  verify(req: http.IncomingMessage): string | null;
  close(): Promise<void>;
}

export const AUDIENCE = 'urn:tributary-test:dicomweb';

export async function startAuthServer(opts: { clientId: string; clientSecret: string; scope?: string; ttlSeconds?: number }): Promise<AuthServer> {
  const { default: Provider } = await import('oidc-provider');
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(privateKey.export({ format: 'jwk' }) as Record<string, string>), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const scope = opts.scope ?? 'dicomweb.read';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope,
      },
    ],
    jwks: { keys: [jwk] },
    scopes: [scope],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope, audience: AUDIENCE, accessTokenTTL: opts.ttlSeconds ?? 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
  });
  const state = { tokenRequests: 0 };
  const callback = provider.callback();
  const { createServer } = await import('node:http');
  const srv = createServer((req, res) => {
    if (req.url?.startsWith('/token')) state.tokenRequests++;
    void callback(req, res);
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));

  const b64 = (s: string) => Buffer.from(s, 'base64url');
  function verify(req: http.IncomingMessage): string | null {
    const m = /^Bearer\s+([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(String(req.headers.authorization ?? ''));
    if (!m) return 'no bearer token';
    const ok = crypto.verify('RSA-SHA256', Buffer.from(`${m[1]}.${m[2]}`), publicKey, b64(m[3]));
    if (!ok) return 'bad signature';
    const claims = JSON.parse(b64(m[2]).toString('utf8')) as { iss?: string; aud?: string | string[]; exp?: number; scope?: string; iat?: number };
    if (claims.iss !== issuer) return 'wrong issuer';
    if (![claims.aud].flat().includes(AUDIENCE)) return 'wrong audience';
    if (!claims.exp || claims.exp * 1000 <= Date.now()) return 'expired';
    if (!String(claims.scope ?? '').split(' ').includes(scope)) return 'missing scope';
    return null;
  }

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    get tokenRequests() {
      return state.tokenRequests;
    },
    verify,
    close: () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** The `iat` (seconds) of a request's bearer token, or null. */
export function tokenIssuedAt(req: http.IncomingMessage): number | null {
  const m = /^Bearer\s+[\w-]+\.([\w-]+)\.[\w-]+$/.exec(String(req.headers.authorization ?? ''));
  if (!m) return null;
  return (JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as { iat?: number }).iat ?? null;
}
