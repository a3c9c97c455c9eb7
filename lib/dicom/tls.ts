/**
 * DICOM TLS (PS3.15 B.9 "BCP 195 TLS Secure Transport Connection Profile") for our SCU and SCP:
 * the options handed to dcmjs-dimse's `securityOptions`, certificate checks, and the plain
 * words for a failed handshake. TLS 1.2 is the floor; hostnames are verified by Node (the
 * certificate's subjectAltName must name the host we dial).
 *
 * Nothing here logs or throws key material or certificate contents: only hosts, ports and
 * OpenSSL error codes.
 */
import crypto from 'node:crypto';
import tls from 'node:tls';

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/** What one side of a DICOM TLS connection uses (PEM strings; the key already decrypted). */
export interface PeerTls {
  /** CA certificates the other side's certificate must chain to; unset = the system's CAs. */
  ca?: string;
  /** Our certificate and key, presented to the other side. */
  cert?: string;
  key?: string;
  minVersion?: TlsMinVersion;
  /** OpenSSL cipher list; unset = Node's default. */
  ciphers?: string;
}

/** dcmjs-dimse `securityOptions` for the SCU side: always verify the server's chain and name. */
export function clientSecurityOptions(t: PeerTls) {
  return {
    ...(t.ca ? { ca: t.ca } : {}),
    ...(t.cert && t.key ? { cert: t.cert, key: t.key } : {}),
    ...(t.ciphers ? { ciphers: t.ciphers } : {}),
    minVersion: t.minVersion ?? 'TLSv1.2',
    rejectUnauthorized: true,
  };
}

/** Splits a PEM bundle into its certificates. */
export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Parses every certificate of a PEM bundle; throws a plain message naming the bad one. */
export function parseCertificates(pem: string, what: string): crypto.X509Certificate[] {
  const blocks = pemBlocks(pem);
  if (blocks.length === 0) throw new Error(`${what}: no PEM certificate found`);
  return blocks.map((b, i) => {
    try {
      return new crypto.X509Certificate(b);
    } catch {
      throw new Error(`${what}: certificate ${i + 1} of ${blocks.length} cannot be read`);
    }
  });
}

/** Checks that a certificate and a private key belong together. Throws a plain message naming `certName`. */
export function checkKeyPair(certPem: string, keyPem: string, certName: string): void {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch {
    throw new Error('The private key cannot be read (an unencrypted PEM key is expected)');
  }
  const [cert] = parseCertificates(certPem, certName);
  if (!cert.checkPrivateKey(key)) throw new Error(`The private key does not match ${certName}`);
}

/** Checks an OpenSSL cipher list against this Node's OpenSSL. Throws a plain message. */
export function checkCiphers(ciphers: string): void {
  if (!ciphers) return;
  try {
    tls.createSecureContext({ ciphers });
  } catch {
    throw new Error('none of these cipher suites is known to OpenSSL (use names like ECDHE-RSA-AES256-GCM-SHA384 or TLS_AES_256_GCM_SHA384)');
  }
}

/**
 * Was `leaf` issued by one of `cas` (signature verified), and is it valid now? Used by the SCP to
 * hold a device's client certificate to the CA configured on that device (certificate pinning by
 * CA), on top of Node's own verification against DICOM_TLS_CA.
 */
export function issuedByOneOf(leaf: crypto.X509Certificate, cas: crypto.X509Certificate[], now = new Date()): boolean {
  if (new Date(leaf.validFrom) > now || new Date(leaf.validTo) < now) return false;
  return cas.some((ca) => {
    try {
      return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
}

/** OpenSSL / Node error codes of a failed handshake, in the coordinator's words. */
const TLS_REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not among the CA certificates configured for it',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate is signed by a CA that is not among the CA certificates configured for it (unknown CA)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is signed by a CA that is not among the CA certificates configured for it (unknown CA)',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate is signed by a CA that is not among the CA certificates configured for it (unknown CA)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is signed by a CA that is not among the CA certificates configured for it (unknown CA)',
  CERT_SIGNATURE_FAILURE: 'its certificate signature does not verify',
  CERT_REVOKED: 'its certificate is revoked',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name this host (hostname mismatch: the certificate\'s subjectAltName must contain the host configured on the device)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'it did not answer with TLS (is this a plain DICOM port? TLS to a plain port)',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'it does not support the minimum TLS version configured',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'no TLS version is allowed by both sides',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'it refused the TLS version (minimum TLS version too high for it?)',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'no cipher suite or certificate acceptable to both sides (handshake failure)',
  ERR_SSL_NO_SHARED_CIPHER: 'no cipher suite is allowed by both sides',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'it does not trust our client certificate (unknown CA on its side)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'it refused our client certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'it refused our client certificate as expired',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'it requires a client certificate and none is configured',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'it denied access to our client certificate',
  ECONNRESET: 'it closed the connection during the TLS handshake (a plain DICOM port, or it refused our certificate)',
};

/** The reason of a failed TLS handshake, from the error's code (never its message alone). */
export function describeTlsFailure(code: string | undefined): string | undefined {
  return code ? TLS_REASONS[code] : undefined;
}
