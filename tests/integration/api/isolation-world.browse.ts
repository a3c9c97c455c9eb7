/** Browsing endpoints aimed at pool B: its series (thumbnail) and its study (zip downloads). */
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
    bodies: { downloadStudies: { studyIds: [w.ids.studyB] } },
    markers: [w.ids.seriesB],
    // Nothing of pool B was zipped (audited as downloaded) or rendered as a thumbnail.
    check: async () => {
      expect(await db.auditEvent.count({ where: { poolId: w.poolB.id, action: 'study.download' } })).toBe(before);
      await expect(fs.stat(path.join(storageRoot(), 'thumbs', w.poolB.id))).rejects.toThrow();
    },
  };
};

export default extend;
