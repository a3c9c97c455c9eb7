/**
 * Receive benchmark: how fast does Tributary's SCP take a C-MOVE compared with DCMTK storescp?
 *
 *   npx tsx bench/receive/run.ts [--instances 500] [--rounds 2]
 *
 * 1. Generates a synthetic CT study (512 x 512, 16 bit; 500 instances = 263 MB) and loads it
 *    into a private Orthanc (REST upload).
 * 2. Each round C-MOVEs the whole study from Orthanc (a) into lib/dicom/scp with trivial hooks
 *    (files streamed to a temp staging dir) and (b) into DCMTK storescp (--accept-all,
 *    --max-pdu 131072, files written to a temp dir). Both moves are issued with our own SCU
 *    (lib/dicom/scu move()), so only the receiver differs.
 * 3. Prints instances/s per receiver (best of the rounds) and the ratio. Temp dirs are removed.
 *
 * Orthanc and storescp run with TCP_NODELAY=1 (see research/platform-facts.md).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { move } from '../../lib/dicom/scu';
import { startScp } from '../../lib/dicom/scp';
import { generateCtStudy } from '../../lib/synthetic';
import { startOrthanc, startStorescp } from '../../tests/helpers/orthanc';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    n += e.isDirectory() ? await countFiles(path.join(dir, e.name)) : 1;
  }
  return n;
}

async function emptyDir(dir: string) {
  for (const e of await fsp.readdir(dir)) await fsp.rm(path.join(dir, e), { recursive: true, force: true });
}

async function main() {
  const instances = arg('instances', 500);
  const rounds = arg('rounds', 2);
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-receive-'));
  const staging = path.join(work, 'staging');
  const dcmtkDir = path.join(work, 'storescp');
  await fsp.mkdir(staging);
  await fsp.mkdir(dcmtkDir);

  let received = 0;
  const scp = await startScp({
    port: 0,
    pduTimeoutMs: 10 * 60_000,
    hooks: {
      resolveCalledAe: async (ae) => (ae === 'TRIB_RX' ? { id: 'bench', stagingDir: staging } : null),
      isCallingAeAllowed: async () => true,
      onStored: async () => {
        received++;
      },
    },
  });
  const storescp = await startStorescp({ aet: 'STORESCP', dir: dcmtkDir });
  const orthanc = await startOrthanc({
    modalities: {
      BENCH: ['BENCH', '127.0.0.1', 1],
      TRIB_RX: ['TRIB_RX', '127.0.0.1', scp.port],
      STORESCP: ['STORESCP', '127.0.0.1', storescp.port],
    },
  });
  try {
    let t = performance.now();
    let studyUid = '';
    let bytes = 0;
    let batch: Buffer[] = [];
    const flush = async () => {
      // Four uploads in flight: Orthanc ingests in parallel.
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

    const peer = { aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort };
    const best = { tributary: 0, storescp: 0 };
    for (let r = 1; r <= rounds; r++) {
      for (const [name, dest, dir] of [
        ['tributary', 'TRIB_RX', staging],
        ['storescp', 'STORESCP', dcmtkDir],
      ] as const) {
        await emptyDir(dir);
        received = 0;
        t = performance.now();
        const res = await move(peer, 'BENCH', dest, { studyInstanceUid: studyUid });
        const secs = (performance.now() - t) / 1000;
        const files = await countFiles(dir);
        const rate = res.completed / secs;
        best[name] = Math.max(best[name], rate);
        console.log(
          `round ${r} ${name.padEnd(9)}: ${res.status}, ${res.completed} completed, ${res.failed} failed, ${files} files, ${secs.toFixed(2)} s, ${rate.toFixed(0)} instances/s`,
        );
        if (res.completed !== loaded || files !== loaded) throw new Error(`${name}: expected ${loaded} instances, got ${res.completed} / ${files} files`);
      }
    }
    console.log('');
    console.log(`best of ${rounds}: tributary ${best.tributary.toFixed(0)} instances/s, storescp ${best.storescp.toFixed(0)} instances/s, ratio ${(best.tributary / best.storescp).toFixed(2)}`);
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
