/**
 * Browsing endpoints aimed at pool B: its series (thumbnail) and its study (zip downloads), in
 * pool B's path and, named by id, inside pool A's.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { db } from '@/lib/db';
import { storageRoot } from '@/lib/storage';
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => {
  const before = await db.auditEvent.count({ where: { poolId: w.poolB.id, action: 'study.download' } });
  return {
    params: { seriesId: w.ids.seriesB },
    subIds: { seriesId: async (poolId) => (await db.series.count({ where: { id: w.ids.seriesB, poolId } })) > 0 },
    bodies: { downloadStudies: { studyIds: [w.ids.studyB] } },
    // In pool A, B's study in a selection: the whole download is refused (nothing zipped).
    crossInputs: {
      downloadStudies: { body: { studyIds: [w.ids.studyB] } },
      downloadStudiesLink: { query: { studyIds: w.ids.studyB } },
    },
    markers: [w.ids.seriesB],
    // Nothing of pool B was zipped (audited as downloaded) or rendered as a thumbnail.
    check: async () => {
      expect(await db.auditEvent.count({ where: { poolId: w.poolB.id, action: 'study.download' } })).toBe(before);
      await expect(fs.stat(path.join(storageRoot(), 'thumbs', w.poolB.id))).rejects.toThrow();
    },
  };
};

export default extend;
