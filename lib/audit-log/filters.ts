/**
 * Filters of the audit log, shared by the page (/admin/audit) and its CSV export
 * (/api/v1/admin/audit/export): action, pool, user and a date range (UTC days, both inclusive).
 */
import { z } from 'zod';

const day = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day, YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), 'must be a real day');
const id = z.string().trim().min(1).max(64);

/** The CSV's query: strict (a bad value is a 400 naming the field). */
export const auditFilterSchema = z.object({
  action: z.string().trim().min(1).max(64).optional(),
  pool: id.optional(),
  user: id.optional(),
  from: day.optional(),
  to: day.optional(),
});
export type AuditFilter = z.infer<typeof auditFilterSchema>;

/** The page's URL: lenient (a bad value is dropped, so a stale bookmark still opens the page). */
export const auditPageSchema = z.object({
  action: auditFilterSchema.shape.action.catch(undefined),
  pool: auditFilterSchema.shape.pool.catch(undefined),
  user: auditFilterSchema.shape.user.catch(undefined),
  from: auditFilterSchema.shape.from.catch(undefined),
  to: auditFilterSchema.shape.to.catch(undefined),
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
});

/** The Prisma where-clause of a filter. */
export function auditWhere(f: AuditFilter) {
  const at: { gte?: Date; lt?: Date } = {};
  if (f.from) at.gte = new Date(`${f.from}T00:00:00Z`);
  if (f.to) at.lt = new Date(new Date(`${f.to}T00:00:00Z`).getTime() + 86_400_000);
  return {
    ...(f.action ? { action: f.action } : {}),
    ...(f.pool ? { poolId: f.pool } : {}),
    ...(f.user ? { userId: f.user } : {}),
    ...(at.gte || at.lt ? { at } : {}),
  };
}

/** The filter as URL parameters (empty ones left out), for links and the CSV address. */
export function auditParams(f: AuditFilter & { page?: number }): URLSearchParams {
  const u = new URLSearchParams();
  for (const k of ['action', 'pool', 'user', 'from', 'to'] as const) if (f[k]) u.set(k, f[k]!);
  if (f.page && f.page > 1) u.set('page', String(f.page));
  return u;
}
