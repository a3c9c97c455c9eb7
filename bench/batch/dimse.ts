/**
 * bench/batch/dimse — the DICOM layer alone: 1,000 study-level C-FINDs against a private
 * Orthanc with `findStudiesMany` (one association, then two in parallel), beside DCMTK findscu
 * on one association with findscu's usual keys and with the same return keys as Tributary, and
 * the dcmjs-dimse request path (findStudiesManyViaDcmjs, how findStudiesMany worked before
 * lib/dicom/cfind-client.ts) on one association. CPU per query of the client is printed too
 * (ours: this process; findscu: bash's \`time\`), a figure the machine's load hardly moves.
 * No jobs, no database: where bench/batch/run.ts falls short of findscu, this says how much is
 * the DIMSE path itself.
 *
 *   npx tsx bench/batch/dimse.ts [--rows 1000] [--rounds 3]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DCMTK_ENV, startOrthanc } from '../../tests/helpers/orthanc';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = opt('rows', 1000);
const ROUNDS = opt('rounds', 3);

async function main() {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-dimse-'));
  Object.assign(process.env, { TRIBUTARY_MODE: 'test', LOG_LEVEL: 'error', STORAGE_ROOT: path.join(tmp, 'storage'), TRIBUTARY_SECRET: 'bench-secret-bench-secret-bench-secret-1' });
  const { generateCorpus } = await import('../../lib/synthetic');
  const { findStudiesMany, findStudiesManyViaDcmjs, StudyFindSession } = await import('../../lib/dicom/scu');
  const corpus = generateCorpus({ seed: 5, patients: N, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1, rows: 8, columns: 8 });
  const orthanc = await startOrthanc({ aet: 'DIMSE_PACS', modalities: { Q: ['DIMSE_Q', '127.0.0.1', 1], F: ['FINDSCU', '127.0.0.1', 1] } });
  try {
    await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
    const mrns = corpus.patients.map((p) => p.patientId);
    const usual: string[] = [];
    const same: string[] = [];
    // Our keys plus the three dcmjs-dimse's createStudyFindRequest added (IssuerOfPatientID,
    // PatientSex, StudyID): what Orthanc was asked before lib/dicom/cfind-codec.ts.
    const dimseKeys: string[] = [];
    for (let i = 0; i < N; i++) {
      for (const [list, keys] of [
        [usual, '(0020,000d) UI\n(0008,0020) DA\n(0008,1030) LO\n(0008,0061) CS\n(0020,1208) IS\n(0010,0010) PN\n'],
        [same, '(0008,0050) SH\n(0008,0061) CS\n(0008,0020) DA\n(0008,1030) LO\n(0010,0010) PN\n(0010,0030) DA\n(0020,000d) UI\n(0008,0030) TM\n(0020,1206) IS\n(0020,1208) IS\n'],
        [dimseKeys, '(0008,0050) SH\n(0008,0061) CS\n(0008,0020) DA\n(0008,1030) LO\n(0010,0010) PN\n(0010,0030) DA\n(0020,000d) UI\n(0008,0030) TM\n(0020,1206) IS\n(0020,1208) IS\n(0010,0021) LO\n(0010,0040) CS\n(0020,0010) SH\n'],
      ] as const) {
        const dump = path.join(tmp, `${i}-${list.length}-${keys.length}.txt`);
        await fs.writeFile(dump, `(0008,0052) CS [STUDY]\n(0010,0020) LO [${mrns[i]}]\n${keys}`);
        const out = dump.replace(/\.txt$/, '.dcm');
        execFileSync('dump2dcm', ['--write-xfer-little', dump, out], { stdio: 'ignore' });
        list.push(out);
      }
    }
    // findscu's own CPU (user + system) from bash's `time`, beside its wall-clock rate.
    let findscuCpuMs = 0;
    const findscu = (files: string[]) => {
      const t = process.hrtime.bigint();
      const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%U %S"; time findscu "$@" >/dev/null 2>&1', 'findscu', '-S', '-aet', 'FINDSCU', '-aec', 'DIMSE_PACS', '127.0.0.1', String(orthanc.dicomPort), ...files], {
        env: DCMTK_ENV,
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      if (r.status !== 0) throw new Error('findscu failed');
      const [u, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
      findscuCpuMs = ((u + sys) * 1000) / files.length;
      return N / (Number(process.hrtime.bigint() - t) / 1e9);
    };
    // Two findscu processes at once, each with half the queries: how far the PACS itself scales.
    const findscu2 = async (files: string[]) => {
      const half = Math.ceil(files.length / 2);
      const t = process.hrtime.bigint();
      await Promise.all(
        [files.slice(0, half), files.slice(half)].map(
          (part) =>
            new Promise<void>((resolve, reject) => {
              const c = spawn('findscu', ['-S', '-aet', 'FINDSCU', '-aec', 'DIMSE_PACS', '127.0.0.1', String(orthanc.dicomPort), ...part], { env: DCMTK_ENV, stdio: 'ignore' });
              c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error('findscu failed'))));
            }),
        ),
      );
      return N / (Number(process.hrtime.bigint() - t) / 1e9);
    };
    const peer = { aeTitle: 'DIMSE_PACS', host: '127.0.0.1', port: orthanc.dicomPort };
    // Our CPU per query (this process: user + system) for the last run of `ours`.
    let oursCpuMs = 0;
    const ours = async (associations: number, via: typeof findStudiesMany = findStudiesMany) => {
      const per = Math.ceil(N / associations);
      const cpu = process.cpuUsage();
      const t = process.hrtime.bigint();
      const parts = await Promise.all(
        Array.from({ length: associations }, (_, k) => via(peer, 'DIMSE_Q', mrns.slice(k * per, (k + 1) * per).map((m) => ({ patientId: m })))),
      );
      const rate = N / (Number(process.hrtime.bigint() - t) / 1e9);
      const used = process.cpuUsage(cpu);
      oursCpuMs = (used.user + used.system) / 1000 / N;
      const found = parts.flat().filter((x) => Array.isArray(x) && x.length === 1).length;
      if (found !== N) throw new Error(`found ${found} of ${N}`);
      return rate;
    };
    // One association per chunk of 100 queries, one after another (as each batch find job does):
    // against ours on one association, the cost of opening and releasing an association.
    const chunked = async () => {
      const t = process.hrtime.bigint();
      let found = 0;
      for (let k = 0; k < N; k += 100) {
        const part = await findStudiesMany(peer, 'DIMSE_Q', mrns.slice(k, k + 100).map((m) => ({ patientId: m })));
        found += part.filter((x) => Array.isArray(x) && x.length === 1).length;
      }
      if (found !== N) throw new Error(`found ${found} of ${N}`);
      return N / (Number(process.hrtime.bigint() - t) / 1e9);
    };
    // The same chunks of 100 on one association kept from chunk to chunk (StudyFindSession, as
    // each batch find job does since the association is kept across chunks).
    const sessioned = async () => {
      const t = process.hrtime.bigint();
      let found = 0;
      const session = new StudyFindSession(peer, 'DIMSE_Q');
      try {
        for (let k = 0; k < N; k += 100) {
          const part = await session.find(mrns.slice(k, k + 100).map((m) => ({ patientId: m })));
          found += part.filter((x) => Array.isArray(x) && x.length === 1).length;
        }
      } finally {
        await session.close();
      }
      if (found !== N) throw new Error(`found ${found} of ${N}`);
      return N / (Number(process.hrtime.bigint() - t) / 1e9);
    };
    const f = (n: number) => n.toFixed(0).padStart(5);
    const ms = (n: number) => n.toFixed(2).padStart(5);
    process.stdout.write(
      `${N} study-level C-FINDs, rows/s (CPU ms per query of the client in brackets):\n` +
        `  findscu (usual keys) | findscu (our keys) | findscu (+ dcmjs-dimse's 3 keys) | 2 x findscu (our keys) | via dcmjs-dimse, 1 assoc. | ours, 1 assoc. | ours, 1 assoc. per 100 | ours, per 100 on 1 kept assoc. | ours, 2 assoc. | ours 2 / findscu 1 | load\n`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      const a = findscu(usual);
      const b = findscu(same);
      const bCpu = findscuCpuMs;
      const b3 = findscu(dimseKeys);
      const c = await findscu2(same);
      const d = await ours(1, findStudiesManyViaDcmjs);
      const dCpu = oursCpuMs;
      const e = await ours(1);
      const eCpu = oursCpuMs;
      // In turn first and second, so neither always runs on the warmer PACS.
      let h: number, k: number;
      if (round % 2) {
        k = await sessioned();
        h = await chunked();
      } else {
        h = await chunked();
        k = await sessioned();
      }
      const g = await ours(2);
      const gCpu = oursCpuMs;
      process.stdout.write(
        `  ${f(a)} | ${f(b)} [${ms(bCpu)}] | ${f(b3)} | ${f(c)} | ${f(d)} [${ms(dCpu)}] | ${f(e)} [${ms(eCpu)}] | ${f(h)} | ${f(k)} | ${f(g)} [${ms(gCpu)}] | ${(g / b).toFixed(2)} | ${os.loadavg()[0].toFixed(1)}\n`,
      );
    }
  } finally {
    await orthanc.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
