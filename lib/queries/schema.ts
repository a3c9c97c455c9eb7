import { z } from 'zod';
import { queryRowSchema } from '../excel/schema';

export { queryRowSchema };

export const retrieveInputSchema = z.object({
  studyInstanceUids: z.array(z.string().regex(/^[0-9.]{1,64}$/, 'Not a DICOM UID')).min(1, 'Select at least one study').max(5000),
});

export const queryListQuerySchema = z.object({
  poolId: z.string().min(1),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

export const queryInputSchema = z.object({
  poolId: z.string().min(1),
  connectorId: z.string().min(1, 'Choose a connector'),
  items: z.array(queryRowSchema).min(1, 'Enter at least one MRN').max(5000),
});
export type QueryInput = z.infer<typeof queryInputSchema>;
