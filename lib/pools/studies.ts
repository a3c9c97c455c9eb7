/**
 * Browsing a pool's de-identified index. Every function takes the poolId that access control
 * already checked and scopes every lookup by it, so an id from another pool finds nothing.
 */
import { db, type Prisma } from '../db';
import { AppError } from '../errors';
import type { StudyListQuery } from './schema';

export async function listStudies(poolId: string, q: StudyListQuery) {
  const where: Prisma.StudyWhereInput = { poolId };
  if (q.q) {
    where.OR = [
      { patientId: { contains: q.q, mode: 'insensitive' } },
      { patientName: { contains: q.q, mode: 'insensitive' } },
      { studyDescription: { contains: q.q, mode: 'insensitive' } },
      { accessionNumber: { contains: q.q, mode: 'insensitive' } },
    ];
  }
  if (q.modality) where.modalities = { contains: q.modality.toUpperCase() };
  const [rows, total] = await Promise.all([
    db.study.findMany({
      where,
      orderBy: [{ [q.sort]: q.dir }, { id: 'asc' }],
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
    }),
    db.study.count({ where }),
  ]);
  return { rows, total, page: q.page, pageSize: q.pageSize };
}

export async function getStudy(poolId: string, studyId: string) {
  const study = await db.study.findFirst({
    where: { id: studyId, poolId },
    include: {
      series: {
        orderBy: [{ seriesNumber: 'asc' }, { seriesInstanceUid: 'asc' }],
        include: {
          instances: {
            orderBy: [{ instanceNumber: 'asc' }, { sopInstanceUid: 'asc' }],
            select: { id: true, sopInstanceUid: true, sopClassUid: true, instanceNumber: true, rows: true, columns: true, numberOfFrames: true, size: true, transferSyntaxUid: true, ruleVersion: true },
          },
        },
      },
    },
  });
  if (!study) throw new AppError('NOT_FOUND', 'Study not found');
  return study;
}

export async function getInstanceFile(poolId: string, instanceId: string) {
  const inst = await db.instance.findFirst({ where: { id: instanceId, poolId }, select: { id: true, path: true, sopInstanceUid: true, size: true } });
  if (!inst) throw new AppError('NOT_FOUND', 'Instance not found');
  return inst;
}
