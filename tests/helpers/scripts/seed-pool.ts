/**
 * Run as a child process (tsx) with DATABASE_URL / STORAGE_ROOT of a scratch installation: makes
 * a research pool, puts a synthetic corpus into it as ingest would (tests/integration/browse/seed),
 * and prints { poolId, paths } as JSON. Lets a test build an installation of its own, apart from
 * the shared test database.
 */
import { db } from '../../../lib/db';
import { generateCorpus } from '../../../lib/synthetic';
import { seedPool } from '../../integration/browse/seed';
import { makePool } from '../fixtures';

async function main() {
  const [seed, patients] = process.argv.slice(2).map(Number);
  const pool = await makePool();
  const corpus = generateCorpus({ seed, patients, seriesPerStudy: 2, instancesPerSeries: 2 });
  const seeded = await seedPool(pool.id, corpus.instances.map((i) => i.buffer));
  process.stdout.write(JSON.stringify({ poolId: pool.id, paths: [...seeded.paths.values()] }));
  await db.$disconnect();
}

main().catch((e) => {
  process.stderr.write(String(e instanceof Error ? e.stack : e));
  process.exit(1);
});
