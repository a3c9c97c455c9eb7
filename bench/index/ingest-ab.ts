/**
 * bench/index/ingest-ab — what the study count indexes (migration 20261207125916_study_count_indexes)
 * cost ingest, measured on ONE scratch database in the same minutes: rounds of --ingest instances
 * through indexDeidentified (the receive path: a recount per instance, 4 lanes), alternately with
 * the two count indexes and without them (dropped and re-created between rounds), into a pool
 * that already holds --studies studies. The first round of each kind is a warm-up.
 *
 *   npx tsx bench/index/ingest-ab.ts [--ingest 600] [--rounds 3] [--studies 50000] [--db b_ingest_ab]
 *
 * Prints rows/s per round and the median per kind (bench/index prints the WAL a recount writes
 * with and without, from EXPLAIN: the cluster's WAL position counts every other database's writes
 * too). Never fails on timing; drops its database at the end.
 */
import pg from 'pg';
import { dropDatabase, resetTestDatabase } from '../../tests/helpers/database';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : def);
const INGEST = opt('ingest', 600);
const ROUNDS = opt('rounds', 3);
const STUDIES = opt('studies', 50_000);
const DB = args.includes('--db') ? args[args.indexOf('--db') + 1] : (process.env.BENCH_DATABASE_NAME ?? 'b_ingest_ab');
if (!/^[a-z0-9_]+$/.test(DB) || DB === 'tributary' || DB === 'postgres') throw new Error(`refusing database name ${DB}`);
const INDEXES = [
  ['Study_poolId_numSeries_id_idx', '"numSeries"'],
  ['Study_poolId_numInstances_id_idx', '"numInstances"'],
] as const;

async function main() {
  const url = await resetTestDatabase(DB);
  Object.assign(process.env, { TRIBUTARY_MODE: 'test', DATABASE_URL: url, LOG_LEVEL: 'error', TRIBUTARY_SECRET: 'bench-secret-bench-secret-bench-secret-2', REDIS_PREFIX: `tributary-bench-ab-${process.pid}` });
  const { db } = await import('../../lib/db');
  const { DEFAULT_RULES } = await import('../../lib/anonymize/rules');
  const { indexDeidentified } = await import('../../lib/receive/ingest');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const pool = await db.pool.create({ data: { name: 'AB', aeTitle: 'BAB', secret: 'x'.repeat(64), rules: DEFAULT_RULES as object, ruleVersions: { create: { version: 1, rules: DEFAULT_RULES as object } } } });
    await client.query(
      `INSERT INTO "Study" (id, "poolId", "studyInstanceUid", "patientId", "patientName", "studyDate", "studyDescription", "accessionNumber", modalities, "numSeries", "numInstances", "updatedAt")
       SELECT 'ab-' || g, $1, '2.25.5.' || g, 'TRB-1-' || lpad(g::text, 7, '0'), 'SMITH^ANNA', '20200101', 'CR CHEST PA', 'ACC-' || g, 'CR', 1, 1 + g % 4, now()
         FROM generate_series(1, $2::int) g`,
      [pool.id, STUDIES],
    );
    await client.query('VACUUM ANALYZE "Study"');
    let round = 0;
    const ingest = async () => {
      const r = ++round;
      const studies = Math.ceil(INGEST / 4);
      let next = 0;
      const t0 = process.hrtime.bigint();
      const lane = async () => {
        for (let s = next++; s < studies; s = next++) {
          for (let i = 0; i < 4 && s * 4 + i < INGEST; i++) {
            await indexDeidentified({
              poolId: pool.id,
              path: `pools/${pool.id}/ab${r}/${s}/${i}.dcm`,
              size: 527000,
              sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
              transferSyntaxUid: '1.2.840.10008.1.2.1',
              targetUids: { study: `2.25.66${r}.${s}`, series: `2.25.66${r}.${s}.1`, sop: `2.25.66${r}.${s}.1.${i}` },
              index: { patientId: `TRB-NEW-${s % 50}`, patientName: 'NEW^PATIENT', studyDate: '20250101', modality: 'CR', seriesNumber: 1, instanceNumber: i, rows: 512, columns: 512 },
              identity: { researchId: `TRB-NEW-${s % 50}`, researchName: 'NEW^PATIENT' },
              ruleVersion: 1,
            });
          }
        }
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
      return INGEST / (Number(process.hrtime.bigint() - t0) / 1e9);
    };
    const results: Record<'with' | 'without', number[]> = { with: [], without: [] };
    for (let i = 0; i <= ROUNDS; i++) {
      for (const kind of ['with', 'without'] as const) {
        if (kind === 'with') for (const [name, col] of INDEXES) await client.query(`CREATE INDEX IF NOT EXISTS "${name}" ON "Study"("poolId", ${col}, "id")`);
        else for (const [name] of INDEXES) await client.query(`DROP INDEX IF EXISTS "${name}"`);
        const rate = await ingest();
        process.stdout.write(`round ${i}${i === 0 ? ' (warm-up)' : ''}, ${kind} the count indexes: ${rate.toFixed(0)} rows/s\n`);
        if (i > 0) results[kind].push(rate);
      }
    }
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const w = med(results.with);
    const wo = med(results.without);
    process.stdout.write(`median: with ${w.toFixed(0)} rows/s, without ${wo.toFixed(0)} rows/s, ratio ${(w / wo).toFixed(2)}\n`);
    const os = await import('node:os');
    process.stdout.write(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}\n`);
  } finally {
    await client.end();
    await db.$disconnect();
    await dropDatabase(DB);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
