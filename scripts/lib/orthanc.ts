/**
 * Starts a private Orthanc (Debian's package) with its own config and storage: used by the
 * demo (a persistent demo PACS) and by the test harness (throwaway instances on free ports).
 * Orthanc 1.10 cannot bind one address: both ports listen on all interfaces.
 * TCP_NODELAY=1: without it Debian's build waits 40-90 ms per DIMSE message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export const ORTHANC_BIN = process.env.ORTHANC_BIN ?? '/usr/sbin/Orthanc';
export const ORTHANC_PLUGINS = process.env.ORTHANC_PLUGINS ?? '/usr/share/orthanc/plugins';

export interface OrthancOptions {
  dir: string;
  aet?: string;
  dicomPort: number;
  httpPort: number;
  /** AE title -> [AE, host, port]: the AEs this PACS knows (may query, may be a move destination). */
  modalities?: Record<string, [string, string, number]>;
  dicomWeb?: boolean;
  verbose?: boolean;
  name?: string;
}

export interface OrthancProcess {
  aet: string;
  dicomPort: number;
  httpPort: number;
  httpUrl: string;
  dir: string;
  logFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function orthancAvailable(): boolean {
  return existsSync(ORTHANC_BIN);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startOrthancProcess(o: OrthancOptions): Promise<OrthancProcess> {
  if (!orthancAvailable()) throw new Error(`Orthanc not found at ${ORTHANC_BIN} (apt-get install -y orthanc orthanc-dicomweb)`);
  const aet = o.aet ?? 'ORTHANC';
  await fs.mkdir(path.join(o.dir, 'storage'), { recursive: true });
  const config = {
    Name: o.name ?? aet,
    DicomAet: aet,
    DicomPort: o.dicomPort,
    HttpPort: o.httpPort,
    StorageDirectory: path.join(o.dir, 'storage'),
    IndexDirectory: path.join(o.dir, 'storage'),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomCheckCalledAet: false,
    DicomAlwaysAllowEcho: true,
    DicomAlwaysAllowStore: true,
    DicomModalities: o.modalities ?? {},
    ConcurrentJobs: 2,
    StableAge: 1,
    Plugins: o.dicomWeb ? [ORTHANC_PLUGINS] : [],
    DicomWeb: { Enable: !!o.dicomWeb, Root: '/dicom-web/' },
  };
  const configPath = path.join(o.dir, 'orthanc.json');
  await fs.writeFile(configPath, JSON.stringify(config, null, 2));
  const logFile = path.join(o.dir, 'orthanc.log');
  const out = openSync(logFile, 'a');
  const args = [configPath, ...(o.verbose ? ['--verbose'] : []), `--logfile=${logFile}`];
  const child = spawn(ORTHANC_BIN, args, { env: { ...process.env, TCP_NODELAY: '1' }, stdio: ['ignore', out, out] });
  const httpUrl = `http://127.0.0.1:${o.httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Orthanc exited with code ${child.exitCode}; see ${logFile}`);
    try {
      const r = await fetch(`${httpUrl}/system`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Orthanc did not start within 30 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    aet,
    dicomPort: o.dicomPort,
    httpPort: o.httpPort,
    httpUrl,
    dir: o.dir,
    logFile,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export async function orthancUpload(httpUrl: string, files: Buffer[]): Promise<void> {
  for (const buf of files) {
    const r = await fetch(`${httpUrl}/instances`, { method: 'POST', body: new Uint8Array(buf), headers: { 'Content-Type': 'application/dicom' } });
    if (!r.ok) throw new Error(`Orthanc refused an upload: HTTP ${r.status}`);
  }
}

export async function orthancInstanceCount(httpUrl: string): Promise<number> {
  const r = await fetch(`${httpUrl}/statistics`);
  if (!r.ok) throw new Error(`Orthanc statistics: HTTP ${r.status}`);
  return ((await r.json()) as { CountInstances: number }).CountInstances;
}
