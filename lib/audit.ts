/**
 * Audit events: who did what to which pool and when. Ids and counts only; never PHI
 * (no names, MRNs, accession numbers, source UIDs) in action, targetId or detail.
 */
import { db, type Tx } from './db';
import { logger, redact } from './logger';

const log = logger('audit');

export type AuditAction =
  | 'user.signin'
  | 'user.signin-failed'
  | 'user.create'
  | 'user.update'
  | 'token.create'
  | 'token.revoke'
  | 'device.create'
  | 'device.update'
  | 'device.delete'
  | 'pool.create'
  | 'pool.update'
  | 'pool.delete'
  | 'pool.members-update'
  | 'pool.rules-update'
  | 'pool.view'
  | 'pool.identity-view'
  | 'pool.identity-export'
  | 'pool.deid-report-export'
  | 'connector.create'
  | 'connector.update'
  | 'connector.delete'
  | 'connector.echo'
  | 'query.submit'
  | 'query.rows-failed'
  | 'query.cancel'
  | 'query.retry'
  | 'retrieval.request'
  | 'retrieval.done'
  | 'retrieval.retry'
  | 'retrieval.cancel'
  | 'study.view'
  | 'study.download'
  | 'study.viewer-launch'
  | 'quarantine.release'
  | 'quarantine.drop'
  | 'quarantine.redact'
  | 'quarantine.auto-release'
  | 'export.create'
  | 'export.finish'
  | 'export.retry'
  | 'export.cancel'
  | 'job.retry'
  | 'job.remove'
  | 'dicomweb.stow'
  | 'dicomweb.stow-duplicate'
  | 'viewer.manifest-fetch'
  | 'pool.rules-preview'
  | 'pool.lookups-update'
  | 'pool.cli-anonymize'
  | 'cohort.create'
  | 'cohort.update'
  | 'cohort.delete'
  | 'cohort.test'
  | 'cohort.run'
  | 'secrets.rotate';

export async function audit(
  e: {
    userId?: string | null;
    action: AuditAction;
    poolId?: string | null;
    targetType?: string;
    targetId?: string;
    detail?: Record<string, string | number | boolean | null>;
  },
  tx: Tx = db,
): Promise<void> {
  try {
    await tx.auditEvent.create({
      data: {
        userId: e.userId ?? null,
        action: e.action,
        poolId: e.poolId ?? null,
        targetType: e.targetType ?? null,
        targetId: e.targetId ?? null,
        // Same second line of defence as the logger: identity-like keys never keep their value.
        detail: e.detail ? (redact(e.detail) as Record<string, string | number | boolean | null>) : undefined,
      },
    });
  } catch (err) {
    // An audit failure must be visible, but must not turn a completed action into an error.
    log.error('audit write failed', { action: e.action, err });
  }
}
