/**
 * Auditing DICOMweb reads without flooding the log: a viewer fetches a study as hundreds of
 * requests (one per instance, frame or metadata call). Each (user, study, kind) is recorded once
 * per AUDIT_WINDOW_SECONDS, using a Redis key as the "already recorded" flag. Ids only: the
 * study's database id, never its UIDs.
 */
import { audit, type AuditAction } from '../audit';
import { logger } from '../logger';
import { key, redis } from '../redis';

const log = logger('dicomweb');
export const AUDIT_WINDOW_SECONDS = 15 * 60;

export type ReadKind = 'qido' | 'retrieve' | 'metadata' | 'frames' | 'bulkdata' | 'wado-uri';

export async function auditOnce(e: {
  userId: string;
  poolId: string;
  action: AuditAction;
  kind: ReadKind;
  targetType?: string;
  targetId?: string;
  detail?: Record<string, string | number | boolean | null>;
}): Promise<void> {
  try {
    const flag = key('dicomweb-audit', e.userId, e.poolId, e.targetId ?? '-', e.kind);
    const first = await redis().set(flag, '1', 'EX', AUDIT_WINDOW_SECONDS, 'NX');
    if (first !== 'OK') return;
  } catch (err) {
    // Redis down: record every time rather than lose the event.
    log.warn('audit de-duplication unavailable', { err });
  }
  await audit({
    userId: e.userId,
    action: e.action,
    poolId: e.poolId,
    targetType: e.targetType,
    targetId: e.targetId,
    detail: { via: 'dicomweb', kind: e.kind, ...(e.detail ?? {}) },
  });
}
