/**
 * The one place the purge signs and reads its receipt (lib/receipts, kind "purge"). Signing is
 * idempotent per purge: a purge resumed after a crash between signing and recording the receipt's
 * id finds the receipt it already signed (its body names the purge) instead of signing a second.
 */
import { db } from '../db';
import { signReceipt, type Json, type ReceiptDocument } from '../receipts';

export interface SignedReceipt {
  id: string;
  document: ReceiptDocument;
}

/** JSON round trip: the body holds only strings, integers, booleans, null, arrays and plain objects. */
const asJson = (body: unknown) => JSON.parse(JSON.stringify(body)) as { [k: string]: Json };

export async function signPurgeReceipt(poolId: string, purgeId: string, body: { purge: { id: string } } & Record<string, unknown>): Promise<SignedReceipt> {
  const earlier = await db.receipt.findMany({ where: { kind: 'purge', poolId }, orderBy: { createdAt: 'asc' }, select: { id: true, document: true } });
  const mine = earlier.find((r) => ((r.document as { body?: { purge?: { id?: string } } }).body?.purge?.id ?? null) === purgeId);
  if (mine) return { id: mine.id, document: mine.document as unknown as ReceiptDocument };
  return signReceipt('purge', poolId, asJson(body));
}

export async function loadPurgeReceipt(receiptId: string): Promise<ReceiptDocument | null> {
  const r = await db.receipt.findUnique({ where: { id: receiptId }, select: { kind: true, document: true } });
  return r?.kind === 'purge' ? (r.document as unknown as ReceiptDocument) : null;
}
