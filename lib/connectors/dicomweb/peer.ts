/**
 * A DICOMweb connector's row turned into what lib/http needs: the resolved QIDO-RS / WADO-RS
 * roots, the authentication with its secret decrypted (in memory, for this request only) and
 * the TLS options.
 */
import type { Connector } from '../../generated/prisma/client';
import { AppError } from '../../errors';
import type { HttpAuth, HttpPeer } from '../../http/client';
import { decryptSecret } from '../../secrets';

export type WebConnector = Pick<
  Connector,
  | 'id'
  | 'maxAssociations'
  | 'webBaseUrl'
  | 'webQidoRoot'
  | 'webWadoRoot'
  | 'webWadoUriRoot'
  | 'webIncludeField'
  | 'webFuzzyMatching'
  | 'webTransferSyntax'
  | 'webHeaders'
  | 'webConnectTimeoutMs'
  | 'webReadTimeoutMs'
  | 'webTlsCa'
  | 'webTlsAllowAnyHost'
  | 'webTlsTrustAll'
  | 'webAuthType'
  | 'webUsername'
  | 'webSecret'
  | 'webTokenUrl'
  | 'webScope'
>;

export interface DicomwebSource {
  http: HttpPeer;
  /** Ends with "/": append "studies?...". */
  qidoRoot: string;
  wadoRoot: string;
  wadoUriRoot: string;
  includeField: boolean;
  fuzzyMatching: boolean;
  transferSyntax: string;
}

function withSlash(u: string) {
  return u.endsWith('/') ? u : `${u}/`;
}

export function resolveRoot(base: string, root: string): string {
  const b = withSlash(base);
  if (!root) return b;
  return withSlash(new URL(root.replace(/^\/+/, ''), b).toString()).replace(/^(https?:\/\/[^/]+)\/+/, '$1/');
}

function auth(c: WebConnector): HttpAuth {
  const secret = () => {
    if (!c.webSecret) throw new AppError('VALIDATION', 'The connector\'s credentials are not set');
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

export function dicomwebSource(c: WebConnector): DicomwebSource {
  if (!c.webBaseUrl) throw new AppError('VALIDATION', 'This DICOMweb connector has no base URL');
  const headers = (c.webHeaders ?? {}) as Record<string, string>;
  return {
    http: {
      auth: auth(c),
      headers,
      tls: { caPem: c.webTlsCa, allowAnyHostname: c.webTlsAllowAnyHost, disableTrustManager: c.webTlsTrustAll },
      connectTimeoutMs: c.webConnectTimeoutMs,
      readTimeoutMs: c.webReadTimeoutMs,
      maxSockets: c.maxAssociations,
    },
    qidoRoot: resolveRoot(c.webBaseUrl, c.webQidoRoot),
    wadoRoot: resolveRoot(c.webBaseUrl, c.webWadoRoot),
    wadoUriRoot: resolveRoot(c.webBaseUrl, c.webWadoUriRoot),
    includeField: c.webIncludeField,
    fuzzyMatching: c.webFuzzyMatching,
    transferSyntax: c.webTransferSyntax || '*',
  };
}
