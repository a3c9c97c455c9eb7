import { z } from 'zod';
import { patchSchema } from '../patch-schema';
import { aeTitleSchema, hostSchema, portSchema } from '../dicom-names';

export const deviceInputSchema = z.object({
  name: z.string().trim().min(1, 'Name is required').max(80),
  aeTitle: aeTitleSchema,
  host: hostSchema,
  port: portSchema,
  tls: z.boolean().default(false),
  description: z.string().trim().max(500).default(''),
});
export type DeviceInput = z.infer<typeof deviceInputSchema>;
export const devicePatchSchema = patchSchema(deviceInputSchema);

export const deviceSchema = deviceInputSchema.extend({ id: z.string(), createdAt: z.string() });
