/**
 * Private DICOM peers for tests and benchmarks: an Orthanc (Debian's 1.10.1) with its own
 * config, storage and ports, and DCMTK's storescp. Never the system Orthanc service.
 *
 * Orthanc 1.10 access rules, as configured here (and as a hospital PACS usually behaves):
 * - C-ECHO and C-STORE are accepted from any calling AE ("DicomAlwaysAllowEcho"/"Store" true).
 * - C-FIND and C-MOVE are answered only for calling AE titles listed in "DicomModalities"
 *   ("DicomAlwaysAllowFind"/"Move" default to false since 1.9.0/1.9.7). An unknown caller still
 *   gets its association accepted, but its C-FIND/C-MOVE fail with a status. Pass
 *   `alwaysAllowFindMove: true` to lift that (never needed by our tests: register the AE).
 * - The host of a calling AE is not checked ("DicomCheckModalityHost" false) and neither is
 *   the called AE title ("DicomCheckCalledAet" false).
 * - A C-MOVE destination must be a DicomModalities entry: Orthanc looks up its host and port.
 * Both ports listen on all interfaces (Orthanc 1.10 cannot bind one address); REST access is
 * limited to localhost by "RemoteAccessAllowed": false.
 *
 * TCP_NODELAY=1 is set for Orthanc and DCMTK: without it DCMTK waits 40-90 ms per message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface OrthancHandle {
  aet: string;
  dicomPort: number;
  httpPort: number;
  httpUrl: string;
  dir: string;
  logFile: string;
  /** The running process's pid (benches read its CPU time from /proc). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
  /** Upload Part-10 files (paths or buffers) through REST POST /instances. */
  uploadFiles(paths: string[] | Buffer[]): Promise<void>;
  countInstances(): Promise<number>;
  /** Number of DICOM associations Orthanc has received so far (needs `verbose: true`). */
  countAssociations(): Promise<number>;
  /** SIGKILL the process, keeping its configuration, storage and ports (an outage). */
  kill(): Promise<void>;
  /** Start it again after kill(): same configuration, storage and ports. */
  restart(): Promise<void>;
}

export interface StartOrthancOptions {
  aet?: string;
  /** Known peers: name -> [AE title, host, port]. Callers of C-FIND/C-MOVE and move destinations. */
  modalities?: Record<string, [aet: string, host: string, port: number]>;
  dicomWeb?: boolean;
  /** Log at verbose level into logFile (association counting reads it). */
  verbose?: boolean;
  alwaysAllowFindMove?: boolean;
  /** Orthanc's "DefaultEncoding" (C-FIND answers are encoded with it). Default Latin1. */
  defaultEncoding?: 'Latin1' | 'Utf8';
  /** Extra configuration keys, merged last. */
  config?: Record<string, unknown>;
  /** HTTP basic auth on the REST API and DICOMweb (the helper's own calls carry it). */
  basicAuth?: { username: string; password: string };
}

export const DCMTK_ENV = { ...process.env, TCP_NODELAY: '1' };

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One REST call with "Connection: close". fetch() keeps connections alive for seconds, and
 * Orthanc waits for open HTTP connections before it exits: stop() took 3.5 s instead of 0.1 s.
 */
