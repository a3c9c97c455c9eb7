/**
 * Retrieve sources benchmark: the same study from Orthanc, over each retrieve method, into
 * Tributary's staging, against the DCMTK (or curl) reference for the same transport.
 *
 *   npm run bench:retrieve-sources -- [--instances 500] [--rounds 2]
 *
 * 1. Generates a synthetic CT study (512 x 512, 16 bit; 500 instances = 263 MB) and loads it
 *    into a private Orthanc (REST upload).
 * 2. Each round runs every row once, interleaved (the VM is shared and noisy):
 *    - C-MOVE  Tributary: our SCU moves the study into lib/dicom/scp (files streamed into a temp
 *      staging dir, trivial hooks)        — reference: DCMTK movescu into DCMTK storescp;
 *    - C-GET   Tributary: lib/connectors/dicom DicomSource.retrieve (C-GET), each sub-operation
 *      streamed by lib/receive/sink into a temp staging dir — reference: DCMTK getscu -od.
 *    - WADO-RS Tributary: lib/connectors/dicomweb DicomwebSourceConnector.retrieve, each part
 *      streamed by lib/receive/sink into a temp staging dir — reference: `curl` of the same URL
 *      (same Accept header) to one file (the limit of the transport; its parts are counted after).
 * 3. Prints instances/s per row and round, then the best of the rounds and each row's ratio to its
 *    reference. It fails only when a row ends with fewer files than instances, never on timing.
 *
 * Orthanc and DCMTK run with TCP_NODELAY=1 (research/platform-facts.md).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DicomSource } from '../../lib/connectors/dicom/source';
import { DicomwebSourceConnector } from '../../lib/connectors/dicomweb/source';
import type { WebConnector } from '../../lib/connectors/dicomweb/peer';
import { wadoAccept } from '../../lib/connectors/dicomweb/wado';
import { startScp } from '../../lib/dicom/scp';
import { move } from '../../lib/dicom/scu';
import { directorySink } from '../../lib/receive/sink';
import { generateCtStudy } from '../../lib/synthetic';
import { DCMTK_ENV, startOrthanc, startStorescp, type OrthancHandle } from '../../tests/helpers/orthanc';

const run = promisify(execFile);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.name.startsWith('.')) continue;
    n += e.isDirectory() ? await countFiles(path.join(dir, e.name)) : 1;
  }
  return n;
}

async function emptyDir(dir: string) {
  await fsp.mkdir(dir, { recursive: true });
  for (const e of await fsp.readdir(dir)) await fsp.rm(path.join(dir, e), { recursive: true, force: true });
}

/** What every row gets: the loaded study and a fresh folder of its own. */
export interface BenchContext {
  orthanc: OrthancHandle;
  studyUid: string;
  /** Instances Orthanc holds. */
  loaded: number;
  dir: string;
}

/** One way to retrieve the study; `run` leaves the instances as files under ctx.dir. */
export interface Row {
  name: string;
  /** The row this one is compared with (a reference row has none). */
  reference?: string;
  run(ctx: BenchContext): Promise<void>;
  /** Instances the row brought (default: the files under ctx.dir). */
  count?(ctx: BenchContext): Promise<number>;
}

/** Parts of a multipart/related file: the delimiters counted while streaming it (not timed). */
async function countParts(file: string, boundary: string): Promise<number> {
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  let n = 0;
  let tail = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const buf = Buffer.concat([tail, chunk]);
    let i = buf.indexOf(delim);
    let last = -1;
    while (i >= 0) {
      n++;
      last = i;
      i = buf.indexOf(delim, i + delim.length);
    }
    // Keep enough to find a delimiter split across chunks, but never one already counted.
    tail = buf.subarray(Math.max(last + delim.length, buf.length - delim.length + 1));
  }
  return Math.max(0, n - 1);
}

