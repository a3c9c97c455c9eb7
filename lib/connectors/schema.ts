import { z } from 'zod';
import { parseSchedule } from './schedule';

export const SEARCH_CRITERIA = ['PATIENT_ID', 'STUDY_ACCESSION_NUMBER', 'STUDY_INSTANCE_UID', 'SERIE_INSTANCE_UID', 'SOP_INSTANCE_UID'] as const;

export const connectorInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Name is required').max(80),
    type: z.enum(['DICOM', 'DICOMWEB', 'DB']).default('DICOM'),
    deviceId: z.string().min(1, 'Choose the PACS device'),
    queryPoolId: z.string().min(1, 'Choose the query pool'),
    receivingPoolId: z.string().min(1, 'Choose the receiving pool'),
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
  })
  .superRefine((v, ctx) => {
    if (v.type !== 'DICOM') ctx.addIssue({ code: 'custom', path: ['type'], message: 'Only DICOM connectors are supported in this version' });
    // A DICOM connector retrieves with C-MOVE (to our SCP) or C-GET (on the same association).
    if (v.type === 'DICOM' && v.retrieveMethod === 'WADORS')
      ctx.addIssue({ code: 'custom', path: ['retrieveMethod'], message: 'WADO-RS is a DICOMweb retrieve method: choose C-MOVE or C-GET for a DICOM connector' });
    if (v.queryPoolId && v.queryPoolId === v.receivingPoolId)
      ctx.addIssue({ code: 'custom', path: ['receivingPoolId'], message: 'The receiving pool must differ from the query pool' });
  });
export type ConnectorInput = z.infer<typeof connectorInputSchema>;
