/**
 * bench/receive/gc.ts — garbage collections while the SCP receives, with and without the reuse of
 * assembled PDUs (lib/dicom/pdu-framer.ts recycle). Counts are insensitive to the machine's load,
 * unlike times.
 *
 *   npx tsx bench/receive/gc.ts [--instances 300] [--rounds 2]
 *
 * The SCP runs in this process with trivial hooks and synchronous staging writes (the default
 * 'auto' mode until a slow write); DCMTK storescu sends 512² CT instances with 128 KB PDUs (what
 * Orthanc and DCMTK senders use), alternately with reuse on and off. Prints, per round, the
 * number and total pause of mark-compact and scavenge collections (PerformanceObserver 'gc') and
 * the process CPU per instance. Needs DCMTK; no database.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { PduFramer, recycledPdus } from '../../lib/dicom/pdu-framer';
import { StagingStream, startScp } from '../../lib/dicom/scp';
import { generateCtStudy } from '../../lib/synthetic';
import { DCMTK_ENV } from '../../tests/helpers/orthanc';

const run = promisify(execFile);
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

async function main() {
  const instances = arg('instances', 300);
  const rounds = arg('rounds', 2);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-gc-'));
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  const files: string[] = [];
  let i = 0;
  for (const inst of generateCtStudy({ instances, seed: 3 })) {
    const f = path.join(src, `${i++}.dcm`);
    fs.writeFileSync(f, inst.buffer);
    files.push(f);
  }
  const staging = path.join(root, 'staging');
  StagingStream.writeMode = 'sync';
  const scp = await startScp({
    port: 0,
    hooks: {
      resolveCalledAe: async () => ({ id: 'bench', stagingDir: staging }),
      isCallingAeAllowed: async () => true,
      onStored: async (info) => fs.rmSync(info.path, { force: true }),
    },
  });
  const gcs: { kind: number; ms: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ kind: (e as unknown as { detail: { kind: number } }).detail.kind, ms: e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  const recycle = PduFramer.prototype.recycle;
  console.log(`${instances} x 512² CT per round, storescu --max-send-pdu 131072, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const reuse of [true, false]) {
        PduFramer.prototype.recycle = reuse ? recycle : () => undefined;
        global.gc?.();
        await new Promise((res) => setTimeout(res, 100));
        gcs.length = 0;
        const reused0 = recycledPdus();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await run('storescu', ['-aet', 'BENCH', '-aec', 'BENCH_RX', '--max-send-pdu', '131072', '127.0.0.1', String(scp.port), ...files], { env: DCMTK_ENV });
        const secs = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        await new Promise((res) => setTimeout(res, 50));
        const of = (k: number) => gcs.filter((g) => g.kind === k);
        const mc = of(constants.NODE_PERFORMANCE_GC_MAJOR);
        const sc = of(constants.NODE_PERFORMANCE_GC_MINOR);
        const inc = of(constants.NODE_PERFORMANCE_GC_INCREMENTAL);
        const sum = (xs: { ms: number }[]) => xs.reduce((a, b) => a + b.ms, 0).toFixed(0);
        console.log(
          `round ${r} reuse ${reuse ? 'on ' : 'off'}: ${secs.toFixed(2)} s, PDUs reused ${recycledPdus() - reused0}, mark-compact ${mc.length} (${sum(mc)} ms), ` +
            `incremental marking ${inc.length} (${sum(inc)} ms), scavenge ${sc.length} (${sum(sc)} ms), process CPU ${(((cpu.user + cpu.system) / 1000) / instances).toFixed(2)} ms per instance`,
        );
      }
    }
  } finally {
    PduFramer.prototype.recycle = recycle;
    obs.disconnect();
    await scp.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
