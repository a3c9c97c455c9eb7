/**
 * The scratch database of bench/receive (run.ts, trace.ts): created and migrated under
 * BENCH_DATABASE_NAME (default bench_receive), with the fixtures the production SCP hooks need
 * (pools, the sending device and its connector, a MOVING retrieval per study), dropped by close().
 */
import fsp from 'node:fs/promises';
import path from 'node:path';

export async function emptyDir(dir: string) {
  for (const e of await fsp.readdir(dir).catch(() => [])) await fsp.rm(path.join(dir, e), { recursive: true, force: true });
}

/** Scratch database with the fixtures the production hooks need. */
export async function setupDatabase(work: string) {
  const dbName = process.env.BENCH_DATABASE_NAME ?? 'bench_receive';
  const { resetTestDatabase, dropDatabase } = await import('../../tests/helpers/database');
  const url = await resetTestDatabase(dbName);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TRIBUTARY_MODE: 'production',
    DATABASE_URL: url,
    TRIBUTARY_SECRET: process.env.TRIBUTARY_SECRET ?? 'bench-receive-secret-0123456789abcdef0123456789',
    STORAGE_ROOT: path.join(work, 'storage'),
    REDIS_PREFIX: process.env.BENCH_REDIS_PREFIX ?? 'bench-receive-',
    SECRETS_KEY: process.env.SECRETS_KEY ?? 'ab'.repeat(32),
  };
  Object.assign(process.env, env);
  const { db } = await import('../../lib/db');
  const { stagingDir } = await import('../../lib/storage');
  const rules = {} as object;
  const pool = (aeTitle: string, kind: 'RESEARCH' | 'INFRASTRUCTURE') =>
    db.pool.create({ data: { name: aeTitle, aeTitle, kind, secret: 'x'.repeat(64), rules, ruleVersions: { create: { version: 1, rules } } } });
  const research = await pool('BENCH_POOL', 'RESEARCH');
  const query = await pool('BENCH_Q', 'INFRASTRUCTURE');
  const receiving = await pool('TRIB_REAL', 'INFRASTRUCTURE');
  const connectors = new Map<string, string>();
  /** A connector whose PACS is the device `aeTitle`@127.0.0.1, receiving through TRIB_REAL. */
  const connectorFor = async (aeTitle: string) => {
    let id = connectors.get(aeTitle);
    if (!id) {
      const device = await db.device.create({ data: { name: aeTitle, aeTitle, host: '127.0.0.1', port: 104 } });
      id = (await db.connector.create({ data: { name: aeTitle, deviceId: device.id, queryPoolId: query.id, receivingPoolId: receiving.id, maxAssociations: 4 } })).id;
      connectors.set(aeTitle, id);
    }
    return id;
  };
  /** A MOVING retrieval of `studyUid` from the device `aeTitle`; returns its id. */
  const retrieval = async (aeTitle: string, studyUid: string) => {
    const connectorId = await connectorFor(aeTitle);
    const q = await db.query.create({
      data: { poolId: research.id, connectorId, status: 'DONE', items: { create: { rowNumber: 1, patientId: 'BENCH', status: 'DONE', resultCount: 1 } } },
      include: { items: true },
    });
    const result = await db.queryResult.create({ data: { queryId: q.id, itemId: q.items[0].id, studyInstanceUid: studyUid, patientId: 'BENCH' } });
    return (await db.retrieval.create({ data: { queryId: q.id, resultId: result.id, poolId: research.id, connectorId, studyInstanceUid: studyUid, state: 'MOVING' } })).id;
  };
  /** Rows, count and files of one retrieval; then forgets them for the next round. */
  const check = async (retrievalId: string) => {
    const rows = await db.stagedInstance.findMany({ where: { retrievalId }, select: { sopInstanceUid: true } });
    const r = await db.retrieval.findUniqueOrThrow({ where: { id: retrievalId }, select: { received: true } });
    return { rows: rows.length, distinct: new Set(rows.map((x) => x.sopInstanceUid)).size, received: r.received };
  };
  const reset = async (retrievalId: string) => {
    await db.stagedInstance.deleteMany({});
    await db.retrieval.update({ where: { id: retrievalId }, data: { received: 0 } });
    await emptyDir(stagingDir(receiving.id));
  };
  /** The PostgreSQL backends serving the scratch database (bench/cpu.ts reads their CPU time). */
  const backendPids = async () =>
    (await db.$queryRaw<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`).map((r) => r.pid);
  return {
    env,
    staging: stagingDir(receiving.id),
    backendPids,
    retrieval,
    check,
    reset,
    async close() {
      await db.$disconnect();
      await dropDatabase(dbName);
    },
  };
}

export type Database = Awaited<ReturnType<typeof setupDatabase>>;
