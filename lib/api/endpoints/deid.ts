/**
 * De-identification: rules, preview, identity map, lookup tables, quarantine.
 *
 * Who (docs/deidentification.md, "Who can do what"):
 * - rules (read, check, versions), the quarantine list and the de-identification report:
 *   'pool:own', pool owners and admins. None shows identifying data.
 * - saving rules: 'pool:rules', pool owners only. A rule version decides what identity reaches
 *   researchers (e.g. `PatientID: keep`); administration never weakens it silently.
 * - preview, identity map, lookup tables, quarantine release/drop: 'pool:identity', pool owners
 *   only. Preview shows original values; the map and the tables link MRNs to research IDs; a
 *   release puts pixels that may show burned-in text into the pool. That is the honest broker's
 *   call, not an administrator's.
 */
import { z } from 'zod';
import { ruleSetSchema } from '../../anonymize/rules-schema';
import { redactRequestSchema } from '../../pools/redact';
import { e, idParam, type Endpoint } from '../endpoint';

const id = z.string().min(1).max(64);

export const rulesUpdateSchema = z.object({
  rules: ruleSetSchema,
  /** The version the editor started from: a save over someone else's newer version is refused (409). */
  baseVersion: z.number().int().min(1).optional(),
});

export const rulesCheckSchema = z.object({ rules: ruleSetSchema });

/** Largest preview sample: a DICOM instance, held in memory twice while it is compared. */
export const PREVIEW_MAX_BYTES = 50 * 1024 * 1024;

/** Multipart text fields of a preview; the sample is `stagedInstanceId` or the `file` part. */
export const previewFormSchema = z.object({
  /** The rule set being edited, as JSON; absent = the pool's current rules. */
  rules: z.string().max(1_000_000).optional(),
  stagedInstanceId: id.optional(),
  /** A study this pool's queries found: one instance is fetched from the connector's PACS (C-GET connectors), in memory. */
  queryResultId: id.optional(),
});

export const identityListQuerySchema = z.object({
  q: z.string().trim().max(128).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
});

export const identityExportQuerySchema = z.object({ table: z.enum(['patients', 'studies']).default('patients') });

/** Multipart text fields of a lookup upload (the file is the `file` part). */
export const lookupUploadSchema = z.object({
  kind: z.enum(['identity', 'table']),
  table: z.string().trim().max(64).optional(),
  mode: z.enum(['merge', 'replace']).default('merge'),
});

export const quarantineListQuerySchema = z.object({
  status: z.enum(['pending', 'released', 'dropped', 'redacted', 'all']).default('pending'),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(100),
});

export const quarantineDecisionSchema = z.object({
  ids: z.array(id).min(1, 'Select at least one instance').max(500, 'At most 500 instances at once'),
  decision: z.enum(['release', 'drop']),
});

export const deidReportExportQuerySchema = z.object({ format: z.enum(['csv', 'pdf']).default('pdf') });

const ruleVersionParams = z.object({ id, version: z.coerce.number().int().min(1).max(1_000_000) });
const lookupParams = z.object({ id, table: z.string().min(1).max(64) });
const quarantineParams = z.object({ id, quarantineId: id });