async function main() {
  const instances = arg('instances', 500);
  const rounds = arg('rounds', 2);
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-retrieve-'));

  // Tributary's SCP (C-MOVE destination), with trivial hooks: files streamed into the row's dir.
  let scpDir = path.join(work, 'unused');
  const scp = await startScp({
    port: 0,
    pduTimeoutMs: 10 * 60_000,
    hooks: {
      resolveCalledAe: async (ae) => (ae === 'TRIB_RX' ? { id: 'bench', stagingDir: scpDir } : null),
      isCallingAeAllowed: async () => true,
      onStored: async () => undefined,
    },
  });
  const storescpDir = path.join(work, 'storescp');
  await fsp.mkdir(storescpDir, { recursive: true });
  const storescp = await startStorescp({ aet: 'STORESCP', dir: storescpDir });
  const orthanc = await startOrthanc({
    dicomWeb: true,
    modalities: {
      BENCH: ['BENCH', '127.0.0.1', 1],
      TRIB_RX: ['TRIB_RX', '127.0.0.1', scp.port],
      STORESCP: ['STORESCP', '127.0.0.1', storescp.port],
    },
  });
  const peer = { aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort };
  const studyKeys = (studyUid: string) => ['-S', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${studyUid}`];

  const ROWS: Row[] = [
    {
      name: 'C-MOVE DCMTK movescu -> storescp',
      async run(ctx) {
        // storescp writes into its own folder: point the row's dir at it.
        await emptyDir(storescpDir);
        await run('movescu', [...studyKeys(ctx.studyUid), '-aet', 'BENCH', '-aec', orthanc.aet, '-aem', 'STORESCP', '127.0.0.1', String(orthanc.dicomPort)], { env: DCMTK_ENV, maxBuffer: 64 << 20 });
        ctx.dir = storescpDir;
      },
    },
    {
      name: 'C-MOVE Tributary',
      reference: 'C-MOVE DCMTK movescu -> storescp',
      async run(ctx) {
        scpDir = ctx.dir;
        await fsp.mkdir(path.join(scpDir, '.incoming'), { recursive: true });
        const r = await move(peer, 'TRIB_RX', 'TRIB_RX', { studyInstanceUid: ctx.studyUid });
        if (r.status !== 'success') throw new Error(`C-MOVE ended ${r.status}`);
      },
    },
    {
      name: 'C-GET DCMTK getscu',
      async run(ctx) {
        await run('getscu', [...studyKeys(ctx.studyUid), '-aet', 'BENCH', '-aec', orthanc.aet, '-od', ctx.dir, '127.0.0.1', String(orthanc.dicomPort)], { env: DCMTK_ENV, maxBuffer: 64 << 20 });
      },
    },
    {
      name: 'C-GET Tributary',
      reference: 'C-GET DCMTK getscu',
      async run(ctx) {
        const source = new DicomSource({ peer, queryAe: 'TRIB_RX', receivingAe: 'TRIB_RX', retrieveMethod: 'CGET' });
        const sink = await directorySink(ctx.dir, ctx.studyUid);
        // The study's SOP classes, listed as in production (series- then image-level C-FIND):
        // timed within the row, and printed apart.
        const t0 = performance.now();
        const sopClassUids = await source.sopClassesOf({ studyInstanceUid: ctx.studyUid });
        console.log(`  (C-GET Tributary: listing the study's SOP classes took ${((performance.now() - t0) / 1000).toFixed(2)} s)`);
        const r = await source.retrieve({ studyInstanceUid: ctx.studyUid }, { retrievalId: null, sink, sopClassUids });
        if (r.status !== 'success') throw new Error(`C-GET ended ${r.status}`);
      },
    },
    {
      name: 'WADO-RS curl -> file',
      async run(ctx) {
        const url = `${orthanc.httpUrl}/dicom-web/studies/${ctx.studyUid}`;
        await run('curl', ['-sS', '--fail', '-H', `Accept: ${wadoAccept('*')}`, '-D', path.join(ctx.dir, '.headers'), '-o', path.join(ctx.dir, 'study.multipart'), url], { maxBuffer: 1 << 20 });
      },
      async count(ctx) {
        const headers = await fsp.readFile(path.join(ctx.dir, '.headers'), 'latin1');
        const boundary = /boundary="?([^";\r\n]+)/i.exec(headers)?.[1];
        if (!boundary) throw new Error('curl: no multipart boundary in the answer');
        return countParts(path.join(ctx.dir, 'study.multipart'), boundary);
      },
    },
    {
      name: 'WADO-RS Tributary',
      reference: 'WADO-RS curl -> file',
      async run(ctx) {
        // The connector as stored (no authentication), the production source and sink code.
        const connector: WebConnector = {
          id: 'bench', maxAssociations: 1, webBaseUrl: `${orthanc.httpUrl}/dicom-web`, webQidoRoot: '', webWadoRoot: '', webWadoUriRoot: '',
          webIncludeField: true, webFuzzyMatching: false, webTransferSyntax: '*', webHeaders: {}, webConnectTimeoutMs: 10_000, webReadTimeoutMs: 600_000,
          webTlsCa: null, webTlsAllowAnyHost: false, webTlsTrustAll: false, webAuthType: 'NONE', webUsername: null, webSecret: null, webTokenUrl: null, webScope: null,
        };
        const source = new DicomwebSourceConnector(connector);
        const sink = await directorySink(ctx.dir, ctx.studyUid);
        const r = await source.retrieve({ studyInstanceUid: ctx.studyUid }, { retrievalId: null, sink });
        if (r.status !== 'success') throw new Error(`WADO-RS ended ${r.status}`);
      },
    },
  ];

  try {
    let t = performance.now();
    let studyUid = '';
    let bytes = 0;
    let batch: Buffer[] = [];
    const flush = async () => {
      const parts = [0, 1, 2, 3].map((k) => batch.filter((_, i) => i % 4 === k));
      await Promise.all(parts.map((p) => orthanc.uploadFiles(p)));
      batch = [];
    };
    for (const inst of generateCtStudy({ instances })) {
      studyUid = inst.studyInstanceUid;
      bytes += inst.buffer.length;
      batch.push(inst.buffer);
      if (batch.length === 40) await flush();
    }
    await flush();
    const loaded = await orthanc.countInstances();
    console.log(`loaded ${loaded} instances (${(bytes / 1e6).toFixed(0)} MB) into Orthanc in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);

    const best: Record<string, number> = {};
    for (let round = 1; round <= rounds; round++) {
      for (const row of ROWS) {
        const ctx: BenchContext = { orthanc, studyUid, loaded, dir: path.join(work, 'row') };
        await emptyDir(ctx.dir);
        t = performance.now();
        await row.run(ctx);
        const secs = (performance.now() - t) / 1000;
        const files = row.count ? await row.count(ctx) : await countFiles(ctx.dir);
        const rate = files / secs;
        best[row.name] = Math.max(best[row.name] ?? 0, rate);
        console.log(`round ${round} ${row.name.padEnd(34)}: ${files} files, ${secs.toFixed(2)} s, ${rate.toFixed(0)} instances/s`);
        if (files !== loaded) throw new Error(`${row.name}: expected ${loaded} files, got ${files}`);
        await emptyDir(ctx.dir);
      }
    }
    console.log('');
    console.log(`best of ${rounds} rounds (instances/s, ratio to the reference of the same transport):`);
    for (const row of ROWS) {
      const ratio = row.reference ? ` ${(best[row.name] / best[row.reference]).toFixed(2)} x ${row.reference}` : ' (reference)';
      console.log(`  ${row.name.padEnd(34)} ${best[row.name].toFixed(0).padStart(6)}${ratio}`);
    }
    console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await orthanc.stop();
    await storescp.stop();
    await scp.close();
    await fsp.rm(work, { recursive: true, force: true });
  }
  if (fs.existsSync(work)) console.warn(`could not remove ${work}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
