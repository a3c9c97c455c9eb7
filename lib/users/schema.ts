import { z } from 'zod';

/** Shared by the browser forms and the server; kept here so client code does not pull in node:crypto. */
export const PASSWORD_MIN_LENGTH = 10;

export const roleSchema = z.enum(['ADMIN', 'COORDINATOR', 'RESEARCHER']);

export const userInputSchema = z.object({
  email: z.string().trim().toLowerCase().email('Enter a valid e-mail address').max(200),
  name: z.string().trim().min(1, 'Name is required').max(120),
  role: roleSchema.default('RESEARCHER'),
  password: z.string().min(PASSWORD_MIN_LENGTH, `Password must be at least ${PASSWORD_MIN_LENGTH} characters`).max(200),
});
export type UserInput = z.infer<typeof userInputSchema>;

export const userPatchSchema = z.object({
  name: z.string().trim().min(1).max(120).optional(),
  role: roleSchema.optional(),
  active: z.boolean().optional(),
  password: z.string().min(PASSWORD_MIN_LENGTH, `Password must be at least ${PASSWORD_MIN_LENGTH} characters`).max(200).optional(),
});

export const tokenInputSchema = z.object({
  name: z.string().trim().min(1, 'Name the token (e.g. "OHIF on my laptop")').max(80),
  poolId: z.string().min(1).nullish(),
  expiresInDays: z.coerce.number().int().min(1).max(365).nullish(),
});
