import { z } from 'zod';

export const retrieveInputSchema = z.object({
  studyInstanceUids: z.array(z.string().regex(/^[0-9.]{1,64}$/, 'Not a DICOM UID')).min(1, 'Select at least one study').max(5000),
});

export const queryListQuerySchema = z.object({
  poolId: z.string().min(1),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

/** Placeholder row schema until lib/excel/schema.ts lands; replaced by its shared row schema. */
export const singleRowSchema = z.object({
  patientId: z.string().trim().min(1, 'PatientID is required').max(64).regex(/^[^*?\\\x00-\x1f]+$/, 'PatientID may not contain wildcards, backslashes or control characters'),
  accessionNumber: z.string().trim().max(16).optional(),
  modality: z.string().trim().toUpperCase().regex(/^[A-Z0-9]{1,16}$/, 'Modality must be a DICOM modality code such as CT or MR').optional(),
  studyDateFrom: z.string().regex(/^\d{8}$/, 'Use YYYYMMDD').optional(),
  studyDateTo: z.string().regex(/^\d{8}$/, 'Use YYYYMMDD').optional(),
  studyDescription: z.string().trim().max(64).optional(),
  researchId: z.string().trim().max(64).optional(),
  researchName: z.string().trim().max(64).optional(),
});

export const queryInputSchema = z.object({
  poolId: z.string().min(1),
  connectorId: z.string().min(1, 'Choose a connector'),
  items: z.array(singleRowSchema).min(1, 'Enter at least one MRN').max(5000),
});
export type QueryInput = z.infer<typeof queryInputSchema>;
