/**
 * Research identity per pool. The same MRN gets the same research ID, name and date offset in a
 * pool forever: the first retrieval stores them in PatientIdentity; later ones read them back.
 * Where the coordinator supplied ResearchID/ResearchName (spreadsheet columns or a lookup table)
 * those are used; otherwise a pseudonym is derived from HMAC(pool secret, MRN), so even a lost
 * identity row would be re-created identically.
 */
import { createHmac } from 'node:crypto';
import { db, Prisma } from '../db';
import { AppError } from '../errors';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: no I, L, O, U

function hmac(secret: string, ...parts: string[]): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'hex')).update(parts.join('\u0000')).digest();
}

export function pseudonymFor(secret: string, sourcePatientId: string): string {
  const h = hmac(secret, 'pseudonym', sourcePatientId);
  let out = '';
  for (let i = 0; i < 10; i++) out += ALPHABET[h[i] % 32];
  return `TRB-${out}`;
}

/** Offset in days, in [-365, -1] ∪ [1, 365]: never zero, so shifted dates never equal real ones. */
export function dateOffsetFor(secret: string, sourcePatientId: string): number {
  const n = hmac(secret, 'date-offset', sourcePatientId).readUInt32BE(0) % 730;
  return n < 365 ? -(n + 1) : n - 364;
}

export interface ResearchIdentity {
  researchId: string;
  researchName: string;
  dateOffsetDays: number;
}

export async function resolvePatientIdentity(opts: {
  poolId: string;
  poolSecret: string;
  sourcePatientId: string;
  researchId?: string | null;
  researchName?: string | null;
}): Promise<ResearchIdentity> {
  const existing = await db.patientIdentity.findUnique({
    where: { poolId_sourcePatientId: { poolId: opts.poolId, sourcePatientId: opts.sourcePatientId } },
  });
  if (existing) return existing;
  const researchId = opts.researchId?.trim() || pseudonymFor(opts.poolSecret, opts.sourcePatientId);
  const researchName = opts.researchName?.trim() || researchId;
  const dateOffsetDays = dateOffsetFor(opts.poolSecret, opts.sourcePatientId);
  try {
    return await db.patientIdentity.create({
      data: { poolId: opts.poolId, sourcePatientId: opts.sourcePatientId, researchId, researchName, dateOffsetDays },
    });
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') {
      const again = await db.patientIdentity.findUnique({
        where: { poolId_sourcePatientId: { poolId: opts.poolId, sourcePatientId: opts.sourcePatientId } },
      });
      if (again) return again;
      // The research ID is taken by another patient of this pool: refuse rather than merge two people.
      throw new AppError('CONFLICT', 'This research ID is already assigned to another patient in this pool');
    }
    throw e;
  }
}
