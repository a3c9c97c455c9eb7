/**
 * bench/browse — the pool page's study list at 100,000 instances.
 *
 *   npx tsx bench/browse/run.ts [--studies 2000] [--series 2] [--per-series 25] [--others 9] [--runs 9] [--db tributary_bench_browse] [--keep]
 *
 * Builds a scratch database (its own name; dropped and re-created, migrated) with one pool of
 * `studies x series x per-series` instances (default 2,000 studies, 100,000 instances) and
 * `others` other pools of as many studies (1 series x 5 instances each), so every query has to
 * pick one pool's rows out of ten. Rows are written with set-based SQL, then ANALYZEd. The
 * database is dropped at the end unless --keep.
 *
 * Times lib/pools/studies.ts listStudies (Prisma: one page query + one count) for the first and
 * the last page of every sort and direction, the page sizes, searches and the modality filter,
 * as the median of --runs calls after one warm-up. The same-run reference is what PostgreSQL
 * itself takes for the same two statements written by hand with pg — `SELECT count(*)` of the
 * pool plus the first page `ORDER BY "studyDate" DESC, id DESC LIMIT 50` (index scan) — and each
 * row prints its ratio to it. Needs only PostgreSQL (like the tests: TEST_ADMIN_DATABASE_URL or
 * postgres@127.0.0.1). Results and their reading: bench/browse/README.md, docs/browsing.md.
 */
import os from 'node:os';
import pg from 'pg';
import { dropDatabase, resetTestDatabase } from '../../tests/helpers/database';


const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const str = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const STUDIES = opt('studies', 2000);
const SERIES = opt('series', 2);
const PER_SERIES = opt('per-series', 25);
const OTHERS = opt('others', 9);
const RUNS = opt('runs', 9);
const DB = str('db', 'tributary_bench_browse');
if (!/^[a-z0-9_]+$/.test(DB) || DB === 'tributary' || DB === 'postgres') throw new Error(`refusing database name ${DB}: give a scratch name`);

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up: plans, caches, Prisma's first use
  const ts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(ms(t0));
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

/** One pool's index: studies, their series and instances, by set-based INSERT … SELECT. */
async function fillPool(client: pg.Client, poolId: string, tag: string, studies: number, series: number, perSeries: number) {
  await client.query(
    `INSERT INTO "Study" (id, "poolId", "studyInstanceUid", "patientId", "patientName", "patientSex", "studyDate", "studyTime", "studyDescription", "accessionNumber", modalities, "numSeries", "numInstances", "createdAt", "updatedAt")
     SELECT $2::text || '-st' || g, $1::text, '2.25.' || $3::text || '.' || g,
            'TRB-' || lpad(((g * 7919) % ($4::int * 3 / 4 + 1))::text, 6, '0'),
            'TRB-' || lpad(((g * 7919) % ($4::int * 3 / 4 + 1))::text, 6, '0') || '^RESEARCH',
            (ARRAY['F','M','O'])[1 + g % 3],
            to_char(date '2004-01-01' + ((g * 37) % 7300), 'YYYYMMDD'),
            lpad(((g * 13) % 24)::text, 2, '0') || '1500',
            (ARRAY['CT CHEST WITH CONTRAST','MR KNEE LEFT','CT HEAD','US ABDOMEN','CR CHEST PA','MR BRAIN','PET-CT WHOLE BODY',''])[1 + g % 8],
            'ACC' || g,
            (ARRAY['CT','MR','CT','US','CR','MR','CT\\PT','CT\\SR'])[1 + g % 8],
            $5::int, $5::int * $6::int,
            now() - (g || ' minutes')::interval, now()
       FROM generate_series(1, $4::int) g`,
    [poolId, tag, tag.replace(/\D/g, '') || '1', studies, series, perSeries],
  );
  await client.query(
    `INSERT INTO "Series" (id, "studyId", "poolId", "seriesInstanceUid", modality, "seriesNumber", "seriesDescription", "numInstances")
     SELECT $2::text || '-se' || g || '-' || s, $2::text || '-st' || g, $1::text, '2.25.' || $3::text || '.' || g || '.' || s, 'CT', s, 'SERIES ' || s, $6::int
       FROM generate_series(1, $4::int) g, generate_series(1, $5::int) s`,
    [poolId, tag, tag.replace(/\D/g, '') || '1', studies, series, perSeries],
  );
  await client.query(
    `INSERT INTO "Instance" (id, "seriesId", "poolId", "sopInstanceUid", "sopClassUid", "instanceNumber", "transferSyntaxUid", rows, columns, path, size, "ruleVersion")
     SELECT $2::text || '-in' || g || '-' || s || '-' || i, $2::text || '-se' || g || '-' || s, $1::text, '2.25.' || $3::text || '.' || g || '.' || s || '.' || i,
            '1.2.840.10008.5.1.4.1.1.2', i, '1.2.840.10008.1.2.1', 512, 512, 'pools/' || $1::text || '/' || g || '/' || s || '/' || i || '.dcm', 527000, 1
       FROM generate_series(1, $4::int) g, generate_series(1, $5::int) s, generate_series(1, $6::int) i`,
    [poolId, tag, tag.replace(/\D/g, '') || '1', studies, series, perSeries],
  );
}

