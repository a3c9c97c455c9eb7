/**
 * The `web*` fields a DICOMweb connector (source) and a DICOMweb destination (STOW-RS export)
 * share, turned into what lib/http needs: the authentication with its secret decrypted (in
 * memory, for this use only), the extra headers, TLS options, timeouts and socket cap.
 */
import type { HttpAuthType } from '../generated/prisma/client';
import { AppError } from '../errors';
import { decryptSecret } from '../secrets';
import type { HttpAuth, HttpPeer } from './client';

export interface WebPeerFields {
  maxAssociations: number;
  webHeaders: unknown;
  webConnectTimeoutMs: number;
  webReadTimeoutMs: number;
  webTlsCa: string | null;
  webTlsAllowAnyHost: boolean;
  webTlsTrustAll: boolean;
  webAuthType: HttpAuthType;
  webUsername: string | null;
  webSecret: string | null;
  webTokenUrl: string | null;
  webScope: string | null;
}

/** `what`: "connector" or "destination", for the message when the credentials are missing. */
export function webAuth(c: WebPeerFields, what = 'connector'): HttpAuth {
  const secret = () => {
    if (!c.webSecret) throw new AppError('VALIDATION', `The ${what}'s credentials are not set`);
    return decryptSecret(c.webSecret);
  };
  switch (c.webAuthType) {
    case 'NONE':
      return { kind: 'none' };
    case 'BASIC':
      return { kind: 'basic', username: c.webUsername ?? '', password: secret() };
    case 'BEARER':
      return { kind: 'bearer', token: secret() };
    case 'OAUTH2':
      return { kind: 'oauth2', tokenUrl: c.webTokenUrl ?? '', clientId: c.webUsername ?? '', clientSecret: secret(), scope: c.webScope };
  }
}

export interface WebPeerOverrides {
  /** Replaces the authentication (an exporter's bearer-token / basic-auth). */
  auth?: HttpAuth;
  allowAnyHostname?: boolean;
  disableTrustManager?: boolean;
}

export function webPeer(c: WebPeerFields, opts: WebPeerOverrides & { what?: string } = {}): HttpPeer {
  return {
    auth: opts.auth ?? webAuth(c, opts.what),
    headers: (c.webHeaders ?? {}) as Record<string, string>,
    tls: {
      caPem: c.webTlsCa,
      allowAnyHostname: c.webTlsAllowAnyHost || !!opts.allowAnyHostname,
      disableTrustManager: c.webTlsTrustAll || !!opts.disableTrustManager,
    },
    connectTimeoutMs: c.webConnectTimeoutMs,
    readTimeoutMs: c.webReadTimeoutMs,
    maxSockets: c.maxAssociations,
  };
}