export function orthancRest(url: string, method = 'GET', body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: body ? { 'content-type': 'application/dicom', 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited early with code ${proc.exitCode}`);
    try {
      if (await check()) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Ends a peer we started. Orthanc takes 2-4 s to stop gracefully (its threads poll), which adds
 * up over a test suite; its storage is thrown away anyway, so tests kill it (`graceMs` 0).
 */
async function stopProcess(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export async function startOrthanc(opts: StartOrthancOptions = {}): Promise<OrthancHandle> {
  const aet = opts.aet ?? 'ORTHANC';
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-orthanc-'));
  const [dicomPort, httpPort] = [await freePort(), await freePort()];
  const logFile = path.join(dir, 'orthanc.log');
  const config: Record<string, unknown> = {
    Name: `tributary-test-${path.basename(dir)}`,
    DicomAet: aet,
    DicomPort: dicomPort,
    HttpPort: httpPort,
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'index'),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: !!opts.basicAuth,
    ...(opts.basicAuth ? { RegisteredUsers: { [opts.basicAuth.username]: opts.basicAuth.password } } : {}),
    DicomModalities: opts.modalities ?? {},
    DicomAlwaysAllowEcho: true,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowFind: opts.alwaysAllowFindMove ?? false,
    DicomAlwaysAllowMove: opts.alwaysAllowFindMove ?? false,
    DicomCheckCalledAet: false,
    DicomCheckModalityHost: false,
    DefaultEncoding: opts.defaultEncoding ?? 'Latin1',
    // Close Orthanc's outgoing C-STORE association as soon as a move ends (default keeps it 5 s).
    DicomAssociationCloseDelay: 0,
    SaveJobs: false,
    StableAge: 3600,
    HttpDescribeErrors: true,
    ...(opts.dicomWeb
      ? { Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'], DicomWeb: { Enable: true, Root: '/dicom-web/' } }
      : {}),
    ...opts.config,
  };
  const configFile = path.join(dir, 'orthanc.json');
  await fsp.writeFile(configFile, JSON.stringify(config, null, 2));
  const args = [...(opts.verbose ? ['--verbose'] : []), `--logfile=${logFile}`, '--no-jobs', configFile];
  const launch = () => spawn('/usr/sbin/Orthanc', args, { env: DCMTK_ENV, stdio: 'ignore' });
  let proc = launch();
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  // The helper's own REST calls: node's http.request takes the credentials from the URL.
  const restUrl = opts.basicAuth
    ? `http://${encodeURIComponent(opts.basicAuth.username)}:${encodeURIComponent(opts.basicAuth.password)}@127.0.0.1:${httpPort}`
    : httpUrl;

  const stop = async () => {
    await stopProcess(proc, 0);
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const up = async () => {
    await waitFor(async () => (await orthancRest(`${restUrl}/system`)).status === 200, 20_000, 'Orthanc', proc);
    await waitFor(() => tcpOpen(dicomPort), 5_000, 'Orthanc DICOM port', proc);
  };
  try {
    await up();
  } catch (err) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
    await stop();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }

  return {
    aet,
    dicomPort,
    httpPort,
    httpUrl,
    dir,
    logFile,
    get pid() {
      return proc.pid;
    },
    stop,
    async uploadFiles(items) {
      for (const item of items as Array<string | Buffer>) {
        const body = typeof item === 'string' ? await fsp.readFile(item) : item;
        const res = await orthancRest(`${restUrl}/instances`, 'POST', body);
        if (res.status !== 200) throw new Error(`Orthanc refused an upload: HTTP ${res.status}`);
      }
    },
    async countInstances() {
      const res = await orthancRest(`${restUrl}/statistics`);
      return (JSON.parse(res.body.toString('utf8')) as { CountInstances: number }).CountInstances;
    },
    async countAssociations() {
      const text = fs.existsSync(logFile) ? await fsp.readFile(logFile, 'utf8') : '';
      return (text.match(/Association Received from AET/g) ?? []).length;
    },
    async kill() {
      await stopProcess(proc, 0);
    },
    async restart() {
      proc = launch();
      await up();
    },
  };
}

export interface StorescpHandle {
  aet: string;
  port: number;
  dir: string;
  /** The storescp process's pid (benches read its CPU time from /proc). */
  pid: number | undefined;
  stop(): Promise<void>;
  countFiles(): Promise<number>;
}

/**
 * DCMTK storescp on a free port writing Part-10 files into `dir` (a temp dir by default,
 * removed on stop; a given dir is left in place).
 */
export async function startStorescp(opts: { aet?: string; port?: number; dir?: string; maxPdu?: number; extraArgs?: string[] } = {}): Promise<StorescpHandle> {
  const aet = opts.aet ?? 'STORESCP';
  const port = opts.port ?? (await freePort());
  const ownDir = !opts.dir;
  const dir = opts.dir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-storescp-')));
  await fsp.mkdir(dir, { recursive: true });
  const args = [
    '--aetitle', aet,
    '--output-directory', dir,
    '--accept-all',
    '--disable-host-lookup',
    '--max-pdu', String(opts.maxPdu ?? 131072),
    ...(opts.extraArgs ?? []),
    String(port),
  ];
  const proc = spawn('storescp', args, { env: DCMTK_ENV, stdio: 'ignore' });
  const stop = async () => {
    await stopProcess(proc);
    if (ownDir) await fsp.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => tcpOpen(port), 10_000, 'storescp', proc);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    aet,
    port,
    dir,
    pid: proc.pid,
    stop,
    async countFiles() {
      return (await fsp.readdir(dir)).filter((f) => !f.startsWith('.')).length;
    },
  };
}