async function main() {
  const url = await resetTestDatabase(DB);
  Object.assign(process.env, { TRIBUTARY_MODE: 'test', DATABASE_URL: url, LOG_LEVEL: 'error', TRIBUTARY_SECRET: 'bench-secret-bench-secret-bench-secret-2', REDIS_PREFIX: `tributary-bench-browse-${process.pid}` });
  const { db } = await import('../../lib/db');
  const { DEFAULT_RULES } = await import('../../lib/anonymize/rules');
  const { listStudies } = await import('../../lib/pools/studies');
  const { STUDY_SORTS, studyListQuerySchema } = await import('../../lib/pools/schema');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const makePool = (i: number) =>
      db.pool.create({ data: { name: `Bench pool ${i}`, aeTitle: `BENCH${i}`, secret: 'x'.repeat(64), rules: DEFAULT_RULES as object, ruleVersions: { create: { version: 1, rules: DEFAULT_RULES as object } } } });
    const target = await makePool(0);
    let t0 = process.hrtime.bigint();
    await fillPool(client, target.id, 'p0', STUDIES, SERIES, PER_SERIES);
    for (let i = 1; i <= OTHERS; i++) await fillPool(client, (await makePool(i)).id, `p${i}`, STUDIES, 1, 5);
    await client.query('ANALYZE');
    const counts = (await client.query(`SELECT (SELECT count(*) FROM "Study") AS studies, (SELECT count(*) FROM "Instance") AS instances, (SELECT count(*) FROM "Instance" WHERE "poolId" = $1) AS mine`, [target.id])).rows[0] as Record<string, string>;
    process.stdout.write(
      `built in ${(ms(t0) / 1000).toFixed(1)} s: pool of ${STUDIES} studies / ${Number(counts.mine).toLocaleString('en-US')} instances; ` +
        `database ${Number(counts.studies).toLocaleString('en-US')} studies / ${Number(counts.instances).toLocaleString('en-US')} instances in ${OTHERS + 1} pools\n`,
    );

    // --- the same-run reference: the two statements by hand, through pg ---
    const refCount = await median(() => client.query('SELECT count(*) FROM "Study" WHERE "poolId" = $1', [target.id]));
    const refPage = await median(() => client.query('SELECT * FROM "Study" WHERE "poolId" = $1 ORDER BY "studyDate" DESC, id DESC LIMIT 50', [target.id]));
    const plan = (await client.query('EXPLAIN SELECT * FROM "Study" WHERE "poolId" = $1 ORDER BY "studyDate" DESC, id DESC LIMIT 50', [target.id])).rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']);
    const reference = refCount + refPage;
    process.stdout.write(`reference (pg, same run): count(*) ${refCount.toFixed(2)} ms + first page ${refPage.toFixed(2)} ms = ${reference.toFixed(2)} ms\n`);
    process.stdout.write(`  plan of the first page: ${plan.map((l) => l.trim()).filter((l) => /Scan|Sort|Limit/.test(l)).join(' | ')}\n\n`);

    const cases: { label: string; query: Record<string, string> }[] = [];
    const lastPage = (size: number) => String(Math.max(1, Math.ceil(STUDIES / size)));
    for (const sort of STUDY_SORTS) {
      for (const dir of ['desc', 'asc']) {
        cases.push({ label: `sort ${sort} ${dir}, first page`, query: { sort, dir } });
        cases.push({ label: `sort ${sort} ${dir}, last page (${lastPage(50)})`, query: { sort, dir, page: lastPage(50) } });
      }
    }
    for (const size of ['25', '100', '200']) cases.push({ label: `page size ${size}, last page`, query: { pageSize: size, page: lastPage(Number(size)) } });
    cases.push(
      { label: 'search description "chest"', query: { q: 'chest' } },
      { label: 'search research ID "TRB-000123"', query: { q: 'TRB-000123' } },
      { label: 'search, no match', query: { q: 'no such study' } },
      { label: 'search "chest", last page', query: { q: 'chest', page: '10' } },
      { label: 'modality SR', query: { modality: 'SR' } },
      { label: 'modality CT, sort by research ID', query: { modality: 'CT', sort: 'patientId', dir: 'asc' } },
    );

    const rows: { label: string; ms: number; total: number; shown: number }[] = [];
    for (const c of cases) {
      const q = studyListQuerySchema.parse(c.query);
      let total = 0;
      let shown = 0;
      const t = await median(async () => {
        const r = await listStudies(target.id, q);
        total = r.total;
        shown = r.rows.length;
      });
      rows.push({ label: c.label, ms: t, total, shown });
    }
    const w = Math.max(...rows.map((r) => r.label.length));
    process.stdout.write(`${'listStudies (Prisma, page + count)'.padEnd(w)}  ${'median ms'.padStart(9)}  ${'x ref'.padStart(6)}  rows/total\n`);
    for (const r of rows) {
      process.stdout.write(`${r.label.padEnd(w)}  ${r.ms.toFixed(2).padStart(9)}  ${(r.ms / reference).toFixed(1).padStart(6)}  ${r.shown}/${r.total}\n`);
    }
    const worst = rows.reduce((a, b) => (b.ms > a.ms ? b : a));
    process.stdout.write(`\nslowest: ${worst.label} ${worst.ms.toFixed(2)} ms (${(worst.ms / reference).toFixed(1)} x reference); ${os.cpus().length} cores, median of ${RUNS}\n`);
  } finally {
    await client.end();
    await db.$disconnect();
    if (!args.includes('--keep')) await dropDatabase(DB);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
