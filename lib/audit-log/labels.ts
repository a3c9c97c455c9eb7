/**
 * Readable names for audit actions: the audit page and its CSV show "Signed in" rather than
 * `user.signin`. Every AuditAction has one (the Record type makes a missing one a type error).
 */
import type { AuditAction } from '../audit';

export const ACTION_LABELS: Record<AuditAction, string> = {
  'user.signin': 'Signed in',
  'user.signin-failed': 'Failed sign-in',
  'user.create': 'Created a user',
  'user.update': 'Changed a user',
  'token.create': 'Created an API token',
  'token.revoke': 'Revoked an API token',
  'device.create': 'Registered a device',
  'device.update': 'Changed a device',
  'device.delete': 'Deleted a device',
  'pool.create': 'Created a pool',
  'pool.update': 'Changed a pool',
  'pool.delete': 'Deleted a pool',
  'pool.members-update': 'Changed pool members',
  'pool.rules-update': 'Changed de-identification rules',
  'pool.view': 'Opened a pool',
  'pool.identity-view': 'Looked at identities',
  'pool.identity-export': 'Exported the identity map',
  'connector.create': 'Created a connector',
  'connector.update': 'Changed a connector',
  'connector.delete': 'Deleted a connector',
  'connector.echo': 'Tested a connection',
  'query.submit': 'Started a query',
  'query.rows-failed': 'Query rows failed',
  'query.cancel': 'Cancelled a query',
  'query.retry': 'Retried a query',
  'retrieval.request': 'Requested studies',
  'retrieval.done': 'A retrieval finished',
  'retrieval.retry': 'Retried a retrieval',
  'retrieval.cancel': 'Cancelled a retrieval',
  'study.view': 'Opened a study',
  'study.download': 'Downloaded a study',
  'study.viewer-launch': 'Opened a study in a viewer',
  'quarantine.release': 'Released a quarantined image',
  'quarantine.drop': 'Dropped a quarantined image',
  'export.create': 'Started an export to a destination',
  'export.finish': 'An export to a destination finished',
  'export.retry': 'Retried the failed instances of an export',
  'export.cancel': 'Cancelled an export',
  'job.retry': 'Retried a background job',
  'job.remove': 'Removed a background job',
  'dicomweb.stow': 'Uploaded images (STOW-RS)',
  'dicomweb.stow-duplicate': 'Upload refused: image already stored',
  'viewer.manifest-fetch': 'A viewer fetched a manifest',
  'pool.rules-preview': 'Previewed the rules',
  'pool.lookups-update': 'Changed a lookup table',
  'pool.cli-anonymize': 'De-identified files with the CLI',
  'pool.deid-report-export': 'Exported the de-identification report',
  'cohort.create': 'Created a cohort source',
  'cohort.update': 'Changed a cohort source',
  'cohort.delete': 'Deleted a cohort source',
  'cohort.test': 'Tested a cohort source',
  'cohort.run': 'Ran a cohort source',
  'secrets.rotate': 'Re-encrypted stored secrets',
  'quarantine.redact': 'Redacted and released a quarantined image',
  'quarantine.auto-release': 'Released an image OCR found no text in',
};

/** The label of an action, or the raw code for one written by an older version. */
export function actionLabel(action: string): string {
  return (ACTION_LABELS as Record<string, string>)[action] ?? action;
}
