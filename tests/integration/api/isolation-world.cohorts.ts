/**
 * Database cohort sources: admin-owned, not pool resources. Pool A's members may not create,
 * change, test or delete one, and may run one only inside a pool they coordinate: running it
 * into pool B must be refused before the database is ever asked (the host here answers nothing).
 */
import { db } from '@/lib/db';
import { suffix } from '../../helpers/fixtures';
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => {
  const s = suffix();
  const body = {
    name: `cohort ${s}`,
    driver: 'POSTGRES',
    host: '127.0.0.1',
    port: 1,
    database: 'ris',
    user: 'reader',
    sql: 'SELECT mrn FROM exams WHERE d >= :from',
    parameters: [{ name: 'from', label: 'From', type: 'date' }],
    mapping: { patientId: 'mrn' },
    connectorId: w.ids.connector,
  };
  const source = await db.cohortSource.create({ data: { ...body, driver: 'POSTGRES', name: `cohort-b ${s}` } });
  return {
    resourcesB: { 'cohort-sources': source.id },
    bodies: {
      createCohortSource: body,
      updateCohortSource: { ...body, name: `hijacked ${s}` },
      runCohortSource: { poolId: w.poolB.id, parameters: { from: '2024-01-01' } },
    },
    check: async () => {
      const row = await db.cohortSource.findUniqueOrThrow({ where: { id: source.id } });
      if (row.name !== `cohort-b ${s}`) throw new Error('a cohort source was changed by a pool member');
      if (await db.query.count({ where: { cohortSourceId: source.id } })) throw new Error('a cohort source was run into another pool');
    },
    cleanup: async () => {
      await db.cohortSource.deleteMany({ where: { id: source.id } });
    },
  };
};

export default extend;
