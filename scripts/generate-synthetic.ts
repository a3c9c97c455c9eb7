/**
 * Writes a deterministic synthetic corpus (invented patients, realistic PHI) as Part-10 files.
 *
 *   npx tsx scripts/generate-synthetic.ts <outdir> [--patients N] [--seed S]
 *       [--studies N] [--series N] [--instances N] [--rows N] [--columns N]
 *
 * Prints counts only: the files are full of (invented) PHI, the console is not the place for it.
 */
import path from 'node:path';
import { writeCorpus, type CorpusOptions } from '../lib/synthetic';

function usage(msg?: string): never {
  if (msg) console.error(msg);
  console.error('usage: generate-synthetic <outdir> [--patients N] [--seed S] [--studies N] [--series N] [--instances N] [--rows N] [--columns N]');
  process.exit(2);
}

const FLAGS: Record<string, keyof CorpusOptions> = {
  '--patients': 'patients',
  '--seed': 'seed',
  '--studies': 'studiesPerPatient',
  '--series': 'seriesPerStudy',
  '--instances': 'instancesPerSeries',
  '--rows': 'rows',
  '--columns': 'columns',
};

async function main() {
  const args = process.argv.slice(2);
  let outdir: string | undefined;
  const opts: CorpusOptions = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-h' || a === '--help') usage();
    const key = FLAGS[a];
    if (key) {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < (key === 'seed' ? 0 : 1)) usage(`${a} needs a ${key === 'seed' ? 'non-negative' : 'positive'} integer`);
      opts[key] = v;
    } else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (!outdir) outdir = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!outdir) usage();
  const t = performance.now();
  const corpus = await writeCorpus(path.resolve(outdir), opts);
  const studies = corpus.patients.reduce((n, p) => n + p.studies.length, 0);
  const bytes = corpus.instances.reduce((n, i) => n + i.buffer.length, 0);
  const byModality = new Map<string, number>();
  for (const p of corpus.patients) for (const s of p.studies) byModality.set(s.modality, (byModality.get(s.modality) ?? 0) + 1);
  console.log(
    `wrote ${corpus.instances.length} instances (${(bytes / 1e6).toFixed(1)} MB) of ${studies} studies ` +
      `(${[...byModality].map(([m, n]) => `${n} ${m}`).join(', ')}) for ${corpus.patients.length} patients ` +
      `to ${path.resolve(outdir)} in ${((performance.now() - t) / 1000).toFixed(2)} s (seed ${opts.seed ?? 1})`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
