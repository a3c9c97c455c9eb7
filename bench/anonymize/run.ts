/**
 * De-identification throughput, measured against plain file copying in the same run.
 *
 *   npx tsx bench/anonymize/run.ts [--instances N] [--rows R] [--threads T] [--rounds K]
 *
 * Generates one synthetic CT series (lib/synthetic, 512x512x16 bit by default) in a temp folder,
 * then times, each on the same files:
 *   (a) copy:   readFile + writeFile, one file at a time (the I/O floor on one core);
 *   (b) engine: the production file job (read, deidentifyToChunks, writev, index read-back) on the
 *               main thread (createDeidPool(0), one core);
 *   (b') buffer: readFile + deidentify() (one output Buffer) + writeFile, one core;
 *   (c) pool:   the worker-thread pool (createDeidPool), all cores.
 * Each mode runs `rounds` times (default 5), interleaved with the others, and the best round
 * counts, so page-cache warm-up, GC and other processes' load do not decide the ratio. Prints
 * instances/s and the ratio to copying.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { deidentify } from '../../lib/anonymize/engine';
import { createDeidPool } from '../../lib/anonymize/pool';
import { compileRules } from '../../lib/anonymize/profile';
import { DEFAULT_RULES } from '../../lib/anonymize/rules';
import { generateCtStudy } from '../../lib/synthetic';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const N = arg('instances', 300);
const ROWS = arg('rows', 512);
const THREADS = arg('threads', os.availableParallelism());
const ROUNDS = arg('rounds', 5);
const SECRET = 'bench-pool-secret-0123456789abcdef';
const IDENTITY = { researchId: 'BENCH001', researchName: 'BENCH^001', dateOffsetDays: -42 };

type Mode = { name: string; run: (dir: string) => Promise<void> };

/**
 * Best of ROUNDS per mode, with the modes interleaved round by round (copy, engine, ..., copy,
 * engine, ...) so load from other processes falls on every mode alike. Every run writes into a
 * fresh, empty directory: every mode creates new files as production does (overwriting files of a
 * previous round is cheaper and would flatter whichever mode did it).
 */
async function timeModes(root: string, modes: Mode[]): Promise<number[]> {
  const best = modes.map(() => Infinity);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, mode] of modes.entries()) {
      const dir = path.join(root, `${mode.name}-${r}`);
      await mkdir(dir, { recursive: true });
      const t0 = performance.now();
      await mode.run(dir);
      best[i] = Math.min(best[i], performance.now() - t0);
      await rm(dir, { recursive: true, force: true });
    }
  }
  return best.map((ms) => ms / 1000);
}

async function main() {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-anon-'));
  try {
    const inDir = path.join(root, 'in');
    await mkdir(inDir, { recursive: true });
    const files: string[] = [];
    let bytes = 0;
    for (const inst of generateCtStudy({ instances: N, rows: ROWS, columns: ROWS })) {
      const f = path.join(inDir, `${files.length}.dcm`);
      await writeFile(f, inst.buffer);
      files.push(f);
      bytes += inst.buffer.length;
    }
    for (const f of files) await readFile(f); // warm the page cache for every mode alike

    const compiled = compileRules(DEFAULT_RULES);

    const inline = createDeidPool(0);
    const pool = createDeidPool(THREADS);
    // Start the workers before timing (thread start-up and module loading are one-off costs).
    await Promise.all(
      Array.from({ length: Math.max(1, THREADS) }, (_, k) =>
        pool.run({ inPath: files[k % files.length], outPath: path.join(root, 'warm', `${k}.dcm`), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 1 }),
      ),
    );
    const job = (i: number, out: string) => ({ inPath: files[i], outPath: path.join(out, `${i}.dcm`), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 1 });
    const [copy, engine, buffered, pooled] = await timeModes(root, [
      {
        name: 'copy',
        run: async (out) => {
          for (let i = 0; i < files.length; i++) await writeFile(path.join(out, `${i}.dcm`), await readFile(files[i]));
        },
      },
      {
        name: 'engine',
        run: async (out) => {
          for (let i = 0; i < files.length; i++) await inline.run(job(i, out));
        },
      },
      {
        name: 'buffer',
        run: async (out) => {
          for (let i = 0; i < files.length; i++) {
            const { output } = deidentify(await readFile(files[i]), compiled, { uidSecret: SECRET }, IDENTITY, { ruleVersion: 1 });
            await writeFile(path.join(out, `${i}.dcm`), output);
          }
        },
      },
      {
        name: 'pool',
        run: async (out) => {
          let next = 0;
          await Promise.all(
            Array.from({ length: Math.max(1, THREADS) * 2 }, async () => {
              while (next < files.length) {
                const i = next++;
                await pool.run(job(i, out));
              }
            }),
          );
        },
      },
    ]);
    await pool.close();

    const rate = (s: number) => N / s;
    const line = (name: string, s: number) =>
      `${name.padEnd(32)} ${rate(s).toFixed(0).padStart(7)} inst/s  ${(bytes / s / 1e6).toFixed(0).padStart(6)} MB/s  ${(copy / s).toFixed(2)}x copy`;
    console.log(`anonymize bench: ${N} CT instances ${ROWS}x${ROWS}x16, ${(bytes / 1e6).toFixed(0)} MB, best of ${ROUNDS} rounds, ${os.availableParallelism()} cores`);
    console.log(line('(a) copy, 1 core', copy));
    console.log(line('(b) engine file job, 1 core', engine));
    console.log(line("(b') deidentify() Buffer, 1 core", buffered));
    console.log(line(`(c) engine, pool of ${THREADS}`, pooled));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
