/**
 * The device TLS fields as the form and the API validate them (the same zod schema), and the
 * SCP's verdict on a caller set to TLS (lib/devices/tls.ts tlsSenderVerdict) for each transport.
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deviceInputSchema, devicePatchSchema } from '@/lib/devices/schema';
import { tlsSenderVerdict } from '@/lib/devices/tls';
import { describeTlsFailure } from '@/lib/dicom/tls';

const base = { name: 'PACS', aeTitle: 'PACS', host: 'pacs.example.org', port: 2762, tls: true };
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  Object.fromEntries((r.error?.issues ?? []).map((i) => [i.path.join('.'), i.message]));

describe('device TLS schema', () => {
  it('defaults to TLS 1.2, OpenSSL ciphers and a required client certificate', () => {
    const v = deviceInputSchema.parse(base);
    expect(v).toMatchObject({ tlsMinVersion: 'TLSv1.2', tlsCiphers: '', tlsRequireClientCertificate: true, tlsCaCertificates: '', tlsClientCertificate: '' });
    expect(v.tlsClientKey).toBeUndefined();
  });

  it('refuses TLS 1.0/1.1, text that is not PEM, a passphrase-protected key and odd cipher text', () => {
    const r = deviceInputSchema.safeParse({
      ...base,
      tlsMinVersion: 'TLSv1.1',
      tlsCaCertificates: 'not a certificate',
      tlsClientKey: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAA\n-----END ENCRYPTED PRIVATE KEY-----',
      tlsCiphers: 'AES128;rm -rf',
    });
    expect(r.success).toBe(false);
    const e = issues(r);
    expect(e.tlsMinVersion).toMatch(/TLS 1\.2 or TLS 1\.3/);
    expect(e.tlsCaCertificates).toMatch(/PEM certificates/);
    expect(e.tlsClientKey).toMatch(/passphrase/);
    expect(e.tlsCiphers).toMatch(/OpenSSL cipher list/);
  });

  it('lets a PATCH leave the key out (kept), clear it with null, or set it', () => {
    expect(devicePatchSchema.parse({ tlsCaCertificates: CERT })).not.toHaveProperty('tlsClientKey');
    expect(devicePatchSchema.parse({ tlsClientKey: null }).tlsClientKey).toBeNull();
    expect(devicePatchSchema.parse({ tlsClientKey: '-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----' }).tlsClientKey).toContain('PRIVATE KEY');
  });
});

describe('tlsSenderVerdict', () => {
  const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // Only presence matters for these cases; chain checks are exercised against real certificates in
  // tests/integration/dicom/tls.test.ts.
  const someCert = { publicKey } as unknown as crypto.X509Certificate;
  const device = { tls: true, tlsCaCertificates: '', tlsRequireClientCertificate: true };

  it('lets a device not set to TLS use either port', () => {
    expect(tlsSenderVerdict({ ...device, tls: false }, { tls: false })).toBe('ok');
  });
  it('refuses a TLS device on the plain port', () => {
    expect(tlsSenderVerdict(device, { tls: false })).toBe('tls-required');
  });
  it('refuses a TLS device without a client certificate when one is required', () => {
    expect(tlsSenderVerdict(device, { tls: true, authorized: false })).toBe('client-certificate-missing');
    expect(tlsSenderVerdict({ ...device, tlsRequireClientCertificate: false }, { tls: true, authorized: false })).toBe('ok');
  });
  it('without CA certificates on the device, relies on DICOM_TLS_CA verification', () => {
    expect(tlsSenderVerdict(device, { tls: true, authorized: false, peerCertificate: someCert })).toBe('client-certificate-untrusted');
    expect(tlsSenderVerdict(device, { tls: true, authorized: true, peerCertificate: someCert })).toBe('ok');
  });
});

describe('describeTlsFailure', () => {
  it('names the failures the coordinator meets', () => {
    expect(describeTlsFailure('CERT_HAS_EXPIRED')).toMatch(/expired/);
    expect(describeTlsFailure('SELF_SIGNED_CERT_IN_CHAIN')).toMatch(/unknown CA/);
    expect(describeTlsFailure('ERR_TLS_CERT_ALTNAME_INVALID')).toMatch(/hostname mismatch/);
    expect(describeTlsFailure('ERR_SSL_WRONG_VERSION_NUMBER')).toMatch(/plain/);
    expect(describeTlsFailure('SOMETHING_ELSE')).toBeUndefined();
  });
});
