/**
 * Validation of destinations (admin) and exporters (pool owner), shared by the API and the forms.
 * Secrets (webSecret, bearerToken, basicAuth) are write-only: absent keeps the stored value, ""
 * (or null) clears it, a value replaces it (lib/secrets.nextSecret).
 */
import { z } from 'zod';
import { dicomwebFields } from '../connectors/schema';
import { parseSchedule } from '../connectors/schedule';

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** Transfer syntax keywords accepted besides UIDs (seed: "CSV of UIDs or keywords"). */
export const TRANSFER_SYNTAX_KEYWORDS: Record<string, string> = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JPEGBaseline8Bit: '1.2.840.10008.1.2.4.50',
  JPEGLossless: '1.2.840.10008.1.2.4.70',
  JPEGLSLossless: '1.2.840.10008.1.2.4.80',
  JPEG2000Lossless: '1.2.840.10008.1.2.4.90',
  JPEG2000: '1.2.840.10008.1.2.4.91',
  RLELossless: '1.2.840.10008.1.2.5',
};

const schedule = z
  .string()
  .trim()
  .max(200)
  .nullish()
  .transform((s) => (s ? s : null))
  .refine((s) => s === null || parseSchedule(s).ok, { message: 'Use the form "hour=18-6 dayOfWeek=*" (hours 0-23, days 0-6, 0 = Sunday)' });

export const destinationInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Name is required').max(80),
    type: z.enum(['DICOMWEB', 'DICOM']),
    description: z.string().trim().max(500).default(''),
    deviceId: z
      .string()
      .nullish()
      .transform((s) => (s ? s : null)),
    storageCommitment: z.boolean().default(false),
    maxAssociations: z.coerce.number().int().min(1, 'At least 1').max(32, 'At most 32').default(2),
    webStowUrl: dicomwebFields.webBaseUrl,
    webHeaders: dicomwebFields.webHeaders,
    webConnectTimeoutMs: dicomwebFields.webConnectTimeoutMs,
    webReadTimeoutMs: dicomwebFields.webReadTimeoutMs,
    webTlsCa: dicomwebFields.webTlsCa,
    webTlsAllowAnyHost: dicomwebFields.webTlsAllowAnyHost,
    webTlsTrustAll: dicomwebFields.webTlsTrustAll,
    webAuthType: dicomwebFields.webAuthType,
    webUsername: dicomwebFields.webUsername,
    webSecret: dicomwebFields.webSecret,
    webTokenUrl: dicomwebFields.webTokenUrl,
    webScope: dicomwebFields.webScope,
  })
  .superRefine((v, ctx) => {
    if (v.type === 'DICOM') {
      if (!v.deviceId) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: 'Choose the receiving device' });
      if (v.webStowUrl) ctx.addIssue({ code: 'custom', path: ['webStowUrl'], message: 'A DICOM destination has no STOW-RS URL' });
    }
    if (v.type === 'DICOMWEB') {
      if (v.deviceId) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: 'A DICOMweb destination has no DICOM device' });
      if (v.storageCommitment) ctx.addIssue({ code: 'custom', path: ['storageCommitment'], message: 'Storage commitment is a DICOM (C-STORE) service' });
      if (!v.webStowUrl) ctx.addIssue({ code: 'custom', path: ['webStowUrl'], message: 'The STOW-RS URL is required' });
      if (v.webAuthType === 'BASIC' && !v.webUsername) ctx.addIssue({ code: 'custom', path: ['webUsername'], message: 'The user name is required' });
      if (v.webAuthType === 'OAUTH2') {
        if (!v.webTokenUrl) ctx.addIssue({ code: 'custom', path: ['webTokenUrl'], message: 'The token endpoint is required' });
        if (!v.webUsername) ctx.addIssue({ code: 'custom', path: ['webUsername'], message: 'The client id is required' });
      }
      if (v.webTlsTrustAll && v.webTlsCa) ctx.addIssue({ code: 'custom', path: ['webTlsTrustAll'], message: 'Either a CA bundle or trust-all, not both' });
    }
  });
export type DestinationInput = z.infer<typeof destinationInputSchema>;

/** "1.2.840.10008.1.2.1, JPEGBaseline8Bit" or an array of the same, to UIDs. */
const transferSyntaxes = z
  .union([z.string(), z.array(z.string())])
  .nullish()
  .transform((v) => (v == null ? [] : Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
  .superRefine((list, ctx) => {
    for (const s of list)
      if (!UID.test(s) && !(s in TRANSFER_SYNTAX_KEYWORDS))
        ctx.addIssue({ code: 'custom', message: `"${s.slice(0, 64)}" is neither a transfer syntax UID nor a known keyword` });
  })
  .transform((list) => [...new Set(list.map((s) => TRANSFER_SYNTAX_KEYWORDS[s] ?? s))]);

export const exporterInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Name is required').max(80),
    destinationId: z.string().min(1, 'Choose the destination'),
    chunked: z.boolean().default(false),
    concurrency: z.coerce.number().int().min(1, 'At least 1').max(16, 'At most 16').default(1),
    instancesPerRequest: z.coerce.number().int().min(1, 'At least 1').max(1000, 'At most 1000').default(1),
    transferSyntaxes,
    bearerToken: z.string().max(8000).nullish(),
    /** "user:password" */
    basicAuth: z
      .string()
      .max(2000)
      .nullish()
      .refine((s) => s == null || s === '' || /^[^:]+:/.test(s), { message: 'Use the form user:password' }),
    allowAnyHostname: z.boolean().default(false),
    disableTrustManager: z.boolean().default(false),
    storageCommitment: z.boolean().default(false),
    schedule,
    autoExport: z.boolean().default(false),
    enabled: z.boolean().default(true),
  })
  .superRefine((v, ctx) => {
    if (v.bearerToken && v.basicAuth) ctx.addIssue({ code: 'custom', path: ['basicAuth'], message: 'Either a bearer token or basic auth, not both' });
  });
export type ExporterInput = z.infer<typeof exporterInputSchema>;

/** POST /api/v1/pools/{id}/exports */
export const exportRequestSchema = z
  .object({
    exporterId: z.string().min(1, 'Choose the exporter'),
    /** Study row ids of this pool; absent or empty with `wholePool` = the whole pool. */
    studyIds: z.array(z.string().min(1)).max(10_000, 'At most 10,000 studies per export').default([]),
    wholePool: z.boolean().default(false),
    /** Send again what the destination already has from an earlier export. */
    resend: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (!v.wholePool && v.studyIds.length === 0) ctx.addIssue({ code: 'custom', path: ['studyIds'], message: 'Choose at least one study, or the whole pool' });
    if (v.wholePool && v.studyIds.length > 0) ctx.addIssue({ code: 'custom', path: ['studyIds'], message: 'Either a selection or the whole pool, not both' });
  });
export type ExportRequest = z.infer<typeof exportRequestSchema>;

export const EXPORT_INSTANCE_STATES = ['PENDING', 'SENT', 'WARNING', 'FAILED', 'SKIPPED'] as const;
export type ExportInstanceState = (typeof EXPORT_INSTANCE_STATES)[number];
