import { z } from 'zod';
import { aeTitleSchema } from '../dicom-names';

export const poolRoleSchema = z.enum(['OWNER', 'COORDINATOR', 'RESEARCHER']);
export const poolKindSchema = z.enum(['RESEARCH', 'INFRASTRUCTURE']);

export const poolMemberInputSchema = z.object({ userId: z.string().min(1), role: poolRoleSchema });

export const poolInputSchema = z.object({
  name: z.string().trim().min(1, 'Name is required').max(80),
  aeTitle: aeTitleSchema,
  description: z.string().trim().max(1000).default(''),
  kind: poolKindSchema.default('RESEARCH'),
  members: z.array(poolMemberInputSchema).max(500).optional(),
  allowedDeviceIds: z.array(z.string()).max(200).optional(),
});
export type PoolInput = z.infer<typeof poolInputSchema>;
export const poolPatchSchema = poolInputSchema.partial();

export const studyListQuerySchema = z.object({
  q: z.string().trim().max(64).optional(),
  modality: z.string().trim().max(16).optional(),
  sort: z.enum(['studyDate', 'patientId', 'studyDescription', 'numInstances', 'createdAt']).default('studyDate'),
  dir: z.enum(['asc', 'desc']).default('desc'),
  page: z.coerce.number().int().min(1).max(100000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});
export type StudyListQuery = z.infer<typeof studyListQuerySchema>;
