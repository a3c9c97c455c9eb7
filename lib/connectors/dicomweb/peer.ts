/**
 * A DICOMweb connector's row turned into what lib/http needs: the resolved QIDO-RS / WADO-RS
 * roots, and the peer (authentication, TLS, timeouts) from the `web*` fields it shares with
 * DICOMweb destinations (lib/http/peer.ts).
 */
import type { Connector } from '../../generated/prisma/client';
import { AppError } from '../../errors';
import type { HttpPeer } from '../../http/client';
import { webPeer } from '../../http/peer';

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

export function dicomwebSource(c: WebConnector): DicomwebSource {
  if (!c.webBaseUrl) throw new AppError('VALIDATION', 'This DICOMweb connector has no base URL');
  return {
    http: webPeer(c),
    qidoRoot: resolveRoot(c.webBaseUrl, c.webQidoRoot),
    wadoRoot: resolveRoot(c.webBaseUrl, c.webWadoRoot),
    wadoUriRoot: resolveRoot(c.webBaseUrl, c.webWadoUriRoot),
    includeField: c.webIncludeField,
    fuzzyMatching: c.webFuzzyMatching,
    transferSyntax: c.webTransferSyntax || '*',
  };
}
