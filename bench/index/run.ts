/**
 * bench/index — the pool index at hospital scale (issue 14, goal 6).
 *
 *   npx tsx bench/index/run.ts [--instances 10000000] [--pools 100] [--series 1-6] [--per-series 20-500] [--runs 11] [--ingest 10000] [--db tributary_bench_index] [--keep]
 *   npm run bench:index -- --instances 1000000          (or INDEX_INSTANCES=1e6)
 *
 * Builds a scratch database (its own name; dropped, re-created and migrated with the project's
 * migrations, dropped again at the end unless --keep) and measures:
 *
 * 1. ingest on the EMPTY database: --ingest instances through lib/receive/ingest.ts
 *    indexDeidentified (the receive path: study and series upserts, instance row and the study's
 *    recount in a transaction, per instance) and as many through indexPlacedBatch (a retrieval's
 *    pipeline: 16 instances and one recount per transaction); twice, the second round counts
 *    (the first is the warm-up);
 * 2. fills it with set-based INSERT … SELECT generate_series (never row by row) to about
 *    --instances instances in --pools pools (pool k gets a share ∝ 1/(k+1): one large pool, a
 *    long tail), studies of 1–6 series of 20–500 instances, research IDs shared by ~1.3 studies,
 *    names, StudyDates over 15 years, a modality mix; then ANALYZE;
 * 3. the pool study list (lib/pools/studies.ts listStudies) on the largest pool and a median
 *    pool: every sort × direction, first/middle/last page, 50 and 200 per page, with and without
 *    a search term — p50/p95 of --runs calls after a warm-up;
 * 4. QIDO-RS study search (lib/dicomweb/qido.ts search, what /dicomweb/{pool}/studies runs):
 *    PatientID exact, StudyDate range, ModalitiesInStudy, PatientName wildcard — p50/p95;
 * 5. ingest on the FULL database, same code, same count, twice, into the largest pool; ratio of the
 *    second rounds to (1)'s.
 *
 * Targets printed beside the figures: study list p95 < 50 ms, QIDO p95 < 100 ms, ingest at
 * full ≥ 0.8 × empty. Then EXPLAIN (ANALYZE, BUFFERS) of the key statements (--no-explain skips
 * them). Never fails on timing. Needs PostgreSQL (TEST_ADMIN_DATABASE_URL or
 * postgres@127.0.0.1) and Redis (the audit de-duplication flag of the QIDO search; own prefix).
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
const INSTANCES = opt('instances', Number(process.env.INDEX_INSTANCES ?? process.env.BENCH_INDEX_INSTANCES ?? 10_000_000)); // INDEX_INSTANCES=1e6 for a quick run
const POOLS = opt('pools', 100);
const RUNS = opt('runs', 11);
const INGEST = opt('ingest', 10_000);
const DB = str('db', process.env.BENCH_DATABASE_NAME ?? 'tributary_bench_index');
if (!/^[a-z0-9_]+$/.test(DB) || DB === 'tributary' || DB === 'postgres') throw new Error(`refusing database name ${DB}: give a scratch name`);

const range = (name: string, def: [number, number]): [number, number] => {
  const v = str(name, '');
  const m = /^(\d+)-(\d+)$/.exec(v);
  if (!v) return def;
  if (!m || Number(m[1]) < 1 || Number(m[2]) < Number(m[1])) throw new Error(`--${name} wants a range like 1-6`);
  return [Number(m[1]), Number(m[2])];
};
/** Series per study and instances per series (default 1–6 and 20–500: ≈ 910 instances a study). */
const SERIES = range('series', [1, 6]);
const PER_SERIES = range('per-series', [20, 500]);
const PER_STUDY = ((SERIES[0] + SERIES[1]) / 2) * ((PER_SERIES[0] + PER_SERIES[1]) / 2);
const STUDY_LIST_TARGET = 50;
const QIDO_TARGET = 100;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const out = (s: string) => process.stdout.write(`${s}\n`);

async function timed(fn: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  await fn(); // warm-up: plans, caches, Prisma's first use
  const ts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(ms(t0));
  }
  ts.sort((a, b) => a - b);
  const at = (p: number) => ts[Math.min(ts.length - 1, Math.ceil(p * ts.length) - 1)];
  return { p50: at(0.5), p95: at(0.95) };
}