export const deidEndpoints = {
  getPoolRules: e({ method: 'get', path: '/pools/{id}/rules', summary: 'The pool’s de-identification rules, version, fingerprint and version history', tag: 'de-identification', access: 'pool:own', params: idParam }),
  updatePoolRules: e({ method: 'put', path: '/pools/{id}/rules', summary: 'Save rules as the next version (pool owners only; validated; 409 when baseVersion is not the current version). keepsDirectIdentifiers names the direct identifiers the saved rules keep', tag: 'de-identification', access: 'pool:rules', params: idParam, body: rulesUpdateSchema }),
  checkPoolRules: e({ method: 'post', path: '/pools/{id}/rules/check', summary: 'Validate rules without saving; returns what the generated rule list would change', tag: 'de-identification', access: 'pool:own', params: idParam, body: rulesCheckSchema }),
  getPoolRuleVersion: e({ method: 'get', path: '/pools/{id}/rules/versions/{version}', summary: 'One saved version of the rules', tag: 'de-identification', access: 'pool:own', params: ruleVersionParams }),

  listPreviewSamples: e({ method: 'get', path: '/pools/{id}/preview/samples', summary: 'Preview samples: staged instances of retrievals into this pool, and studies this pool’s queries found (pacsStudies; fetchable when the connector retrieves with C-GET)', tag: 'de-identification', access: 'pool:identity', params: idParam }),
  previewRules: e({ method: 'post', path: '/pools/{id}/preview', summary: 'Before/after table of one sample under rules being edited: multipart fields rules (JSON), and one of stagedInstanceId, queryResultId (one instance fetched from the connector’s PACS into memory, never stored; C-GET connectors) or a file part (a .dcm read in memory, never stored). Shows original values.', tag: 'de-identification', access: 'pool:identity', params: idParam, multipart: true, maxUploadBytes: PREVIEW_MAX_BYTES, body: previewFormSchema }),

  getIdentityMap: e({ method: 'get', path: '/pools/{id}/identity', summary: 'Identity map: MRN, research ID and name, date offset, source and research study UIDs (audited)', tag: 'de-identification', access: 'pool:identity', params: idParam, query: identityListQuerySchema }),
  exportIdentityMap: e({ method: 'get', path: '/pools/{id}/identity/export', summary: 'Identity map as CSV, patients or studies (audited)', tag: 'de-identification', access: 'pool:identity', params: idParam, query: identityExportQuerySchema, produces: 'text/csv' }),

  listLookupTables: e({ method: 'get', path: '/pools/{id}/lookups', summary: 'The pool’s lookup tables with their sizes', tag: 'de-identification', access: 'pool:identity', params: idParam }),
  uploadLookupTable: e({ method: 'post', path: '/pools/{id}/lookups', summary: 'Upload a lookup table (.csv or .xlsx): kind identity (MRN, ResearchID, ResearchName) or table (named: original, replacement); mode merge or replace', tag: 'de-identification', access: 'pool:identity', params: idParam, multipart: true, body: lookupUploadSchema }),
  deleteLookupTable: e({ method: 'delete', path: '/pools/{id}/lookups/{table}', summary: 'Delete a lookup table (research-id and research-name go together)', tag: 'de-identification', access: 'pool:identity', params: lookupParams }),

  listQuarantine: e({ method: 'get', path: '/pools/{id}/quarantine', summary: 'Quarantined instances (held for burned-in text risk) with reason and decision', tag: 'de-identification', access: 'pool:own', params: idParam, query: quarantineListQuerySchema }),
  releaseQuarantined: e({ method: 'post', path: '/pools/{id}/quarantine/{quarantineId}/release', summary: 'Release a quarantined instance into the pool', tag: 'de-identification', access: 'pool:identity', params: quarantineParams }),
  dropQuarantined: e({ method: 'post', path: '/pools/{id}/quarantine/{quarantineId}/drop', summary: 'Drop a quarantined instance (the file is deleted, the record kept)', tag: 'de-identification', access: 'pool:identity', params: quarantineParams }),
  getQuarantineOcr: e({ method: 'get', path: '/pools/{id}/quarantine/{quarantineId}/ocr', summary: 'OCR of a quarantined instance: status, the boxes found (frame, place, confidence, category: date, id, name, word, other; never the text), the regions device signatures would blank, redactions done', tag: 'de-identification', access: 'pool:identity', params: quarantineParams }),
  getQuarantineImage: e({ method: 'get', path: '/pools/{id}/quarantine/{quarantineId}/image', summary: 'One frame of a quarantined instance as a PNG (windowed to 8 bits, at most 2048 px on its long side), for the owner to look at', tag: 'de-identification', access: 'pool:identity', params: quarantineParams, query: z.object({ frame: z.coerce.number().int().min(0).max(100_000).default(0) }), produces: 'image/png' }),
  redactQuarantined: e({ method: 'post', path: '/pools/{id}/quarantine/{quarantineId}/redact', summary: 'Redact and release: blank the regions (owner-drawn rectangles, OCR boxes, device signatures) into a new instance with a new SOP Instance UID that enters the pool; refused with the reason for what cannot be redacted (e.g. JPEG baseline where the pool does not allow lossy)', tag: 'de-identification', access: 'pool:identity', params: quarantineParams, body: redactRequestSchema }),
  decideQuarantine: e({ method: 'post', path: '/pools/{id}/quarantine/decisions', summary: 'Release or drop several quarantined instances', tag: 'de-identification', access: 'pool:identity', params: idParam, body: quarantineDecisionSchema }),

  getDeidReport: e({ method: 'get', path: '/pools/{id}/deid-report', summary: 'De-identification report: counts per action and per PS3.15 option, quarantine reasons, releases and drops, OCR findings and redactions, by rule version. Counts only, no identities', tag: 'de-identification', access: 'pool:own', params: idParam }),
  exportDeidReport: e({ method: 'get', path: '/pools/{id}/deid-report/export', summary: 'The de-identification report as PDF (format=pdf, default) or CSV (format=csv) (audited)', tag: 'de-identification', access: 'pool:own', params: idParam, query: deidReportExportQuerySchema, produces: 'application/pdf or text/csv' }),
} satisfies Record<string, Endpoint>;
