import { z } from 'zod';
import { parseSchedule } from './schedule';

export const SEARCH_CRITERIA = ['PATIENT_ID', 'STUDY_ACCESSION_NUMBER', 'STUDY_INSTANCE_UID', 'SERIE_INSTANCE_UID', 'SOP_INSTANCE_UID'] as const;
export const HTTP_AUTH_TYPES = ['NONE', 'BASIC', 'BEARER', 'OAUTH2'] as const;

/** Headers the client sets itself: an extra header must not replace them. */
const RESERVED_HEADERS = /^(authorization|host|content-length|content-type|accept|connection|transfer-encoding|cookie)$/i;

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .nullish()
    .transform((s) => (s ? s : null));

const httpUrl = (what: string) =>
  optionalText(2000).refine((s) => s === null || /^https?:\/\/[^\s/?#]+/i.test(s), { message: `${what} must be an http:// or https:// URL` });

/** A QIDO/WADO root: empty (the base URL), a path relative to the base URL, or a full URL. */
const root = z
  .string()
  .trim()
  .max(500)
  .nullish()
  .transform((s) => s ?? '')
  .refine((s) => !/[\s?#]/.test(s), { message: 'A root is a path or URL without spaces, "?" or "#"' });

/**
 * DICOMweb source settings (seed 003: base URL + QIDO/WADO roots, includefield support, fuzzy
 * matching; dcm4chee STOW client: TLS options, extra headers). `webSecret` is write-only: absent
 * keeps the stored value, "" (or null) clears it, a value replaces it (lib/secrets.nextSecret).
 */
export const dicomwebFields = {
  webBaseUrl: httpUrl('The base URL'),
  webQidoRoot: root,
  webWadoRoot: root,
  webWadoUriRoot: root,
  webIncludeField: z.boolean().default(true),
  webFuzzyMatching: z.boolean().default(false),
  webTransferSyntax: z
    .string()
    .trim()
    .default('*')
    .transform((s) => s || '*')
    .refine((s) => s === '*' || /^[0-9]+(\.[0-9]+)*$/.test(s), { message: 'Use * (as stored) or a transfer syntax UID' }),
  webHeaders: z
    .record(
      z.string().trim().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'A header name is letters, digits and - only'),
      z.string().max(2000).refine((v) => !/[\r\n]/.test(v), { message: 'A header value must be one line' }),
    )
    .default({})
    .refine((h) => Object.keys(h).length <= 20, { message: 'At most 20 extra headers' })
    .refine((h) => !Object.keys(h).some((k) => RESERVED_HEADERS.test(k)), { message: 'Authorization, Accept and the other standard headers are set by Tributary; use the authentication fields' }),
  webConnectTimeoutMs: z.coerce.number().int().min(1000, 'At least 1 s').max(120_000, 'At most 2 min').default(10_000),
  webReadTimeoutMs: z.coerce.number().int().min(1000, 'At least 1 s').max(3_600_000, 'At most 1 h').default(60_000),
  webTlsCa: optionalText(200_000).refine((s) => s === null || /-----BEGIN CERTIFICATE-----/.test(s), { message: 'Paste the CA certificate(s) in PEM form (-----BEGIN CERTIFICATE-----)' }),
  webTlsAllowAnyHost: z.boolean().default(false),
  webTlsTrustAll: z.boolean().default(false),
  webAuthType: z.enum(HTTP_AUTH_TYPES).default('NONE'),
  webUsername: optionalText(200),
  webSecret: z.string().max(8000).nullish(),
  webTokenUrl: httpUrl('The token endpoint'),
  webScope: optionalText(500),
};

export const connectorInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Name is required').max(80),
    type: z.enum(['DICOM', 'DICOMWEB', 'DB']).default('DICOM'),
    // A DICOMweb source has no DICOM device.
    deviceId: z
      .string()
      .nullish()
      .transform((s) => (s ? s : null)),
    queryPoolId: z.string().min(1, 'Choose the query pool'),
    receivingPoolId: z.string().min(1, 'Choose the receiving pool'),
    /** DICOM: concurrent associations; DICOMweb: concurrent HTTP requests. */
    maxAssociations: z.coerce.number().int().min(1, 'At least 1').max(32, 'At most 32').default(2),
    schedule: z
      .string()
      .trim()
      .max(200)
      .nullish()
      .transform((s) => (s ? s : null))
      .refine((s) => s === null || parseSchedule(s).ok, { message: 'Use the form "hour=18-6 dayOfWeek=*" (hours 0-23, days 0-6, 0 = Sunday)' }),
    retrieveMethod: z.enum(['CMOVE', 'CGET', 'WADORS']).default('CMOVE'),
    deactivatedCriteria: z.array(z.enum(SEARCH_CRITERIA)).default([]),
    ...dicomwebFields,
  })
  .superRefine((v, ctx) => {
    if (v.type === 'DB') ctx.addIssue({ code: 'custom', path: ['type'], message: 'Database connectors are not supported in this version' });
    if (v.type === 'DICOM') {
      if (!v.deviceId) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: 'Choose the PACS device' });
      // A DICOM connector retrieves with C-MOVE (to our SCP) or C-GET (on the same association).
      if (v.retrieveMethod === 'WADORS')
        ctx.addIssue({ code: 'custom', path: ['retrieveMethod'], message: 'WADO-RS is a DICOMweb retrieve method: choose C-MOVE or C-GET for a DICOM connector' });
    }
    if (v.type === 'DICOMWEB') {
      if (v.deviceId) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: 'A DICOMweb connector has no DICOM device' });
      if (v.retrieveMethod !== 'WADORS') ctx.addIssue({ code: 'custom', path: ['retrieveMethod'], message: 'A DICOMweb connector retrieves with WADO-RS' });
      if (!v.webBaseUrl) ctx.addIssue({ code: 'custom', path: ['webBaseUrl'], message: 'The base URL is required' });
      if (v.webAuthType === 'BASIC' && !v.webUsername) ctx.addIssue({ code: 'custom', path: ['webUsername'], message: 'The user name is required' });
      if (v.webAuthType === 'OAUTH2') {
        if (!v.webTokenUrl) ctx.addIssue({ code: 'custom', path: ['webTokenUrl'], message: 'The token endpoint is required' });
        if (!v.webUsername) ctx.addIssue({ code: 'custom', path: ['webUsername'], message: 'The client id is required' });
      }
      if (v.webTlsTrustAll && v.webTlsCa) ctx.addIssue({ code: 'custom', path: ['webTlsTrustAll'], message: 'Either a CA bundle or trust-all, not both' });
    }
    if (v.queryPoolId && v.queryPoolId === v.receivingPoolId)
      ctx.addIssue({ code: 'custom', path: ['receivingPoolId'], message: 'The receiving pool must differ from the query pool' });
  });
export type ConnectorInput = z.infer<typeof connectorInputSchema>;
