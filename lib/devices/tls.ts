/**
 * A device's DICOM TLS settings: checked when saved, turned into the SCU's peer when used, and
 * shown without the private key.
 *
 * Who learns what: only admins see or change devices; the client key is write-only (stored with
 * lib/secrets, answered as "set" / "not set"), decrypted only here at the moment an association
 * is opened, and never logged, put in job data or audited.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Device } from '../generated/prisma/client';
import type { DicomTransport } from '../dicom/scp';
import type { DicomPeer, PeerTls } from '../dicom/scu';
import { checkCiphers, checkKeyPair, issuedByOneOf, parseCertificates, pemBlocks, type TlsMinVersion } from '../dicom/tls';
import { env } from '../env';
import { AppError, type FieldErrors } from '../errors';
import { decryptSecret, secretState } from '../secrets';

/** The device fields TLS needs (a full row or a select of these). */
export type DeviceTlsFields = Pick<
  Device,
  'aeTitle' | 'host' | 'port' | 'tls' | 'tlsCaCertificates' | 'tlsClientCertificate' | 'tlsClientKey' | 'tlsMinVersion' | 'tlsCiphers'
>;

/** Select for queries that load a device to talk to it. */
export const DEVICE_PEER_SELECT = {
  aeTitle: true,
  host: true,
  port: true,
  tls: true,
  tlsCaCertificates: true,
  tlsClientCertificate: true,
  tlsClientKey: true,
  tlsMinVersion: true,
  tlsCiphers: true,
} as const;

/** A device row as the API and UI see it: the private key replaced by its state. */
export function publicDevice<T extends { tlsClientKey: string | null }>(d: T): Omit<T, 'tlsClientKey'> & { tlsClientKeyState: 'set' | 'not set' } {
  const { tlsClientKey, ...rest } = d;
  return { ...rest, tlsClientKeyState: secretState(tlsClientKey) };
}

/**
 * Checks what zod cannot (it runs in the browser too): the certificates parse, the key matches
 * the client certificate, the cipher list is known to OpenSSL. `key.present`: a key is (or stays)
 * stored; `key.plain`: the key to check against the certificate (when either is being changed).
 */
export function checkDeviceTls(
  v: { tlsCaCertificates: string; tlsClientCertificate: string; tlsCiphers: string },
  key: { present: boolean; plain?: string },
): void {
  const fields: FieldErrors = {};
  const attempt = (field: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      fields[field] = [(e as Error).message];
    }
  };
  if (v.tlsCaCertificates) attempt('tlsCaCertificates', () => void parseCertificates(v.tlsCaCertificates, 'CA certificates'));
  if (v.tlsClientCertificate) attempt('tlsClientCertificate', () => void parseCertificates(v.tlsClientCertificate, 'Client certificate'));
  if (v.tlsClientCertificate && !key.present) fields.tlsClientKey = ['A client certificate needs its private key'];
  if (key.present && !v.tlsClientCertificate) fields.tlsClientCertificate = ['A private key needs its client certificate'];
  const plain = key.plain;
  if (plain && v.tlsClientCertificate && !fields.tlsClientCertificate) attempt('tlsClientKey', () => checkKeyPair(v.tlsClientCertificate, plain, 'the client certificate'));
  attempt('tlsCiphers', () => checkCiphers(v.tlsCiphers));
  if (Object.keys(fields).length) throw new AppError('VALIDATION', 'The TLS settings are not valid', fields);
}

let scpIdentity: { cert: string; key: string } | null | undefined;

/** Our SCP's certificate and key (DICOM_TLS_CERT / DICOM_TLS_KEY), read once; null when unset. */
function ourCertificate(): { cert: string; key: string } | null {
  if (scpIdentity === undefined) {
    const e = env();
    scpIdentity = e.DICOM_TLS_CERT && e.DICOM_TLS_KEY ? { cert: fs.readFileSync(e.DICOM_TLS_CERT, 'utf8'), key: fs.readFileSync(e.DICOM_TLS_KEY, 'utf8') } : null;
  }
  return scpIdentity;
}

/**
 * The TLS side of talking to a device: its CAs, our client certificate (the device's own, else the
 * SCP's certificate from configuration, as a PACS usually knows Tributary by one certificate),
 * its protocol floor and ciphers. Undefined when the device does not use TLS.
 */
export function deviceTls(d: DeviceTlsFields): PeerTls | undefined {
  if (!d.tls) return undefined;
  let identity: { cert: string; key: string } | null = null;
  if (d.tlsClientCertificate && d.tlsClientKey) identity = { cert: d.tlsClientCertificate, key: decryptSecret(d.tlsClientKey) };
  else identity = ourCertificate();
  return {
    ...(d.tlsCaCertificates ? { ca: d.tlsCaCertificates } : {}),
    ...(identity ?? {}),
    minVersion: (d.tlsMinVersion === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2') satisfies TlsMinVersion,
    ...(d.tlsCiphers ? { ciphers: d.tlsCiphers } : {}),
  };
}

/** The SCU's view of a device: address, AE title and (when set) its TLS settings. */
export function devicePeer(d: DeviceTlsFields): DicomPeer {
  return { aeTitle: d.aeTitle, host: d.host, port: d.port, tls: deviceTls(d) };
}

/** Why a device set to TLS was not recognised on an incoming association (logged, no PHI). */
export type TlsRefusal = 'tls-required' | 'client-certificate-missing' | 'client-certificate-untrusted';

const caCache = new Map<string, crypto.X509Certificate[]>();

function deviceCas(pem: string): crypto.X509Certificate[] {
  let cas = caCache.get(pem);
  if (!cas) {
    cas = pemBlocks(pem).flatMap((b) => {
      try {
        return [new crypto.X509Certificate(b)];
      } catch {
        return [];
      }
    });
    if (caCache.size > 256) caCache.clear();
    caCache.set(pem, cas);
  }
  return cas;
}

/**
 * May this device be recognised on this incoming association? A device not set to TLS: yes, on
 * either port. Set to TLS: only over TLS; when it must present a client certificate, that
 * certificate must be issued by one of the device's CA certificates (pinned: DICOM_TLS_CA is not
 * enough then) or, when the device has none, verify against DICOM_TLS_CA.
 */
export function tlsSenderVerdict(
  d: { tls: boolean; tlsCaCertificates: string; tlsRequireClientCertificate: boolean },
  transport: DicomTransport,
): 'ok' | TlsRefusal {
  if (!d.tls) return 'ok';
  if (!transport.tls) return 'tls-required';
  if (!d.tlsRequireClientCertificate) return 'ok';
  if (!transport.peerCertificate) return 'client-certificate-missing';
  const cas = d.tlsCaCertificates ? deviceCas(d.tlsCaCertificates) : [];
  if (cas.length) return issuedByOneOf(transport.peerCertificate, cas) ? 'ok' : 'client-certificate-untrusted';
  return transport.authorized ? 'ok' : 'client-certificate-untrusted';
}
