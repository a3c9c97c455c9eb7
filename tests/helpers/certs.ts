/**
 * Test certificates made with the real `openssl` CLI in a temp dir: CAs, and leaf certificates
 * (server and client use, RSA 2048) signed by them, for DICOM TLS and HTTPS tests. Each returns
 * both the PEM text and the file paths (Orthanc and DCMTK take paths).
 *
 *   const pki = await createTestPki();
 *   const ca = await pki.ca('Hospital CA');
 *   const server = await pki.leaf('pacs', ca, { hosts: ['localhost', '127.0.0.1'] });
 *   const expired = await pki.leaf('old', ca, { expired: true });
 *   await pki.cleanup();
 */
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  name: string;
  certFile: string;
  keyFile: string;
  cert: string;
}

export interface TestCert {
  name: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  ca(commonName: string): Promise<TestCa>;
  /**
   * A certificate issued by `ca` (or self-signed with `ca` null). `hosts` become subjectAltNames
   * (IP or DNS); `expired` gives one whose notAfter is already past.
   */
  leaf(commonName: string, ca: TestCa | null, opts?: { hosts?: string[]; expired?: boolean; days?: number }): Promise<TestCert>;
  cleanup(): Promise<void>;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
const san = (hosts: string[]) => hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');

export async function createTestPki(): Promise<TestPki> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-pki-'));
  let serial = 1;
  return {
    dir,
    async ca(commonName) {
      const base = path.join(dir, `ca-${slug(commonName)}`);
      await run('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3',
        '-keyout', `${base}.key`, '-out', `${base}.pem`, '-subj', `/CN=${commonName}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      return { name: commonName, certFile: `${base}.pem`, keyFile: `${base}.key`, cert: await fsp.readFile(`${base}.pem`, 'utf8') };
    },
    async leaf(commonName, ca, opts = {}) {
      const base = path.join(dir, `leaf-${slug(commonName)}-${serial}`);
      const ext = [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        ...(opts.hosts?.length ? [`subjectAltName=${san(opts.hosts)}`] : []),
      ].join('\n');
      await fsp.writeFile(`${base}.ext`, ext);
      // `-days -1` puts notAfter a day before now: an expired certificate without a fake clock.
      const days = opts.expired ? '-1' : String(opts.days ?? 3);
      await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${commonName}`]);
      const sign = ca
        ? ['-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(serial++)]
        : ['-signkey', `${base}.key`];
      await run('openssl', ['x509', '-req', '-sha256', '-in', `${base}.csr`, ...sign, '-days', days, '-extfile', `${base}.ext`, '-out', `${base}.pem`]);
      return {
        name: commonName,
        certFile: `${base}.pem`,
        keyFile: `${base}.key`,
        cert: await fsp.readFile(`${base}.pem`, 'utf8'),
        key: await fsp.readFile(`${base}.key`, 'utf8'),
      };
    },
    cleanup: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}