/** Every table in one set-based statement per level; instances one statement per pool. */
async function fill(client: pg.Client, pools: { id: string; studies: number }[]) {
  const ids = pools.map((p) => p.id);
  const counts = pools.map((p) => p.studies);
  // h: a deterministic pseudo-random number per study, from its ordinal.
  await client.query(
    `INSERT INTO "Study" (id, "poolId", "studyInstanceUid", "patientId", "patientName", "patientSex", "patientBirthDate", "studyDate", "studyTime", "studyDescription", "accessionNumber", modalities, "createdAt", "updatedAt")
     SELECT p.id || '-st' || g, p.id, '2.25.9' || p.k || '.' || g,
            'TRB-' || p.k || '-' || lpad(((g * 7919) % (p.n * 3 / 4 + 1))::text, 7, '0'),
            (ARRAY['SMITH','JONES','GARCIA','MUELLER','ROSSI','DUBOIS','NGUYEN','KOWALSKI','SILVA','JANSEN','OKAFOR','TANAKA','LARSEN','BROWN','MARTIN','HOFFMANN','NOVAK','IVANOV','COHEN','WALSH'])[1 + (g * 7919) % 20]
              || '^' || (ARRAY['ANNA','JOHN','MARIA','PETER','LENA','JOSE','EMMA','LUCA','SARA','DAVID','NINA','OMAR','EVA','PAUL','MIA','IGOR','ZOE','LIAM','AMY','HUGO'])[1 + ((g * 7919) / 20) % 20],
            (ARRAY['F','M','O'])[1 + g % 3], '',
            to_char(date '2011-01-01' + ((g::bigint * 2654435761) % 5479)::int, 'YYYYMMDD'),
            lpad(((g * 13) % 24)::text, 2, '0') || lpad(((g * 7) % 60)::text, 2, '0') || '00',
            (ARRAY['CT CHEST WITH CONTRAST','MR KNEE LEFT','CT HEAD','US ABDOMEN','CR CHEST PA','MR BRAIN','PET-CT WHOLE BODY','DX HAND','MG SCREENING',''])[1 + (g * 31) % 10],
            'ACC' || p.k || '-' || g,
            (ARRAY['CT','MR','CT','US','CR','MR','CT\\PT','DX','MG','CT\\SR'])[1 + (g * 31) % 10],
            now() - (g || ' minutes')::interval, now()
       FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS p(id, n, k), generate_series(1, p.n) g`,
    [ids, counts],
  );
  await client.query(
    `INSERT INTO "Series" (id, "studyId", "poolId", "seriesInstanceUid", modality, "seriesNumber", "seriesDescription", "numInstances")
     SELECT st.id || '-' || s, st.id, st."poolId", st."studyInstanceUid" || '.' || s, split_part(st.modalities, '\\', 1 + (s - 1) % 2), s, 'SERIES ' || s,
            $3::int + abs(hashtext(st.id || '-' || s)) % $4::int
       FROM "Study" st, generate_series(1, $1::int + abs(hashtext(st.id)) % $2::int) s`,
    [SERIES[0], SERIES[1] - SERIES[0] + 1, PER_SERIES[0], PER_SERIES[1] - PER_SERIES[0] + 1],
  );
  for (const p of pools) {
    await client.query(
      `INSERT INTO "Instance" (id, "seriesId", "poolId", "sopInstanceUid", "sopClassUid", "instanceNumber", "transferSyntaxUid", rows, columns, path, size, "ruleVersion")
       SELECT se.id || '-' || i, se.id, se."poolId", se."seriesInstanceUid" || '.' || i, '1.2.840.10008.5.1.4.1.1.2', i, '1.2.840.10008.1.2.1', 512, 512,
              'pools/' || se."poolId" || '/' || se.id || '/' || i || '.dcm', 527000, 1
         FROM "Series" se, generate_series(1, se."numInstances") i
        WHERE se."poolId" = $1`,
      [p.id],
    );
  }
  await client.query(
    `UPDATE "Study" st SET "numSeries" = a.ns, "numInstances" = a.ni
       FROM (SELECT "studyId", count(*)::int AS ns, sum("numInstances")::int AS ni FROM "Series" GROUP BY "studyId") a
      WHERE a."studyId" = st.id`,
  );
  await client.query('VACUUM ANALYZE');
}

