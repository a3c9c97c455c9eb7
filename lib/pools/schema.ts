import { z } from 'zod';
import { patchSchema } from '../patch-schema';
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
export const poolPatchSchema = patchSchema(poolInputSchema);

/**
 * The pool's study list: search (research ID, research name, description, accession), one
 * modality, sort, page. Every sort walks a (poolId, column, id) index (see docs/browsing.md).
 */
export const STUDY_SORTS = ['studyDate', 'patientId', 'studyDescription', 'modalities', 'numSeries', 'numInstances', 'createdAt'] as const;
export const STUDY_PAGE_SIZES = [25, 50, 100, 200] as const;
export const studyListQuerySchema = z.object({
  q: z.string().trim().max(64).optional(),
  modality: z.string().trim().toUpperCase().max(16).regex(/^[A-Z0-9]*$/, 'A modality code such as CT or MR').optional(),
  sort: z.enum(STUDY_SORTS).default('studyDate'),
  dir: z.enum(['asc', 'desc']).default('desc'),
  page: z.coerce.number().int().min(1).max(100000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});
export type StudyListQuery = z.infer<typeof studyListQuerySchema>;
