/**
 * The identity map of a pool, for its owner (the honest broker) only: real MRN <-> research ID,
 * research name and date offset per patient; source <-> research Study Instance UID per study.
 * Every view and every export is audited with counts only (never an MRN, a name or a UID).
 * Access is decided by the caller ('pool:identity', lib/auth/access: owners, not admins).
 */
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, type Prisma } from '../db';

/** Parsed with identityListQuerySchema (lib/api/endpoints/deid.ts). */
export interface IdentityListQuery {
  q?: string;
  page: number;
  pageSize: number;
}

function patientWhere(poolId: string, q?: string): Prisma.PatientIdentityWhereInput {
  if (!q) return { poolId };
  return {
    poolId,
    OR: [
      { sourcePatientId: { contains: q, mode: 'insensitive' } },
      { researchId: { contains: q, mode: 'insensitive' } },
      { researchName: { contains: q, mode: 'insensitive' } },
    ],
  };
}

/** One page of patients with their studies. Audited as 'pool.identity-view'. */
export async function listIdentityMap(actor: Actor, poolId: string, query: IdentityListQuery, via: 'page' | 'api' = 'api') {
  const where = patientWhere(poolId, query.q);
  const [total, patients, totalStudies] = await Promise.all([
    db.patientIdentity.count({ where }),
    db.patientIdentity.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
      select: { id: true, sourcePatientId: true, researchId: true, researchName: true, dateOffsetDays: true, createdAt: true },
    }),
    db.studyIdentity.count({ where: { poolId } }),
  ]);
  const studies = patients.length
    ? await db.studyIdentity.findMany({
        where: { poolId, sourcePatientId: { in: patients.map((p) => p.sourcePatientId) } },
        orderBy: { createdAt: 'asc' },
        select: { sourcePatientId: true, sourceStudyUid: true, researchStudyUid: true, createdAt: true },
      })
    : [];
  const byMrn = new Map<string, typeof studies>();
  for (const s of studies) (byMrn.get(s.sourcePatientId) ?? byMrn.set(s.sourcePatientId, []).get(s.sourcePatientId)!).push(s);
  await audit({
    userId: actor.userId,
    action: 'pool.identity-view',
    poolId,
    targetType: 'pool',
    targetId: poolId,
    detail: { via, patients: patients.length, studies: studies.length, page: query.page, searched: !!query.q },
  });
  return {
    total,
    totalStudies,
    page: query.page,
    pageSize: query.pageSize,
    patients: patients.map((p) => ({
      id: p.id,
      mrn: p.sourcePatientId,
      researchId: p.researchId,
      researchName: p.researchName,
      dateOffsetDays: p.dateOffsetDays,
      createdAt: p.createdAt,
      studies: (byMrn.get(p.sourcePatientId) ?? []).map((s) => ({ sourceStudyUid: s.sourceStudyUid, researchStudyUid: s.researchStudyUid, createdAt: s.createdAt })),
    })),
  };
}

/**
 * A CSV cell: quoted when needed, and text that a spreadsheet would run as a formula (= + - @, tab,
 * carriage return) prefixed with an apostrophe (OWASP "CSV injection").
 */
export function csvCell(value: string | number): string {
  let v = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(v) && !/^-?\d+(\.\d+)?$/.test(v)) v = `'${v}`;
  return /[",\r\n;]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The whole map as CSV (UTF-8 with BOM, so Excel reads it right). Audited as 'pool.identity-export'. */
export async function exportIdentityMap(actor: Actor, poolId: string, table: 'patients' | 'studies'): Promise<{ csv: string; rows: number; fileName: string }> {
  const lines: string[] = [];
  let rows = 0;
  if (table === 'patients') {
    lines.push(['MRN', 'ResearchID', 'ResearchName', 'DateOffsetDays', 'Created'].join(','));
    const all = await db.patientIdentity.findMany({ where: { poolId }, orderBy: { createdAt: 'asc' } });
    for (const p of all) lines.push([p.sourcePatientId, p.researchId, p.researchName, p.dateOffsetDays, p.createdAt.toISOString()].map(csvCell).join(','));
    rows = all.length;
  } else {
    lines.push(['MRN', 'ResearchID', 'SourceStudyInstanceUID', 'ResearchStudyInstanceUID', 'Created'].join(','));
    const [all, patients] = await Promise.all([
      db.studyIdentity.findMany({ where: { poolId }, orderBy: { createdAt: 'asc' } }),
      db.patientIdentity.findMany({ where: { poolId }, select: { sourcePatientId: true, researchId: true } }),
    ]);
    const rid = new Map(patients.map((p) => [p.sourcePatientId, p.researchId]));
    for (const s of all) lines.push([s.sourcePatientId, rid.get(s.sourcePatientId) ?? '', s.sourceStudyUid, s.researchStudyUid, s.createdAt.toISOString()].map(csvCell).join(','));
    rows = all.length;
  }
  await audit({ userId: actor.userId, action: 'pool.identity-export', poolId, targetType: 'pool', targetId: poolId, detail: { table, rows } });
  return { csv: `\uFEFF${lines.join('\r\n')}\r\n`, rows, fileName: `identity-map-${table}-${poolId}.csv` };
}