async function main() {
  const url = await resetTestDatabase(DB);
  const redisPrefix = `tributary-bench-index-${process.pid}`;
  Object.assign(process.env, { TRIBUTARY_MODE: 'test', DATABASE_URL: url, LOG_LEVEL: 'error', TRIBUTARY_SECRET: 'bench-secret-bench-secret-bench-secret-2', REDIS_PREFIX: redisPrefix });
  const { db } = await import('../../lib/db');
  const { redis } = await import('../../lib/redis');
  const { DEFAULT_RULES } = await import('../../lib/anonymize/rules');
  const { listStudies } = await import('../../lib/pools/studies');
  const { indexDeidentified, indexPlacedBatch } = await import('../../lib/receive/ingest');
  const { search } = await import('../../lib/dicomweb/qido');
  const { STUDY_SORTS, studyListQuerySchema } = await import('../../lib/pools/schema');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const makePool = (i: number) =>
      db.pool.create({ data: { name: `Bench pool ${i}`, aeTitle: `BIDX${i}`, secret: 'x'.repeat(64), rules: DEFAULT_RULES as object, ruleVersions: { create: { version: 1, rules: DEFAULT_RULES as object } } } });

    /** INGEST instances through indexDeidentified: studies of 2 series × 50, 4 at a time. */
    let ingestRound = 0;
    const ingest = async (poolId: string): Promise<number> => {
      const r = ++ingestRound;
      const perStudy = 100;
      const studies = Math.ceil(INGEST / perStudy);
      let next = 0;
      const t0 = process.hrtime.bigint();
      const lane = async () => {
        for (let s = next++; s < studies; s = next++) {
          for (let i = 0; i < perStudy && s * perStudy + i < INGEST; i++) {
            const se = 1 + (i % 2);
            await indexDeidentified({
              poolId,
              path: `pools/${poolId}/ingest${r}/${s}/${i}.dcm`,
              size: 527000,
              sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
              transferSyntaxUid: '1.2.840.10008.1.2.1',
              targetUids: { study: `2.25.77${r}.${s}`, series: `2.25.77${r}.${s}.${se}`, sop: `2.25.77${r}.${s}.${se}.${i}` },
              index: { patientId: `TRB-NEW-${s % 50}`, patientName: 'NEW^PATIENT', studyDate: '20250101', modality: 'CT', seriesNumber: se, instanceNumber: i, rows: 512, columns: 512 },
              identity: { researchId: `TRB-NEW-${s % 50}`, researchName: 'NEW^PATIENT' },
              ruleVersion: 1,
            });
          }
        }
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
      return INGEST / (ms(t0) / 1000);
    };
    /**
     * INGEST instances through indexPlacedBatch, what a retrieval's pipeline runs (lib/retrievals):
     * batches of 16 instances of one study (its counts written once per batch), 2 lanes at once.
     * The files are not touched (the batch indexer only indexes a placed file's path).
     */
    const ingestBatched = async (poolId: string): Promise<number> => {
      const r = ++ingestRound;
      const perStudy = 100;
      const batch = 16;
      const studies = Math.ceil(INGEST / perStudy);
      let next = 0;
      const t0 = process.hrtime.bigint();
      const summary = { removed: 0, emptied: 0, replaced: 0, kept: 0, shifted: 0, uidRemapped: 0, cleaned: 0, added: 0, methodCodes: [] as string[] };
      const lane = async () => {
        for (let s = next++; s < studies; s = next++) {
          const n = Math.min(perStudy, INGEST - s * perStudy);
          for (let b = 0; b < n; b += batch) {
            const items = Array.from({ length: Math.min(batch, n - b) }, (_, j) => {
              const i = b + j;
              const se = 1 + (i % 2);
              const targetUids = { study: `2.25.78${r}.${s}`, series: `2.25.78${r}.${s}.${se}`, sop: `2.25.78${r}.${s}.${se}.${i}` };
              return {
                rel: `pools/${poolId}/batch${r}/${s}/${i}.dcm`,
                sourceStudyUid: `1.2.3.${r}.${s}`,
                sourceSeriesUid: `1.2.3.${r}.${s}.${se}`,
                sourceSopUid: `1.2.3.${r}.${s}.${se}.${i}`,
                res: {
                  summary,
                  changed: [],
                  sourceUids: { study: `1.2.3.${r}.${s}`, series: `1.2.3.${r}.${s}.${se}`, sop: `1.2.3.${r}.${s}.${se}.${i}`, patientId: `P${s % 50}` },
                  targetUids,
                  sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
                  transferSyntaxUid: '1.2.840.10008.1.2.1',
                  size: 527000,
                  written: 'out' as const,
                  index: { patientId: `TRB-NEW-${s % 50}`, patientName: 'NEW^PATIENT', studyDate: '20250101', modality: 'CT', seriesNumber: se, instanceNumber: i, rows: 512, columns: 512 },
                },
              };
            });
            await indexPlacedBatch({ pool: { id: poolId, ruleVersion: 1 }, identity: { researchId: `TRB-NEW-${s % 50}`, researchName: 'NEW^PATIENT' }, sourcePatientId: `P${s % 50}`, items });
          }
        }
      };
      await Promise.all([lane(), lane()]);
      return INGEST / (ms(t0) / 1000);
    };
    /**
     * Both ingest paths twice into fresh pools (deleted afterwards); the second round is the figure:
     * the first pays Prisma's and PostgreSQL's warm-up (plans, caches), which made the first
     * measured rate, on the empty database, look slower than the full one.
     */
    const ingestBoth = async (label: string, poolFor: (round: number) => Promise<string>, keep: boolean) => {
      let rates = { single: 0, batched: 0 };
      for (let round = 1; round <= 2; round++) {
        const poolId = await poolFor(round);
        const single = await ingest(poolId);
        const batched = await ingestBatched(poolId);
        out(`ingest on the ${label} database, round ${round}${round === 1 ? ' (warm-up)' : ''}: ${INGEST.toLocaleString('en-US')} instances each, indexDeidentified ${single.toFixed(0)} rows/s, indexPlacedBatch ×16 ${batched.toFixed(0)} rows/s`);
        rates = { single, batched };
        if (!keep) await client.query(`DELETE FROM "Study" WHERE "poolId" = $1`, [poolId]);
      }
      return rates;
    };

    const empty = await ingestBoth('empty', async (round) => (await makePool(900 + round)).id, false);

    // --- fill ---
    const weights = Array.from({ length: POOLS }, (_, k) => 1 / (k + 1));
    const wsum = weights.reduce((a, b) => a + b, 0);
    const pools: { id: string; studies: number }[] = [];
    for (let k = 0; k < POOLS; k++) pools.push({ id: (await makePool(k)).id, studies: Math.max(1, Math.round((INSTANCES * weights[k]) / wsum / PER_STUDY)) });
    let t0 = process.hrtime.bigint();
    await fill(client, pools);
    const tot = (await client.query(`SELECT (SELECT count(*) FROM "Study") AS studies, (SELECT count(*) FROM "Series") AS series, (SELECT count(*) FROM "Instance") AS instances, pg_size_pretty(pg_database_size(current_database())) AS size`)).rows[0] as Record<string, string>;
    const perPool = (await client.query(`SELECT "poolId" AS id, count(*)::int AS studies, sum("numInstances")::int AS instances FROM "Study" GROUP BY "poolId" ORDER BY 3 DESC`)).rows as { id: string; studies: number; instances: number }[];
    const largest = perPool[0];
    const median = perPool[Math.floor(perPool.length / 2)];
    out(
      `built in ${(ms(t0) / 1000).toFixed(0)} s: ${Number(tot.instances).toLocaleString('en-US')} instances, ${Number(tot.series).toLocaleString('en-US')} series, ` +
        `${Number(tot.studies).toLocaleString('en-US')} studies in ${POOLS} pools (${tot.size}); largest pool ${largest.studies.toLocaleString('en-US')} studies / ${largest.instances.toLocaleString('en-US')} instances, ` +
        `median pool ${median.studies} studies / ${median.instances.toLocaleString('en-US')} instances`,
    );

    // --- (1) pool study list ---
    type Row = { label: string; p50: number; p95: number; note: string };
    const print = (title: string, rows: Row[], target: number) => {
      const w = Math.max(title.length, ...rows.map((r) => r.label.length));
      out(`\n${title.padEnd(w)}  ${'p50 ms'.padStart(8)}  ${'p95 ms'.padStart(8)}  target p95 < ${target} ms`);
      for (const r of rows) out(`${r.label.padEnd(w)}  ${r.p50.toFixed(1).padStart(8)}  ${r.p95.toFixed(1).padStart(8)}  ${r.p95 < target ? 'ok' : 'MISSED'}  ${r.note}`);
      const worst = rows.reduce((a, b) => (b.p95 > a.p95 ? b : a));
      const missed = rows.filter((r) => r.p95 >= target).length;
      out(`worst p95: ${worst.label} ${worst.p95.toFixed(1)} ms; ${missed} of ${rows.length} over the target`);
    };
    for (const [name, pool] of [['largest', largest], ['median', median]] as const) {
      const rows: Row[] = [];
      for (const size of [50, 200]) {
        const last = Math.max(1, Math.ceil(pool.studies / size));
        const pages = [...new Set([1, Math.max(1, Math.ceil(last / 2)), last])];
        for (const sort of STUDY_SORTS) {
          for (const dir of ['desc', 'asc']) {
            for (const page of pages) {
              const q = studyListQuerySchema.parse({ sort, dir, page: String(page), pageSize: String(size) });
              let note = '';
              const t = await timed(async () => {
                const r = await listStudies(pool.id, q);
                note = `${r.rows.length}/${r.totalEstimated ? '~' : ''}${r.total}`;
              });
              rows.push({ label: `${sort} ${dir} p${page}/${last} ×${size}`, ...t, note });
            }
          }
        }
        for (const [term, what] of [['chest', 'description'], ['TRB-1-00000', 'research ID'], ['smith', 'name'], ['no such study', 'no match']]) {
          for (const page of [1, 3]) {
            const q = studyListQuerySchema.parse({ q: term, page: String(page), pageSize: String(size) });
            let note = '';
            const t = await timed(async () => {
              const r = await listStudies(pool.id, q);
              note = `${r.rows.length}/${r.totalEstimated ? '~' : ''}${r.total}`;
            });
            rows.push({ label: `search ${what} "${term}" p${page} ×${size}`, ...t, note });
          }
        }
      }
      print(`listStudies, ${name} pool (${pool.studies} studies)`, rows, STUDY_LIST_TARGET);
    }

    // --- (2) QIDO-RS study search, through lib/dicomweb/qido.ts search ---
    const user = await db.user.create({ data: { email: 'bench-index@example.invalid', name: 'Bench', passwordHash: 'x', role: 'ADMIN' } });
    const poolRow = await db.pool.findUniqueOrThrow({ where: { id: largest.id } });
    const root = `http://bench.invalid/dicomweb/${largest.id}`;
    const samplePid = ((await client.query(`SELECT "patientId" FROM "Study" WHERE "poolId" = $1 ORDER BY id LIMIT 1 OFFSET $2`, [largest.id, Math.floor(largest.studies / 2)])).rows[0] as { patientId: string }).patientId;
    const qido = async (qs: string) => {
      const u = new URL(`${root}/studies?${qs}`);
      const res = await search(
        {
          req: new Request(u, { headers: { accept: 'application/dicom+json' } }),
          url: u,
          actor: { userId: user.id } as never,
          pool: poolRow,
          scope: { poolId: largest.id, studyUids: null },
          params: {},
          root,
        },
        'study',
      );
      return ((await res.json()) as unknown[]).length;
    };
    const qcases: [string, string][] = [
      ['PatientID exact', `PatientID=${encodeURIComponent(samplePid)}`],
      ['StudyDate range (1 month)', 'StudyDate=20180301-20180331'],
      ['StudyDate range (1 year), limit 100', 'StudyDate=20180101-20181231&limit=100'],
      ['ModalitiesInStudy=MR, limit 100', 'ModalitiesInStudy=MR&limit=100'],
      ['ModalitiesInStudy=PT (in CT\\PT)', 'ModalitiesInStudy=PT&limit=100'],
      ['PatientName fuzzy "smi*"', 'PatientName=smi*&fuzzymatching=true&limit=100'],
      ['PatientName "*anna*"', 'PatientName=*anna*&limit=100'],
      ['PatientName + StudyDate + Modality', 'PatientName=jones*&StudyDate=20150101-20201231&ModalitiesInStudy=CT&limit=100'],
      ['no filter, limit 100, offset 1000', 'limit=100&offset=1000'],
    ];
    const qrows: Row[] = [];
    for (const [label, qs] of qcases) {
      let n = 0;
      const t = await timed(async () => {
        n = await qido(qs);
      });
      qrows.push({ label, ...t, note: `${n} results` });
    }
    print(`QIDO-RS /studies, largest pool`, qrows, QIDO_TARGET);

    // --- (3) ingest on the full database ---
    out('');
    const studyUpdates = async () => (await client.query(`SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'Study'`)).rows[0] as { upd: number; hot: number };
    const upd0 = await studyUpdates();
    const full = await ingestBoth('full', async () => largest.id, true);
    // Statistics reach pg_stat_user_tables when a backend goes idle (at most ~10 s later).
    await new Promise((r) => setTimeout(r, 11_000));
    const upd1 = await studyUpdates();
    out(`Study row updates during the full-database ingest (recounts): ${upd1.upd - upd0.upd}, HOT (no index entry written) ${upd1.hot - upd0.hot}`);
    for (const [what, e, f] of [['indexDeidentified (4 lanes)', empty.single, full.single], ['indexPlacedBatch ×16 (2 lanes)', empty.batched, full.batched]] as const) {
      const ratio = f / e;
      out(`ingest, ${INGEST.toLocaleString('en-US')} instances through ${what}, second rounds: empty ${e.toFixed(0)} rows/s, full ${f.toFixed(0)} rows/s, ratio ${ratio.toFixed(2)} (target ≥ 0.80: ${ratio >= 0.8 ? 'ok' : 'MISSED'})`);
    }
    // --- plans of the key statements (hand-written equivalents of what Prisma / qido.ts send) ---
    if (!args.includes('--no-explain')) {
      const mid = Math.max(0, Math.floor(largest.studies / 100) * 50);
      const search = `("patientId" ILIKE '%chest%' OR "patientName" ILIKE '%chest%' OR "studyDescription" ILIKE '%chest%' OR "accessionNumber" ILIKE '%chest%')`;
      // What listStudies sends (lib/pools/studies.ts): the page's ids, then its rows by id, and a
      // count that stops at STUDY_COUNT_EXACT_UP_TO + 1.
      const plans: [string, string, unknown[]][] = [
        ['study list ids, studyDate desc, first page', `SELECT id FROM "Study" WHERE "poolId" = $1 ORDER BY "studyDate" DESC, id DESC LIMIT 50`, [largest.id]],
        ['study list ids, studyDate desc, middle page (OFFSET)', `SELECT id FROM "Study" WHERE "poolId" = $1 ORDER BY "studyDate" DESC, id DESC LIMIT 50 OFFSET ${mid}`, [largest.id]],
        ['study list ids, studyDate desc, last page (read from the other end)', `SELECT id FROM "Study" WHERE "poolId" = $1 ORDER BY "studyDate" ASC, id ASC LIMIT 50 OFFSET 0`, [largest.id]],
        ['study list ids, numInstances desc, middle page', `SELECT id FROM "Study" WHERE "poolId" = $1 ORDER BY "numInstances" DESC, id DESC LIMIT 50 OFFSET ${mid}`, [largest.id]],
        ['study list ids, studyDescription asc, first page', `SELECT id FROM "Study" WHERE "poolId" = $1 ORDER BY "studyDescription" ASC, id ASC LIMIT 50`, [largest.id]],
        ['study list capped count', `SELECT count(*) FROM (SELECT 1 FROM "Study" WHERE "poolId" = $1 LIMIT 20001) x`, [largest.id]],
        ['study list capped count with a search', `SELECT count(*) FROM (SELECT 1 FROM "Study" WHERE "poolId" = $1 AND ${search} LIMIT 20001) x`, [largest.id]],
        ['study list ids with a search, first page', `SELECT id FROM "Study" WHERE "poolId" = $1 AND ${search} ORDER BY "studyDate" DESC, id DESC LIMIT 50`, [largest.id]],
        ['study list ids with a rare search (research ID)', `SELECT id FROM "Study" WHERE "poolId" = $1 AND ("patientId" ILIKE '%TRB-1-00000%' OR "patientName" ILIKE '%TRB-1-00000%' OR "studyDescription" ILIKE '%TRB-1-00000%' OR "accessionNumber" ILIKE '%TRB-1-00000%') ORDER BY "studyDate" DESC, id DESC LIMIT 50`, [largest.id]],
        ['study list search page and exact count in one pass (rare research ID; listStudies since the count indexes)', `SELECT id, count(*) OVER ()::int AS n FROM (SELECT id, "patientId", "studyDate", "studyDescription", modalities, "numSeries", "numInstances", "createdAt" FROM "Study" WHERE "poolId" = $1 AND ("patientId" ILIKE '%TRB-1-00000%' OR "patientName" ILIKE '%TRB-1-00000%' OR "studyDescription" ILIKE '%TRB-1-00000%' OR "accessionNumber" ILIKE '%TRB-1-00000%') LIMIT 2001) m ORDER BY "studyDate" DESC, id DESC LIMIT 50`, [largest.id]],
        ['QIDO PatientID exact', `SELECT * FROM "Study" st WHERE st."poolId" = $1 AND st."patientId" = $2 ORDER BY st."studyDate" DESC, st."studyTime" DESC, st.id LIMIT 101`, [largest.id, samplePid]],
        ['QIDO ModalitiesInStudy', `SELECT * FROM "Study" st WHERE st."poolId" = $1 AND string_to_array(st.modalities, '\\') && ARRAY['PT'] ORDER BY st."studyDate" DESC, st."studyTime" DESC, st.id LIMIT 101`, [largest.id]],
        ['QIDO PatientName *anna*', `SELECT * FROM "Study" st WHERE st."poolId" = $1 AND st."patientName" ILIKE '%anna%' ORDER BY st."studyDate" DESC, st."studyTime" DESC, st.id LIMIT 101`, [largest.id]],
      ];
      for (const [label, text, params] of plans) {
        const r = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
        out(`\nEXPLAIN (ANALYZE, BUFFERS): ${label}`);
        for (const row of r.rows as { 'QUERY PLAN': string }[]) out(`  ${row['QUERY PLAN']}`);
      }
      // What a recount writes (the ingest cost of the indexes on Study), independent of the
      // machine's load: the count update of the studies ingested above (a changed count, as
      // every recount after a new instance), its WAL records and bytes, rolled back.
      await client.query('BEGIN');
      try {
        const r = await client.query(
          `EXPLAIN (ANALYZE, BUFFERS, WAL) UPDATE "Study" SET "numInstances" = "numInstances" + 1, "updatedAt" = now() WHERE "poolId" = $1 AND "studyInstanceUid" LIKE '2.25.7%'`,
          [largest.id],
        );
        out(`\nEXPLAIN (ANALYZE, BUFFERS, WAL), rolled back: a recount's Study update, the studies ingested into the largest pool`);
        for (const row of r.rows as { 'QUERY PLAN': string }[]) out(`  ${row['QUERY PLAN']}`);
      } finally {
        await client.query('ROLLBACK');
      }
    }
    out(`\n${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${RUNS} runs after a warm-up per case, ${new Date().toISOString()}`);
  } finally {
    await client.end();
    await db.$disconnect();
    try {
      const r = redis();
      const keys = await r.keys(`${redisPrefix}*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    } catch {
      // Redis unreachable: nothing of ours to remove.
    }
    if (!args.includes('--keep')) await dropDatabase(DB);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
