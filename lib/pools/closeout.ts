/**
 * A closed pool (project close-out, lib/pools/purge.ts) takes no new data. Two guards:
 * - requests: lib/api/authorize.ts refuses every state-changing request on a closed pool except
 *   its members, its name/description and the purge itself (CONFLICT, POOL_CLOSED_MESSAGE);
 *   STOW-RS and pushes ask assertPoolOpen / their own query.
 * - the index itself: every transaction that writes a pool's index rows (lib/receive/ingest.ts)
 *   starts with poolOpenCheck. It share-locks the pool row, so the purge's closing UPDATE waits
 *   for indexing in flight, and fails once the pool is closed: a retrieval, push or STOW that was
 *   already running when the purge started cannot add anything behind it.
 */
import { db } from '../db';
import { AppError } from '../errors';

export const POOL_CLOSED_MESSAGE = 'This pool was closed out: its data was purged (or is being purged) and it takes no new data';

export class PoolClosedError extends AppError {
  constructor() {
    super('CONFLICT', POOL_CLOSED_MESSAGE);
  }
}

/**
 * The statement that opens every index transaction of a pool (see above). A closed pool makes it
 * fail: the ELSE branch casts text to boolean, an error whose message carries CLOSED_MARK (it
 * reads the row's column, so the planner cannot evaluate it ahead of the CASE).
 */
export function poolOpenCheck(poolId: string) {
  return db.$queryRaw<{ open: boolean }[]>`
    SELECT CASE WHEN "closedAt" IS NULL THEN true ELSE ("closedAt"::text || ${` ${CLOSED_MARK}`})::boolean END AS "open"
    FROM "Pool" WHERE "id" = ${poolId} FOR SHARE`;
}

export const CLOSED_MARK = 'tributary: pool closed';

/** True for the error poolOpenCheck raises (however the driver wraps it). */
export function isPoolClosedError(e: unknown): boolean {
  for (let x: unknown = e, i = 0; x && i < 5; x = (x as { cause?: unknown }).cause, i++) {
    if (x instanceof PoolClosedError) return true;
    const msg = (x as { message?: unknown }).message;
    if (typeof msg === 'string' && msg.includes(CLOSED_MARK)) return true;
  }
  return false;
}

export function assertPoolOpen(pool: { closedAt: Date | null }): void {
  if (pool.closedAt) throw new PoolClosedError();
}

export async function assertPoolIdOpen(poolId: string): Promise<void> {
  const p = await db.pool.findUnique({ where: { id: poolId }, select: { closedAt: true } });
  if (p) assertPoolOpen(p);
}
