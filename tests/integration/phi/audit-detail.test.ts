/** Audit rows: an identity-like detail key never keeps its value (second line of defence, as in the logger). */
import { describe, expect, it } from 'vitest';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db';
import { makePool } from '../../helpers/fixtures';

describe('audit detail', () => {
  it('stores identity-like keys as [redacted] and keeps ids and counts', async () => {
    const pool = await makePool();
    await audit({ action: 'query.submit', poolId: pool.id, targetType: 'query', targetId: 'q1', detail: { rows: 3, patientId: '0012345', accessionNumber: 'ACC77', studyInstanceUid: '1.2.3.4' } });
    const row = await db.auditEvent.findFirstOrThrow({ where: { poolId: pool.id, action: 'query.submit' } });
    expect(row.detail).toEqual({ rows: 3, patientId: '[redacted]', accessionNumber: '[redacted]', studyInstanceUid: '[redacted]' });
    expect(JSON.stringify(row)).not.toMatch(/0012345|ACC77|1\.2\.3\.4/);
  });
});
