/**
 * Run as a child process (tsx) with DATABASE_URL / STORAGE_ROOT of an installation: prints, as
 * JSON, what a pool serves — its study list as the pool page lists it, and the SHA-256 of every
 * instance's bytes as read through lib/storage. Lets a test compare two installations (e.g. the
 * original and a restored backup) through the same code the app uses.
 */
import { createHash } from 'node:crypto';
import { db } from '../../../lib/db';
import { studyListQuerySchema } from '../../../lib/pools/schema';
import { listStudies } from '../../../lib/pools/studies';
import { readFile } from '../../../lib/storage';

async function main() {
  const poolId = process.argv[2];
  const list = await listStudies(poolId, studyListQuerySchema.parse({ pageSize: 200 }));
  const instances = await db.instance.findMany({ where: { poolId }, orderBy: { sopInstanceUid: 'asc' } });
  const files: Record<string, string> = {};
  for (const i of instances) files[i.sopInstanceUid] = createHash('sha256').update(await readFile(i.path)).digest('hex');
  const studies = list.rows.map((s) => ({ uid: s.studyInstanceUid, instances: s.numInstances, patientId: s.patientId })).sort((a, b) => a.uid.localeCompare(b.uid));
  process.stdout.write(JSON.stringify({ total: list.total, studies, files }));
  await db.$disconnect();
}

main().catch((e) => {
  process.stderr.write(String(e instanceof Error ? e.stack : e));
  process.exit(1);
});
